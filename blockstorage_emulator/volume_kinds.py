"""The three kinds of resource a backup restores to, and how the API names each of them.

Everything here is read from the installed SDK 2.189 (oci/core/blockstorage_client.py and
oci/core/models/*.py); tests/emulator/test_emulator_restores.py checks the field sets against
the SDK's own attribute maps, so a newer SDK that adds a field shows up as a failing test.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors
from .kinds import BOOT_VOLUME, VOLUME, VOLUME_GROUP, Kind

# Volume.lifecycle_state and BootVolume.lifecycle_state (models/volume.py, boot_volume.py).
VOLUME_STATES = ("PROVISIONING", "RESTORING", "AVAILABLE", "TERMINATING", "TERMINATED", "FAULTY")
# VolumeGroup.lifecycle_state (models/volume_group.py): no RESTORING, and UPDATE_PENDING.
VOLUME_GROUP_STATES = ("PROVISIONING", "AVAILABLE", "TERMINATING", "TERMINATED", "FAULTY", "UPDATE_PENDING")
# Create*Details.vpusPerGB, "Allowed values": 0 (Lower Cost), 10 (Balanced), 20 (Higher
# Performance), 30-120 (Ultra High Performance). CreateBootVolumeDetails lists no 0: a boot volume
# has no Lower Cost level. Oracle's price list sells the Ultra High levels in steps of 10
# (oracle.com/cloud/storage/block-volumes/pricing: "30 VPUs ... 40 VPUs ... 120 VPUs").
VPU_STEP = 10
MAX_VPUS_PER_GB = 120
# "By default, [a volume] is configured for the Balanced performance level"
# (docs.oracle.com/iaas/Content/Block/Concepts/blockvolumeperformance.htm).
DEFAULT_VPUS_PER_GB = 10
# create_volume's docstring: "Volumes can be created in sizes ranging from 50 GB (51200 MB) to
# 32 TB (33554432 MB), in 1 GB (1024 MB) increments."
MIN_SIZE_IN_GBS = 50
MAX_SIZE_IN_GBS = 32 * 1024


@dataclass(frozen=True)
class VolumeKind:
    name: str  # the backup kind it is restored from has the same name: "volume", "boot_volume", "volume_group"
    backup: Kind
    collection: str  # URL path segment: "volumes", "bootVolumes", "volumeGroups"
    label: str  # in messages: "Volume", "Boot volume", "Volume group"
    source_type: str  # sourceDetails.type of a restore from a backup
    source_id_field: str  # the sourceDetails field that names the backup
    other_source_types: tuple[str, ...]  # sources the SDK knows and the emulator does not model
    lifecycle_states: tuple[str, ...]
    create_fields: frozenset[str]  # Create*Details, camelCase, as the SDK's attribute_map names them
    modelled_create_fields: frozenset[str]
    update_fields: frozenset[str]  # Update*Details
    modelled_update_fields: frozenset[str]
    list_filters: tuple[str, ...]  # query filters the SDK's List method sends
    sortable: bool  # whether the List method takes sortBy and sortOrder
    min_vpus_per_gb: int | None  # None: the kind has no performance level (a volume group)

    @property
    def backup_label(self) -> str:
        """In messages: "Volume backup", "Boot volume backup", "Volume group backup"."""
        return f"{self.label} backup"

    @property
    def resource_type(self) -> str:
        """The OCID resource type: "volume", "bootvolume", "volumegroup"."""
        return self.backup.parent_type

    def operation(self, verb: str) -> str:
        """The SDK's operation_name: create_volume, list_boot_volumes, delete_volume_group, ..."""
        return f"list_{self.name}s" if verb == "list" else f"{verb}_{self.name}"


_TAGS = frozenset({"displayName", "freeformTags", "definedTags"})
# What CreateVolumeDetails and CreateBootVolumeDetails share, and what of it the emulator models.
_DISK_CREATE = frozenset(
    {
        *_TAGS,
        "availabilityDomain",
        "backupPolicyId",
        "compartmentId",
        "kmsKeyId",
        "vpusPerGB",
        "clusterPlacementGroupId",
        "sizeInGBs",
        "sourceDetails",
        "isAutoTuneEnabled",
        "autotunePolicies",
        "xrcKmsKeyId",
    }
)
_DISK_CREATE_MODELLED = frozenset(
    {*_TAGS, "availabilityDomain", "compartmentId", "kmsKeyId", "vpusPerGB", "sizeInGBs", "sourceDetails"}
)
# What UpdateVolumeDetails and UpdateBootVolumeDetails share, and what the emulator models.
_DISK_UPDATE = frozenset({*_TAGS, "vpusPerGB", "sizeInGBs", "isAutoTuneEnabled", "autotunePolicies"})
_DISK_UPDATE_MODELLED = frozenset({*_TAGS, "vpusPerGB", "sizeInGBs"})

