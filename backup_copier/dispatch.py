"""Which capability a request body is for: the one module that knows them all.

An OCI Events backup event or `{"backupId": ...}` goes to the copy; `{"action": NAME, ...}`
to the operator action of that name. Each capability parses its own body into a Request;
adding an action is one line in _action_parsers().
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .copy import parse as copy_parse
from .copy.events import EVENT_ID
from .shared.call_ids import parse_call_id
from .shared.errors import InvalidRequest
from .shared.request import Request, json_type

# Backup events are a few kilobytes; anything near the Fn payload limit is not one.
MAX_BODY_BYTES = 256 * 1024
# The actions a coordinator splits over detached invocations of this function (FAN_OUT=on);
# their children arrive with "fanOutOf": the coordinator's call id.
FAN_OUT_FIELD = "fanOutOf"
FANNED_OUT_ACTIONS = ("expire", "reconcile", "report")


def parse_request(body: bytes) -> Request:
    return _parse(_decode(body))


def request_for(body: bytes) -> Request:
    """The request to execute: a reconcile, expire or report that is not a fan-out's child is
    coordinated (fan_out/request.py), so that FAN_OUT=on can split its scope."""
    document = _decode(body)
    request = _parse(document)
    if document.get("action") in FANNED_OUT_ACTIONS and request.fan_out_of is None:
        # Deferred for cold start, as the actions themselves are.
        from .fan_out.request import Coordinated

        return Coordinated(request, document)
    return request


def _parse(document: dict[str, Any]) -> Request:
    if "eventType" in document:
        return copy_parse.from_event(document)
    if "backupId" in document:
        return copy_parse.from_manual(document)
    if "action" in document:
        return _parse_action(document)
    raise InvalidRequest(
        "body",
        'expected an OCI Events backup event (with eventType) or a manual request ({"backupId": "<backup OCID>"})',
        "UnrecognisedRequest",
    )


def event_id_of(body: bytes) -> str | None:
    """Best-effort event id of a body that failed validation, so its rejection can be traced."""
    try:
        value = json.loads(body).get("eventID")
    except Exception:
        return None
    return value if isinstance(value, str) and EVENT_ID.fullmatch(value) else None


def _action_parsers() -> dict[str, Callable[[dict[str, Any]], Request]]:
    # Deferred for cold start: the event path, which is every invocation but a few, never imports the actions.
    from .deploy_kit import preflight
    from .expire import request as expire
    from .report import request as report
    from .sweep import request as sweep

    return {"check": preflight.parse, "expire": expire.parse, "reconcile": sweep.parse, "report": report.parse}


def _parse_action(document: dict[str, Any]) -> Request:
    name = document["action"]
    parsers = _action_parsers()
    if not isinstance(name, str) or name not in parsers:
        raise InvalidRequest(
            "action", f"unknown action {ascii(name)[:60]}; expected one of {sorted(parsers)}", "UnsupportedAction"
        )
    if FAN_OUT_FIELD not in document:
        return parsers[name](document)
    # A child of a fan-out: the field is checked and kept here, so the actions' own bodies never
    # see it, and a child is always run in place (it never fans out again).
    if name not in FANNED_OUT_ACTIONS:
        raise InvalidRequest(
            FAN_OUT_FIELD, f"only {', '.join(FANNED_OUT_ACTIONS)} are fanned out, not {name}", "InvalidFanOutOf"
        )
    fan_out_of = parse_call_id(document[FAN_OUT_FIELD], field=FAN_OUT_FIELD)
    request = parsers[name]({key: value for key, value in document.items() if key != FAN_OUT_FIELD})
    request.fan_out_of = fan_out_of
    return request


def _decode(body: bytes) -> dict[str, Any]:
    if not body or not body.strip():
        raise InvalidRequest("body", "empty; expected a JSON object", "EmptyBody")
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(
            "body", f"{len(body)} bytes is larger than the {MAX_BODY_BYTES} a backup event can be", "BodyTooLarge"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("body", f"not valid UTF-8 (byte {exc.start})", "InvalidJson") from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise InvalidRequest("body", "JSON nested too deeply", "InvalidJson") from None
    except ValueError as exc:
        raise InvalidRequest("body", f"not valid JSON ({exc})", "InvalidJson") from None
    if not isinstance(document, dict):
        raise InvalidRequest("body", f"expected a JSON object, got a JSON {json_type(document)}", "InvalidJson")
    return document
