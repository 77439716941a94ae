"""One JSON line per invocation, for OCI Logging searches and alarms.

The fdk sets the root logger to DEBUG; the SDK and urllib3 would then log every request,
including headers. Their loggers are raised to WARNING, and this module's logger does not
propagate to the root, so only the line below reaches the function's log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from .result import InvocationResult

SERVICE = "backup-copier"
_NOISY = ("oci", "urllib3", "requests")

_logger = logging.getLogger(SERVICE)


def configure() -> None:
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not _logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        _logger.addHandler(handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


def level(result: InvocationResult) -> int:
    """ERROR for a failure; WARNING for a success that left a copy without its mark, which would never
    expire and which no other line would single out; INFO otherwise."""
    if result.outcome.is_failure:
        return logging.ERROR
    if result.mark_failures:
        return logging.WARNING
    return logging.INFO


def render(result: InvocationResult) -> str:
    record = {
        "level": logging.getLevelName(level(result)),
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "service": SERVICE,
        "message": f"backup copy {result.outcome.value}",
        **result.to_json(),
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True)


def emit(result: InvocationResult) -> None:
    _logger.log(level(result), render(result))
