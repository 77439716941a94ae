"""Where an unexpected error happened, in words safe for a log line.

The invocation's net and the per-compartment reader both name a bug's place so it can be
found; neither may repeat the exception's message, which may quote a request, a header or a key.
"""

from __future__ import annotations

import traceback
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def where(error: BaseException) -> str:
    """The exception's type and the function's own line it passed last: enough to find the bug,
    without the message."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if Path(frame.filename).resolve().is_relative_to(_PACKAGE)]
    frame = own[-1] if own else (frames[-1] if frames else None)
    if frame is None:
        return type(error).__name__
    place = Path(frame.filename).resolve()
    shown = place.relative_to(_PACKAGE.parent) if place.is_relative_to(_PACKAGE.parent) else Path(place.name)
    return f"{type(error).__name__} at {shown}:{frame.lineno}"
