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


def render(result: InvocationResult) -> str:
    record = {
        "level": "ERROR" if result.outcome.is_failure else "INFO",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "service": SERVICE,
        "message": f"backup copy {result.outcome.value}",
        **result.to_json(),
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True)


def emit(result: InvocationResult) -> None:
    _logger.log(logging.ERROR if result.outcome.is_failure else logging.INFO, render(result))
