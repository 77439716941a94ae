"""Volume and boot volume attachments to instances, which only tests make (Emulator.attach).

Block Storage refuses to delete an attached volume (volumes.py) and Compute lists the
attachments (compute.py); both read this one registry. An attachment lives in its instance's
compartment, which need not be the volume's: a listing of the volume's compartment then does
not show it, while the delete is still refused, as in OCI. A detached attachment stays listed
as DETACHED (OCI keeps them for a while), so a reader must look at its state, not its presence.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .fields import format_time
from .ocids import new_ocid

# VolumeAttachment.lifecycle_state and BootVolumeAttachment.lifecycle_state (SDK models).
ATTACHMENT_STATES = ("ATTACHING", "ATTACHED", "DETACHING", "DETACHED")
# The states in which the volume is held by its instance.
HOLDING_STATES = ("ATTACHING", "ATTACHED", "DETACHING")


@dataclass
class Attachment:
    id: str
    boot: bool  # a boot volume attachment, else a (paravirtualized) volume attachment
    region: str
    compartment_id: str  # the instance's compartment
    availability_domain: str
    instance_id: str
    volume_id: str
    lifecycle_state: str
    time_created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """As ListVolumeAttachments / ListBootVolumeAttachments return it (the SDK's attribute maps)."""
        common = {
            "availabilityDomain": self.availability_domain,
            "compartmentId": self.compartment_id,
            "displayName": None,
            "id": self.id,
            "instanceId": self.instance_id,
            "lifecycleState": self.lifecycle_state,
            "timeCreated": format_time(self.time_created),
            "isPvEncryptionInTransitEnabled": False,
            "isEncryptionInTransitEnabled": False,
        }
        if self.boot:
            return common | {
                "bootVolumeId": self.volume_id,
                "timeUpdated": format_time(self.time_created),
                "encryptionInTransitType": "NONE",
            }
        # attachmentType picks the SDK's subclass (VolumeAttachment.get_subtype).
        return common | {
            "attachmentType": "paravirtualized",
            "device": None,
            "isReadOnly": False,
            "isShareable": False,
            "volumeId": self.volume_id,
            "isMultipath": None,
            "iscsiLoginState": None,
            "isVolumeCreatedDuringLaunch": False,
        }


class Attachments:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attachments: dict[str, Attachment] = {}

    def add(
        self,
        *,
        boot: bool,
        region: str,
        compartment_id: str,
        availability_domain: str,
        volume_id: str,
        instance_id: str | None,
        lifecycle_state: str,
    ) -> Attachment:
        if lifecycle_state not in ATTACHMENT_STATES:
            raise ValueError(f"unknown attachment state {lifecycle_state!r}; expected one of {ATTACHMENT_STATES}")
        # The OCID resource type of a boot volume attachment is the emulator's guess.
        attachment = Attachment(
            id=new_ocid("bootvolumeattachment" if boot else "volumeattachment", region),
            boot=boot,
            region=region,
            compartment_id=compartment_id,
            availability_domain=availability_domain,
            instance_id=instance_id or new_ocid("instance", region),
            volume_id=volume_id,
            lifecycle_state=lifecycle_state,
        )
        with self._lock:
            self._attachments[attachment.id] = attachment
        return attachment

    def set_state(self, attachment_id: str, lifecycle_state: str) -> None:
        if lifecycle_state not in ATTACHMENT_STATES:
            raise ValueError(f"unknown attachment state {lifecycle_state!r}; expected one of {ATTACHMENT_STATES}")
        with self._lock:
            self._attachments[attachment_id].lifecycle_state = lifecycle_state

    def holding(self, volume_id: str) -> Attachment | None:
        """The attachment that holds the volume to an instance, if any."""
        with self._lock:
            return next(
                (
                    a
                    for a in self._attachments.values()
                    if a.volume_id == volume_id and a.lifecycle_state in HOLDING_STATES
                ),
                None,
            )

    def matching(self, region: str, boot: bool, filters: dict[str, str]) -> list[Attachment]:
        """A region's attachments of one kind whose API fields equal every filter, oldest first."""
        with self._lock:
            found = [a for a in self._attachments.values() if a.region == region and a.boot is boot]
        return [a for a in found if all(a.to_json().get(name) == value for name, value in filters.items())]

    def everything(self, region: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [a.to_json() for a in self._attachments.values() if region in (None, a.region)]

    def clear(self) -> None:
        with self._lock:
            self._attachments.clear()
