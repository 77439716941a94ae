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
    ),
}

BY_EVENT_TYPE: dict[str, KindSpec] = {spec.event_type: spec for spec in SPECS.values()}
BY_OCID_TYPE: dict[str, KindSpec] = {spec.ocid_type: spec for spec in SPECS.values()}
# The .begin events share the rule's namespace; naming them lets the answer say the rule
# matches too much instead of calling them unknown.
BEGIN_EVENT_TYPES = frozenset(t.removesuffix(".end") + ".begin" for t in BY_EVENT_TYPE)