RESTORED_VOLUME = VolumeKind(
    name="volume",
    backup=VOLUME,
    collection="volumes",
    label="Volume",
    source_type="volumeBackup",
    source_id_field="id",
    # models/volume_source_details.py get_subtype
    other_source_types=("volume", "blockVolumeReplica", "volumeBackupDelta"),
    lifecycle_states=VOLUME_STATES,
    # sizeInMBs and volumeBackupId are the deprecated spellings of sizeInGBs and sourceDetails.
    create_fields=_DISK_CREATE | {"sizeInMBs", "volumeBackupId", "blockVolumeReplicas", "isReservationsEnabled"},
    modelled_create_fields=_DISK_CREATE_MODELLED | {"sizeInMBs", "volumeBackupId"},
    update_fields=_DISK_UPDATE | {"blockVolumeReplicas", "isReservationsEnabled"},
    modelled_update_fields=_DISK_UPDATE_MODELLED,
    # list_volumes (clusterPlacementGroupId matches nothing here: no volume is in a placement group)
    list_filters=(
        "availabilityDomain",
        "compartmentId",
        "displayName",
        "volumeGroupId",
        "clusterPlacementGroupId",
        "lifecycleState",
    ),
    sortable=True,
    min_vpus_per_gb=0,
)
RESTORED_BOOT_VOLUME = VolumeKind(
    name="boot_volume",
    backup=BOOT_VOLUME,
    collection="bootVolumes",
    label="Boot volume",
    source_type="bootVolumeBackup",
    source_id_field="id",
    other_source_types=("bootVolume", "bootVolumeReplica", "bootVolumeBackupDelta"),
    lifecycle_states=VOLUME_STATES,
    create_fields=_DISK_CREATE | {"bootVolumeReplicas"},
    modelled_create_fields=_DISK_CREATE_MODELLED,
    update_fields=_DISK_UPDATE | {"bootVolumeReplicas"},
    modelled_update_fields=_DISK_UPDATE_MODELLED,
    # list_boot_volumes: no displayName, lifecycleState or sort parameters at all.
    list_filters=("availabilityDomain", "compartmentId", "volumeGroupId"),
    sortable=False,
    min_vpus_per_gb=VPU_STEP,
)
RESTORED_VOLUME_GROUP = VolumeKind(
    name="volume_group",
    backup=VOLUME_GROUP,
    collection="volumeGroups",
    label="Volume group",
    source_type="volumeGroupBackupId",
    source_id_field="volumeGroupBackupId",
    other_source_types=("volumeGroupReplicaId", "volumeGroupId", "volumeIds"),
    lifecycle_states=VOLUME_GROUP_STATES,
    # CreateVolumeGroupDetails has no size, performance or key: a group is restored as its backup
    # says ("This option is not available for volumes restored from volume group backups, so the
    # new volumes are restored with Oracle-provided keys", docs.oracle.com/iaas/Content/Block/
    # Concepts/blockvolumebackups.htm).
    create_fields=frozenset(
        {
            *_TAGS,
            "availabilityDomain",
            "backupPolicyId",
            "compartmentId",
            "sourceDetails",
            "volumeGroupReplicas",
            "clusterPlacementGroupId",
            "xrcKmsKeyId",
        }
    ),
    modelled_create_fields=frozenset({*_TAGS, "availabilityDomain", "compartmentId", "sourceDetails"}),
    update_fields=frozenset({*_TAGS, "volumeIds", "volumeGroupReplicas"}),
    modelled_update_fields=frozenset({*_TAGS, "volumeIds"}),
    # list_volume_groups (compartmentId is required there)
    list_filters=("availabilityDomain", "compartmentId", "displayName", "lifecycleState"),
    sortable=True,
    min_vpus_per_gb=None,
)

VOLUME_KINDS: dict[str, VolumeKind] = {
    kind.name: kind for kind in (RESTORED_VOLUME, RESTORED_BOOT_VOLUME, RESTORED_VOLUME_GROUP)
}
VERBS = ("create", "get", "list", "update", "delete")
# Every operation on them, by the SDK's operation_name: what Fault and deny name.
VOLUME_OPERATIONS = tuple(kind.operation(verb) for kind in VOLUME_KINDS.values() for verb in VERBS)


def checked_vpus_per_gb(kind: VolumeKind, value: object) -> int:
    """A vpusPerGB the kind allows, or 400 InvalidParameter naming the allowed values."""
    allowed = range(kind.min_vpus_per_gb or 0, MAX_VPUS_PER_GB + 1, VPU_STEP)
    if kind.min_vpus_per_gb is None or not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise errors.InvalidParameter(
            f"vpusPerGB must be one of {allowed.start}, {allowed.start + VPU_STEP}, ..., {MAX_VPUS_PER_GB} "
            f"for a {kind.label.lower()}, not {value!r}."
        )
    return value


def restored_kind(backup_kind: Kind) -> VolumeKind:
    """The kind of resource a backup kind restores to (the route carries the backup kind)."""
    return VOLUME_KINDS[backup_kind.name]
