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
from .shared.metrics import parse_posting_slot
from .shared.request import ActionRequest, Request, json_type

# Backup events are a few kilobytes; anything near the Fn payload limit is not one.
MAX_BODY_BYTES = 256 * 1024
# The actions a coordinator splits over detached invocations of this function (FAN_OUT=on);
# their children arrive with "fanOutOf": the coordinator's call id. A drill is not one: its
# maxRestores counts drills in flight across the whole scope (drill/request.py).
FAN_OUT_FIELD = "fanOutOf"
FANNED_OUT_ACTIONS = ("expire", "reconcile", "report")
# A child's scope is the batch its coordinator gave it, always as compartmentIds: with these, a
# body carrying fanOutOf would run a whole subtree in place, past the coordinator (issue 22).
NOT_IN_A_CHILD = ("subtree", "compartmentId")
# What a coordinator adds to a child's body beside fanOutOf: the child's slot of the function's
# calls to Monitoring (shared/metrics.py PostingSlot). Accepted only next to fanOutOf; any value
# slows a run at most, and a child without one posts at the function's own rate, as any run does.
METRICS_SLOT_FIELD = "metricsSlot"


def parse_request(body: bytes) -> Request:
    return _parse(_decode(body))


def request_for(body: bytes) -> Request:
    """The request to execute: a reconcile, expire or report that is not a fan-out's child is
    coordinated (fan_out/request.py), so that FAN_OUT=on can split its scope. Any other action (a
    drill) always runs in place."""
    document = _decode(body)
    request = _parse(document)
    if (
        isinstance(request, ActionRequest)
        and request.fan_out_of is None
        and document.get("action") in FANNED_OUT_ACTIONS
    ):
        # Deferred for cold start, as the actions themselves are.
        from .fan_out.request import Coordinated

        # The coordinator parses each child's body as the child will (parse_request) before it starts any.
        return Coordinated(request, document, parse_child=parse_request)
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
    from .drill import request as drill
    from .expire import request as expire
    from .report import request as report
    from .sweep import request as sweep

    return {
        "check": preflight.parse,
        "drill": drill.parse,
        "expire": expire.parse,
        "reconcile": sweep.parse,
        "report": report.parse,
    }


def _parse_action(document: dict[str, Any]) -> Request:
    name = document["action"]
    parsers = _action_parsers()
    if not isinstance(name, str) or name not in parsers:
        raise InvalidRequest(
            "action", f"unknown action {ascii(name)[:60]}; expected one of {sorted(parsers)}", "UnsupportedAction"
        )
    if FAN_OUT_FIELD not in document:
        if METRICS_SLOT_FIELD in document:
            raise InvalidRequest(
                METRICS_SLOT_FIELD,
                f"only a fan-out's child carries it, next to {FAN_OUT_FIELD}: its coordinator's share of the "
                "function's calls to Monitoring",
                "InvalidFanOutOf",
            )
        request = parsers[name](document)
        _at_least_one(request)
        return request
    # A child of a fan-out: its fields (fanOutOf, metricsSlot) are checked and kept here, so the
    # actions' own bodies never see them, and a child is always run in place (it never fans out again). fanOutOf proves
    # nothing (anyone allowed to invoke the function can send one): a child's body is just a
    # body, held to every rule an operator's is, except that its share of a limit may be 0.
    if name not in FANNED_OUT_ACTIONS:
        raise InvalidRequest(
            FAN_OUT_FIELD, f"only {', '.join(FANNED_OUT_ACTIONS)} are fanned out, not {name}", "InvalidFanOutOf"
        )
    fan_out_of = parse_call_id(document[FAN_OUT_FIELD], field=FAN_OUT_FIELD)
    for field in NOT_IN_A_CHILD:
        if field in document:
            raise InvalidRequest(
                field,
                f"not allowed with {FAN_OUT_FIELD}: a fan-out's child runs exactly the batch its coordinator gave it, "
                f"as compartmentIds; send the scope without {FAN_OUT_FIELD} to run it",
                "InvalidFanOutOf",
            )
    if "compartmentIds" not in document:
        raise InvalidRequest(
            "compartmentIds",
            f"is required with {FAN_OUT_FIELD}: the batch of compartments the child runs",
            "InvalidFanOutOf",
        )
    slot = None
    if METRICS_SLOT_FIELD in document:
        slot = parse_posting_slot(document[METRICS_SLOT_FIELD], field=METRICS_SLOT_FIELD)
    child_only = (FAN_OUT_FIELD, METRICS_SLOT_FIELD)
    request = parsers[name]({key: value for key, value in document.items() if key not in child_only})
    request.fan_out_of = fan_out_of
    if slot is not None:
        request.metrics_slot = slot
    return request


def _at_least_one(request: Request) -> None:
    """An operator asks for at least one copy or deletion; a share of 0 is only ever a fan-out's child's
    (its coordinator's maxCopies or maxDeletes was smaller than its batches: it reads and counts, nothing more)."""
    budget = request.budget if isinstance(request, ActionRequest) else None
    if budget is not None and budget.total < 1:
        raise InvalidRequest(budget.field, "Input should be greater than or equal to 1", "InvalidField")


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
