"""The copy's two bodies, parsed into a CopyRequest: an OCI Events backup event, or `{"backupId": ...}`.

Every way a body can be wrong ends here as an InvalidRequest that names the field; nothing
downstream sees unvalidated input.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..shared.errors import InvalidRequest
from ..shared.kinds import BEGIN_EVENT_TYPES, BY_EVENT_TYPE, BY_OCID_TYPE
from ..shared.ocids import parse_ocid
from ..shared.request import invalid, json_type, optional_regions, validated
from . import events
from .copier import CopyRequest

_BACKUP_OCID_TYPES = frozenset(BY_OCID_TYPE)


def from_event(document: dict[str, Any]) -> CopyRequest:
    event_type = document["eventType"]
    if not isinstance(event_type, str):
        raise InvalidRequest("eventType", f"expected a string, got {json_type(event_type)}", "UnsupportedEventType")
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
        raise invalid(exc) from None
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


def from_manual(document: dict[str, Any]) -> CopyRequest:
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


def _excerpt(value: object) -> str:
    return ascii(value)[:100]
