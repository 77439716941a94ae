"""Pydantic models of the bodies this function accepts.

OCI Events wraps each Block Volume event in a CloudEvents 0.1 envelope. Oracle adds fields
over time, so unknown fields are allowed; the fields this function uses are strict (no
coercion), because a tag that is a number or an id that is a list is not an OCI event.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FAILED_STATUS = "operationFailed"
# Event ids are UUIDs; the wider pattern tolerates other producers without letting
# control characters or markup into the log line.
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

EventId = Annotated[str, StringConstraints(pattern=f"^{EVENT_ID.pattern}$")]
ShortText = Annotated[str, StringConstraints(max_length=1024)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True, frozen=True)


class BackupEventData(_Lenient):
    compartment_id: str = Field(alias="compartmentId")
    compartment_name: ShortText | None = Field(default=None, alias="compartmentName")
    resource_name: ShortText | None = Field(default=None, alias="resourceName")
    resource_id: str = Field(alias="resourceId")
    availability_domain: ShortText | None = Field(default=None, alias="availabilityDomain")
    freeform_tags: dict[str, str] | None = Field(default=None, alias="freeFormTags")
    defined_tags: dict[str, dict[str, Any]] | None = Field(default=None, alias="definedTags")
    additional_details: dict[str, Any] | None = Field(default=None, alias="additionalDetails")

    @property
    def status(self) -> object:
        return (self.additional_details or {}).get("status")


class BackupEvent(_Lenient):
    event_type: str = Field(alias="eventType")
    cloud_events_version: ShortText | None = Field(default=None, alias="cloudEventsVersion")
    event_type_version: ShortText | None = Field(default=None, alias="eventTypeVersion")
    source: ShortText | None = None
    event_id: EventId = Field(alias="eventID")
    event_time: ShortText | None = Field(default=None, alias="eventTime")
    content_type: ShortText | None = Field(default=None, alias="contentType")
    extensions: dict[str, Any] | None = None
    data: BackupEventData


class ManualCopy(BaseModel):
    """`{"backupId": ..., "destinationRegions": [...], "dryRun": true}` from `fn invoke`.

    Unknown fields are refused here: an operator's typo must not be silently ignored.
    """

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, frozen=True)

    backup_id: str = Field(alias="backupId")
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")
    dry_run: bool | None = Field(default=None, alias="dryRun")
