"""The three kinds of Block Volume backup and everything that differs between them.

One table, so that events, OCID checks, SDK calls and the deploy kit can never disagree
about which kind uses which name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class BackupKind(enum.StrEnum):
    VOLUME = "volume"
    BOOT_VOLUME = "boot_volume"
    VOLUME_GROUP = "volume_group"


@dataclass(frozen=True)
class RestoreSpec:
    """What a backup of the kind restores to (a restore drill, docs/drills.md), and the SDK's names for it.

    From SDK 2.189 (oci/core/blockstorage_client.py, compute_client.py, models/): CreateVolume takes
    sourceDetails {"type": "volumeBackup", "id"}, CreateBootVolume {"type": "bootVolumeBackup", "id"},
    CreateVolumeGroup {"type": "volumeGroupBackupId", "volumeGroupBackupId"}.
    """

    # The OCID resource type and the answer's name of what is restored: volume, boot_volume, volume_group.
    ocid_type: str
    create_operation: str
    create_details_class: str
    source_details_class: str
    # The attribute of the resource's source_details that names the backup it was restored from.
    source_id_attribute: str
    get_operation: str
    list_operation: str
    update_operation: str
    update_details_class: str
    delete_operation: str
    # The lowest vpusPerGB Create*Details allows ("Allowed values": 0 Lower Cost for a volume; a boot
    # volume has no 0 and starts at 10, Balanced); None: the details have no such field (a group).
    lowest_vpus_per_gb: int | None
    # Compute's listing of what is attached, and the keyword that filters it on this resource
    # (None: a volume group, whose members are attached one by one, never the group).
    attachments_operation: str | None
    attachments_filter: str | None


@dataclass(frozen=True)
class KindSpec:
    kind: BackupKind
    ocid_type: str
    event_type: str
    get_operation: str
    list_operation: str
    copy_operation: str
    copy_details_class: str
    # Keyword of the list call that filters on the source backup; the volume group list has
    # none, so its copies are found by scanning the compartment.
    list_source_filter: str | None
    # Attribute of the SDK model that names the backup a copy was made from.
    source_attribute: str
    # Attribute of the SDK model that names what was backed up (volume, boot volume, group).
    resource_attribute: str
    update_operation: str
    update_details_class: str
    delete_operation: str
    # What a backup of the kind restores to: the restore drill's table.
    restore: RestoreSpec
    # The permissions a copy needs, for the sentence that answers a refused copy: in the source
    # region, where the copy request is sent, and in the destination, where the copy appears
    # (Oracle, "Copying a Volume Backup Between Regions"; deploy_kit/iam.py grants them, and a
    # test holds the two tables together).
    copy_source_permissions: tuple[str, ...] = ()
    copy_destination_permission: str = ""
    # The permission of the update that writes a mark (and a copy's record on its source), and of
    # the expiry pass's delete: named by the answers that a refusal of either gives.
    update_permission: str = ""
    delete_permission: str = ""


_EVENT_PREFIX = "com.oraclecloud.blockvolumes."

SPECS: dict[BackupKind, KindSpec] = {
    BackupKind.VOLUME: KindSpec(
        kind=BackupKind.VOLUME,
        ocid_type="volumebackup",
        event_type=_EVENT_PREFIX + "createvolumebackup.end",
        get_operation="get_volume_backup",
        list_operation="list_volume_backups",
        copy_operation="copy_volume_backup",
        copy_details_class="CopyVolumeBackupDetails",
        list_source_filter="source_volume_backup_id",
        source_attribute="source_volume_backup_id",
        resource_attribute="volume_id",
        update_operation="update_volume_backup",
        update_details_class="UpdateVolumeBackupDetails",
        delete_operation="delete_volume_backup",
        copy_source_permissions=("VOLUME_BACKUP_READ", "VOLUME_BACKUP_COPY"),
        copy_destination_permission="VOLUME_BACKUP_CREATE",
        update_permission="VOLUME_BACKUP_UPDATE",
        delete_permission="VOLUME_BACKUP_DELETE",
        restore=RestoreSpec(
            ocid_type="volume",
            create_operation="create_volume",
            create_details_class="CreateVolumeDetails",
            source_details_class="VolumeSourceFromVolumeBackupDetails",
            source_id_attribute="id",
            get_operation="get_volume",
            list_operation="list_volumes",
            update_operation="update_volume",
            update_details_class="UpdateVolumeDetails",
            delete_operation="delete_volume",
            lowest_vpus_per_gb=0,
            attachments_operation="list_volume_attachments",
            attachments_filter="volume_id",
        ),
    ),
    BackupKind.BOOT_VOLUME: KindSpec(
        kind=BackupKind.BOOT_VOLUME,
        ocid_type="bootvolumebackup",
        event_type=_EVENT_PREFIX + "createbootvolumebackup.end",
        get_operation="get_boot_volume_backup",
        list_operation="list_boot_volume_backups",
        copy_operation="copy_boot_volume_backup",
        copy_details_class="CopyBootVolumeBackupDetails",
        list_source_filter="source_boot_volume_backup_id",
        source_attribute="source_boot_volume_backup_id",
        resource_attribute="boot_volume_id",
        update_operation="update_boot_volume_backup",
        update_details_class="UpdateBootVolumeBackupDetails",
        delete_operation="delete_boot_volume_backup",
        copy_source_permissions=("BOOT_VOLUME_BACKUP_READ", "BOOT_VOLUME_BACKUP_COPY"),
        copy_destination_permission="BOOT_VOLUME_BACKUP_CREATE",
        update_permission="BOOT_VOLUME_BACKUP_UPDATE",
        delete_permission="BOOT_VOLUME_BACKUP_DELETE",
        restore=RestoreSpec(
            ocid_type="bootvolume",
            create_operation="create_boot_volume",
            create_details_class="CreateBootVolumeDetails",
            source_details_class="BootVolumeSourceFromBootVolumeBackupDetails",
            source_id_attribute="id",
            get_operation="get_boot_volume",
            list_operation="list_boot_volumes",
            update_operation="update_boot_volume",
            update_details_class="UpdateBootVolumeDetails",
            delete_operation="delete_boot_volume",
            lowest_vpus_per_gb=10,
            attachments_operation="list_boot_volume_attachments",
            attachments_filter="boot_volume_id",
        ),
    ),
    BackupKind.VOLUME_GROUP: KindSpec(
        kind=BackupKind.VOLUME_GROUP,
        ocid_type="volumegroupbackup",
        event_type=_EVENT_PREFIX + "createvolumegroupbackup.end",
        get_operation="get_volume_group_backup",
        list_operation="list_volume_group_backups",
        copy_operation="copy_volume_group_backup",
        copy_details_class="CopyVolumeGroupBackupDetails",
        list_source_filter=None,
        source_attribute="source_volume_group_backup_id",
        resource_attribute="volume_group_id",
        update_operation="update_volume_group_backup",
        update_details_class="UpdateVolumeGroupBackupDetails",
        delete_operation="delete_volume_group_backup",
        # Oracle documents no permission of CopyVolumeGroupBackup itself; its member backups'
        # are the volume and boot volume ones (deploy_kit/iam.py's note on volume groups).
        copy_source_permissions=(
            "VOLUME_BACKUP_READ",
            "VOLUME_BACKUP_COPY",
            "BOOT_VOLUME_BACKUP_READ",
            "BOOT_VOLUME_BACKUP_COPY",
        ),
        copy_destination_permission="VOLUME_GROUP_BACKUP_CREATE",
        update_permission="VOLUME_GROUP_BACKUP_UPDATE",
        delete_permission="VOLUME_GROUP_BACKUP_DELETE",
        restore=RestoreSpec(
            ocid_type="volumegroup",
            create_operation="create_volume_group",
            create_details_class="CreateVolumeGroupDetails",
            source_details_class="VolumeGroupSourceFromVolumeGroupBackupDetails",
            source_id_attribute="volume_group_backup_id",
            get_operation="get_volume_group",
            list_operation="list_volume_groups",
            update_operation="update_volume_group",
            update_details_class="UpdateVolumeGroupDetails",
            delete_operation="delete_volume_group",
            lowest_vpus_per_gb=None,
            attachments_operation=None,
            attachments_filter=None,
        ),
    ),
}

BY_EVENT_TYPE: dict[str, KindSpec] = {spec.event_type: spec for spec in SPECS.values()}
BY_OCID_TYPE: dict[str, KindSpec] = {spec.ocid_type: spec for spec in SPECS.values()}
# By the OCID type of what a backup restores to: a volume group's members are volumes and boot volumes.
BY_RESTORED_OCID_TYPE: dict[str, KindSpec] = {spec.restore.ocid_type: spec for spec in SPECS.values()}
# The .begin events share the rule's namespace; naming them lets the answer say the rule
# matches too much instead of calling them unknown.
BEGIN_EVENT_TYPES = frozenset(t.removesuffix(".end") + ".begin" for t in BY_EVENT_TYPE)
