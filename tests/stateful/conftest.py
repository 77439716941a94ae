"""The closing line of any pytest run that includes tests/stateful (`make soak` quotes it): examples
and steps run, each promise's count of checks, and what those checks looked at (tally.py)."""

from __future__ import annotations

from typing import Any

from tests.stateful.tally import TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.steps or TALLY.checks:
        terminalreporter.write_line(TALLY.line())
