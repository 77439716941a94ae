"""Operator actions: bodies of the form {"action": NAME, ...} sent with `fn invoke`.

Each action module offers parse(document) -> a request with execute(invocation); adding
an action is one line in _parsers().
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .shared.context import Invocation
from .shared.errors import InvalidRequest
from .shared.result import InvocationResult


class Action(Protocol):
    event_id: str | None

    def execute(self, invocation: Invocation) -> InvocationResult: ...


def _parsers() -> dict[str, Callable[[dict[str, Any]], Action]]:
    # Imported on demand: the event path, which is every invocation but a few, never pays for them.
    from . import preflight, reconcile

    return {"check": preflight.parse, "reconcile": reconcile.parse}


def parse_action(document: dict[str, Any]) -> Action:
    name = document["action"]
    parsers = _parsers()
    if not isinstance(name, str) or name not in parsers:
        raise InvalidRequest(
            "action", f"unknown action {ascii(name)[:60]}; expected one of {sorted(parsers)}", "UnsupportedAction"
        )
    return parsers[name](document)
