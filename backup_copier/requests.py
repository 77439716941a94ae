"""What an invocation asks for, parsed from the raw body into one typed request.

The body is either an OCI Events backup event (from the Events rule) or an operator's
manual request (from `fn invoke`). Every way a body can be wrong ends here as an
InvalidRequest that names the field; nothing downstream sees unvalidated input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from . import events
from .actions import Action, parse_action
from .shared.errors import InvalidRequest
from .shared.kinds import BEGIN_EVENT_TYPES, BY_EVENT_TYPE, BY_OCID_TYPE, KindSpec
from .shared.ocids import Ocid, parse_ocid
from .shared.settings import parse_regions

# Backup events are a few kilobytes; anything near the Fn payload limit is not one.
MAX_BODY_BYTES = 256 * 1024
_BACKUP_OCID_TYPES = frozenset(BY_OCID_TYPE)
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class CopyRequest:
    """Copy one backup to the destination regions (the settings', unless overridden)."""

    backup_id: Ocid
    spec: KindSpec
    origin: Literal["event", "manual"]
    event_id: str | None = None
    compartment_id: str | None = None
    freeform_tags: dict[str, str] | None = None
    backup_failed: bool = False
    destination_regions: tuple[str, ...] | None = None
    dry_run: bool | None = None


Request = CopyRequest | Action


def parse_request(body: bytes) -> Request:
    document = _decode(body)
    if "eventType" in document:
        return _from_event(document)
    if "backupId" in document:
        return _from_manual(document)
    if "action" in document:
        return parse_action(document)
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
    return value if isinstance(value, str) and events.EVENT_ID.fullmatch(value) else None


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
        raise InvalidRequest("body", f"expected a JSON object, got a JSON {_json_type(document)}", "InvalidJson")
    return document


def _from_event(document: dict[str, Any]) -> CopyRequest:
    event_type = document["eventType"]
    if not isinstance(event_type, str):
        raise InvalidRequest("eventType", f"expected a string, got {_json_type(event_type)}", "UnsupportedEventType")
    if event_type in BEGIN_EVENT_TYPES:
        raise InvalidRequest(
            "eventType",
            f"{event_type} is sent when a backup starts; the Events rule should match only the .end events",
            "UnsupportedEventType",
        )
    spec = BY_EVENT_TYPE.get(event_type)
    if spec is None:
        raise InvalidRequest(
            "eventType",
            f"{_excerpt(event_type)} is not a backup-completed event; expected one of {sorted(BY_EVENT_TYPE)}",
            "UnsupportedEventType",
        )
    try:
        event = events.BackupEvent.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc) from None
    backup_id = parse_ocid(event.data.resource_id, field="data.resourceId", types={spec.ocid_type}, regional=True)
    compartment = parse_ocid(
        event.data.compartment_id, field="data.compartmentId", types={"compartment", "tenancy"}, regional=False
    )
    return CopyRequest(
        backup_id=backup_id,
        spec=spec,
        origin="event",
        event_id=event.event_id,
        compartment_id=compartment.value,
        freeform_tags=event.data.freeform_tags or {},
        backup_failed=event.data.status == events.FAILED_STATUS,
    )


def _from_manual(document: dict[str, Any]) -> CopyRequest:
    manual = validated(events.ManualCopy, document)
    backup_id = parse_ocid(manual.backup_id, field="backupId", types=_BACKUP_OCID_TYPES, regional=True)
    destinations = optional_regions(manual.destination_regions, "destinationRegions")
    return CopyRequest(
        backup_id=backup_id,
        spec=BY_OCID_TYPE[backup_id.resource_type],
        origin="manual",
        destination_regions=destinations,
        dry_run=manual.dry_run,
    )


def validated(model: type[ModelT], document: dict[str, Any]) -> ModelT:
    """`document` as `model`, or an InvalidRequest naming the first bad field."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc) from None


def optional_regions(value: list[str] | None, field: str) -> tuple[str, ...] | None:
    """Regions an operator's request names, normalised; None when it names none."""
    if value is None:
        return None
    try:
        return parse_regions(value)
    except ValueError as exc:
        raise InvalidRequest(field, str(exc)) from None


def _invalid(exc: ValidationError) -> InvalidRequest:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    problem = "is required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        problem = "is not a field of this request"
    return InvalidRequest(field, problem, "InvalidField")


def _json_type(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}.get(
        type(value), "value"
    )


def _excerpt(value: object) -> str:
    return ascii(value)[:100]
