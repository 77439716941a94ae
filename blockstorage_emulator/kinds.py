"""The three backup kinds and how the API names each of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # the emulator's own name: "volume", "boot_volume", "volume_group"
    collection: str  # URL path segment, e.g. "volumeBackups"
    resource_type: str  # OCID resource type, e.g. "volumebackup"
    parent_type: str  # OCID resource type of the backed-up resource
    source_field: str  # JSON field naming the backup a copy was made from
    parent_field: str  # JSON field naming the backed-up resource
    list_filters: tuple[str, ...]  # query parameters the real List operation honours


VOLUME = Kind(
    name="volume",
    collection="volumeBackups",
    resource_type="volumebackup",
    parent_type="volume",
    source_field="sourceVolumeBackupId",
    parent_field="volumeId",
    list_filters=("volumeId", "displayName", "sourceVolumeBackupId", "lifecycleState"),
)
BOOT_VOLUME = Kind(
    name="boot_volume",
    collection="bootVolumeBackups",
    resource_type="bootvolumebackup",
    parent_type="bootvolume",
    source_field="sourceBootVolumeBackupId",
    parent_field="bootVolumeId",
    list_filters=("bootVolumeId", "displayName", "sourceBootVolumeBackupId", "lifecycleState"),
)
# ListVolumeGroupBackups has no source or lifecycle filter in the real API:
# callers have to filter those client-side, so the emulator ignores them too.
VOLUME_GROUP = Kind(
    name="volume_group",
    collection="volumeGroupBackups",
    resource_type="volumegroupbackup",
    parent_type="volumegroup",
    source_field="sourceVolumeGroupBackupId",
    parent_field="volumeGroupId",
    list_filters=("volumeGroupId", "displayName"),
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in (VOLUME, BOOT_VOLUME, VOLUME_GROUP)}


def kind_named(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown backup kind {name!r}; expected one of {sorted(KINDS)}") from None


def kind_of_ocid(ocid: str) -> Kind | None:
    resource_type = ocid.split(".")[1] if ocid.count(".") >= 2 else ""
    return next((kind for kind in KINDS.values() if kind.resource_type == resource_type), None)
