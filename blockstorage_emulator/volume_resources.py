"""The resources a backup restores to, as the API renders them: Volume (a volume or a boot volume)
and VolumeGroup. Their fields are the SDK 2.189 models' (oci/core/models/volume.py,
boot_volume.py, volume_group.py); the rules that move them are volumes.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import fields
from .fields import format_time, new_etag
from .volume_kinds import RESTORED_BOOT_VOLUME, RESTORED_VOLUME_GROUP, VolumeKind


@dataclass
class Volume:
    """A volume or a boot volume (`kind` says which)."""

    id: str
    kind: VolumeKind
    region: str
    compartment_id: str
    availability_domain: str
    display_name: str
    lifecycle_state: str
    size_in_gbs: int
    vpus_per_gb: int
    source_details: dict[str, str] | None
    kms_key_id: str | None = None
    freeform_tags: dict[str, str] = field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume_group_id: str | None = None
    is_hydrated: bool = False
    time_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    etag: str = field(default_factory=new_etag)

    def to_json(self) -> dict[str, Any]:
        """As GetVolume / GetBootVolume return it (the fields of the SDK's Volume and BootVolume)."""
        common: dict[str, Any] = {
            "availabilityDomain": self.availability_domain,
            "compartmentId": self.compartment_id,
            "definedTags": fields.copy_defined(self.defined_tags),
            "displayName": self.display_name,
            "freeformTags": dict(self.freeform_tags),
            "systemTags": {},
            "id": self.id,
            "isHydrated": self.is_hydrated,
            "kmsKeyId": self.kms_key_id,
            "lifecycleState": self.lifecycle_state,
            "vpusPerGB": self.vpus_per_gb,
            "clusterPlacementGroupId": None,
            "sizeInGBs": self.size_in_gbs,
            "sizeInMBs": self.size_in_gbs * 1024,
            "sourceDetails": dict(self.source_details) if self.source_details else None,
            "timeCreated": format_time(self.time_created),
            "volumeGroupId": self.volume_group_id,
            "isAutoTuneEnabled": False,
            "autoTunedVpusPerGB": self.vpus_per_gb,
            "autotunePolicies": None,
        }
        if self.kind is RESTORED_BOOT_VOLUME:
            return common | {"imageId": None, "bootVolumeReplicas": None}
        return common | {"blockVolumeReplicas": None, "isReservationsEnabled": False}


@dataclass
class VolumeGroup:
    id: str
    region: str
    compartment_id: str
    availability_domain: str
    display_name: str
    lifecycle_state: str
    source_details: dict[str, str] | None
    member_ids: list[str] = field(default_factory=list)
    freeform_tags: dict[str, str] = field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    is_hydrated: bool = False
    time_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    etag: str = field(default_factory=new_etag)
    kind: VolumeKind = RESTORED_VOLUME_GROUP

    def to_json(self, size_in_gbs: int) -> dict[str, Any]:
        """As GetVolumeGroup returns it; the size is its members' ("The aggregate size")."""
        return {
            "availabilityDomain": self.availability_domain,
            "compartmentId": self.compartment_id,
            "definedTags": fields.copy_defined(self.defined_tags),
            "displayName": self.display_name,
            "freeformTags": dict(self.freeform_tags),
            "id": self.id,
            "lifecycleState": self.lifecycle_state,
            "sizeInMBs": size_in_gbs * 1024,
            "sizeInGBs": size_in_gbs,
            "sourceDetails": dict(self.source_details) if self.source_details else None,
            "timeCreated": format_time(self.time_created),
            "volumeIds": list(self.member_ids),
            "isHydrated": self.is_hydrated,
            "volumeGroupReplicas": None,
        }


Resource = Volume | VolumeGroup
