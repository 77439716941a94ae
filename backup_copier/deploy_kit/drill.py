"""The restore drill's part of the kit (docs/drills.md): its IAM statements, its schedule, its two
alarms, and the check's proof of its reads.

The permissions, per API operation, are Oracle's "Details for the Core Services"
(iam.CORE_POLICY_DOC), the table the emulator enforces too (blockstorage_emulator/iam/access.py):
- CreateVolume from a backup: VOLUME_CREATE and VOLUME_BACKUP_READ; CreateBootVolume from one:
  VOLUME_CREATE and BOOT_VOLUME_BACKUP_READ (`read boot-volume-backups`: "CreateBootVolume when
  creating volume from an backup (also need manage volumes)"); CreateVolumeGroup from a group
  backup: VOLUME_GROUP_CREATE, VOLUME_GROUP_BACKUP_INSPECT, VOLUME_BACKUP_READ (and, for a boot
  volume member, BOOT_VOLUME_BACKUP_READ), VOLUME_CREATE and VOLUME_WRITE;
- Get/List of volumes and boot volumes: VOLUME_INSPECT; of volume groups: VOLUME_GROUP_INSPECT;
- UpdateVolume, UpdateBootVolume (the drill's mark): VOLUME_UPDATE; UpdateVolumeGroup:
  VOLUME_GROUP_UPDATE and VOLUME_INSPECT;
- DeleteVolume, DeleteBootVolume: VOLUME_DELETE; DeleteVolumeGroup: VOLUME_GROUP_DELETE;
- ListVolumeAttachments: VOLUME_ATTACHMENT_INSPECT, VOLUME_INSPECT and INSTANCE_INSPECT;
  ListBootVolumeAttachments is in no Oracle table (unconfirmed: INSTANCE_INSPECT and VOLUME_INSPECT,
  as ListVolumeAttachments without its attachment type);
- ListAvailabilityDomains: COMPARTMENT_INSPECT (Oracle, "Details for IAM"), which the policy's
  `inspect compartments in tenancy` grants; the drill's record on a copy: the mark statements'
  ..._BACKUP_UPDATE; a KMS key: the key statements (key-delegate; blockstorage uses keys).
VOLUME_INSPECT and VOLUME_GROUP_BACKUP_INSPECT are granted in every region by the statements that
find backups. Every statement here is narrowed to the destination regions, where drills run, and
the verbs that write to the one permission the drill needs (request.permission).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from oci import exceptions as oci_exceptions

from ..shared.clients import BlockStorageClients, IdentityClients
from ..shared.context import Invocation
from ..shared.errors import InvalidRequest
from ..shared.metrics import DRILL_AGE_HOURS, DRILLS_FAILED
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.retries import RetriesExhausted
from ..shared.settings import Settings
from . import iam
from .iam import CORE_POLICY_DOC, Grant
from .recovery_point import ALARM_INTERVAL, MQL_DOC, Alarm

IAM_DOC = iam.IAM_POLICY_DOC
# Every 15 minutes: a drill's first pass restores, a later one finds it AVAILABLE (a restore takes
# minutes), so a drill lasts about one to two intervals, and restoreMinutes is good to one interval.
DRILL_CRON = "*/15 * * * *"
# Eight days: a weekly drill of every volume, with a day to spare.
DEFAULT_DRILL_AGE_HOURS = 192.0
# A drill fails at most once a pass: a 15-minute window sees every pass.
FAILED_INTERVAL = "15m"

GRANTS = (
    Grant(
        "read",
        "volume-backups",
        ("VOLUME_BACKUP_READ",),
        "CreateVolume and CreateVolumeGroup from a copy",
        CORE_POLICY_DOC,
    ),
    Grant(
        "read",
        "boot-volume-backups",
        ("BOOT_VOLUME_BACKUP_READ",),
        "CreateBootVolume from a copy, and a volume group's boot volume members",
        CORE_POLICY_DOC,
    ),
    *(
        Grant("manage", "volumes", (permission,), why, CORE_POLICY_DOC, only_permission=permission)
        for permission, why in (
            ("VOLUME_CREATE", "CreateVolume, CreateBootVolume and CreateVolumeGroup: the restored volumes"),
            ("VOLUME_WRITE", "CreateVolumeGroup from a volume group backup"),
            ("VOLUME_UPDATE", "UpdateVolume, UpdateBootVolume: the drill's mark on what it restored"),
            ("VOLUME_DELETE", "DeleteVolume, DeleteBootVolume: only what a drill made, marked and proved"),
        )
    ),
    Grant("inspect", "volume-groups", ("VOLUME_GROUP_INSPECT",), "GetVolumeGroup, ListVolumeGroups", CORE_POLICY_DOC),
    *(
        Grant("manage", "volume-groups", (permission,), why, CORE_POLICY_DOC, only_permission=permission)
        for permission, why in (
            ("VOLUME_GROUP_CREATE", "CreateVolumeGroup from a copy of a volume group backup"),
            ("VOLUME_GROUP_UPDATE", "UpdateVolumeGroup: the drill's mark"),
            ("VOLUME_GROUP_DELETE", "DeleteVolumeGroup: only what a drill made, marked and proved"),
        )
    ),
    Grant(
        "inspect",
        "volume-attachments",
        ("VOLUME_ATTACHMENT_INSPECT",),
        "ListVolumeAttachments: an attached volume is never deleted",
        CORE_POLICY_DOC,
    ),
    Grant(
        "inspect",
        "instances",
        ("INSTANCE_INSPECT",),
        "ListVolumeAttachments and ListBootVolumeAttachments",
        CORE_POLICY_DOC,
        unconfirmed="ListBootVolumeAttachments is in no Oracle table; this follows ListVolumeAttachments",
    ),
)


def section(
    destination_regions: Sequence[str], compartment_ids: Sequence[str], dynamic_group: str = iam.DEFAULT_DYNAMIC_GROUP
) -> iam.Section:
    """The policies' section for restore drills: in the destination regions only, where drills run."""
    scopes = [iam.scope(c) for c in compartment_ids] or [iam.scope(None)]
    comments = [
        f"{g.verb} {g.resource_type}: {', '.join(g.permissions)} for {g.why}; {g.source}"
        + (f" (UNCONFIRMED: {g.unconfirmed})" if g.unconfirmed else "")
        for g in GRANTS
    ]
    return iam.Section(
        f"Restore drills: restore copies, mark and delete what they restored ({', '.join(destination_regions)} only)",
        (
            *comments,
            "ListAvailabilityDomains needs COMPARTMENT_INSPECT, which inspect compartments in tenancy grants; "
            + IAM_DOC,
            "A drill deletes only what it made, marked and proved (docs/drills.md, Safety): IAM conditions cannot "
            "test freeform tags, so these cannot be narrowed to drill volumes; the region condition keeps them off "
            "the source region",
        ),
        tuple(iam.statement(g, dynamic_group, where, destination_regions) for where in scopes for g in GRANTS),
    )


def checked_age(hours: str) -> float:
    """--drill-age-hours: a number of hours, more than one schedule interval, at most a year."""
    try:
        value = float(hours)
    except ValueError:
        raise InvalidRequest("--drill-age-hours", f"expected a number of hours, e.g. 192, got {hours!r}") from None
    if not 1 <= value <= 8760:
        raise InvalidRequest("--drill-age-hours", f"expected 1 to 8760 hours, got {value:g}")
    return value


def alarms(age_hours: float = DEFAULT_DRILL_AGE_HOURS) -> list[Alarm]:
    """A failed drill, and a volume whose last passed drill in a region is older than `age_hours`."""
    return [
        Alarm(
            display_name="backup-copier: a restore drill failed",
            query=f"{DRILLS_FAILED}[{FAILED_INTERVAL}].sum() > 0",
            severity="CRITICAL",
            body=(
                "A copy could not be restored in its region (FAULTY, timed out, refused, or not matching its copy): "
                "a recovery from it would fail the same way. The drill pass's log line names the drill and why "
                "(outcome failed, drills[].reasonCode); docs/drills.md says what each means."
            ),
            why=f"the drill counts its failed drills in {DRILLS_FAILED}, per compartment and destinationRegion",
            sources=(MQL_DOC,),
        ),
        Alarm(
            display_name="backup-copier: a volume's last passed drill is too old",
            query=f"{DRILL_AGE_HOURS}[{ALARM_INTERVAL}].max() > {age_hours:g}",
            severity="ERROR",
            body=(
                f"A volume has not been restored successfully in a region for {age_hours:g} h (or never, and its "
                "oldest copy is that old). Drills fail, do not run, or have too many volumes for their schedule: "
                "see the last drill pass's answer (volumesWaiting), or raise maxRestores in its body."
            ),
            why=f"{DRILL_AGE_HOURS} is each volume's hours since its last passed drill per region, a lower bound "
            "when it never passed",
            sources=(MQL_DOC,),
        ),
    ]


def check_reads(
    settings: Settings,
    signer: Any,
    compartment_ids: Iterable[str],
    invocation: Invocation,
) -> list[tuple[str, bool, str, str | None]]:
    """(name, ok, detail, fix) per destination region and compartment: the drill's two reads before it
    restores anything, ListAvailabilityDomains and ListVolumes. Nothing is created."""
    found = []
    identity, storage = IdentityClients(settings, signer), BlockStorageClients(settings, signer)
    strategy = invocation.retry_strategy
    for region in settings.destination_regions:
        for compartment in compartment_ids:
            name = f"drill {region}: list availability domains"
            try:
                identity.for_region(region).list_availability_domains(compartment, retry_strategy=strategy)
                found.append(_answered(name, compartment))
            except SERVICE_FAILURES as error:
                fix = iam.inspect_compartments_statement()
                found.append(_refused(name, error, fix, "list the availability domains", region, compartment))
            name = f"drill {region}: list volumes"
            try:
                storage.for_region(region).list_volumes(compartment_id=compartment, limit=1, retry_strategy=strategy)
                found.append(_answered(name, compartment))
            except SERVICE_FAILURES as error:
                fix = iam.statement(iam.INSPECT_VOLUMES, iam.DEFAULT_DYNAMIC_GROUP, iam.scope(compartment), (region,))
                found.append(_refused(name, error, fix, "list the volumes", region, compartment))
    return found


def _answered(name: str, compartment: str) -> tuple[str, bool, str, str | None]:
    return name, True, f"answered in compartment {compartment}; nothing was created", None


def _refused(
    name: str, error: BaseException, fix: str, action: str, region: str, compartment: str
) -> tuple[str, bool, str, str | None]:
    """A refusal (401, 403, 404) names the statement that grants the read; anything else says to look again."""
    cause = error.last_error if isinstance(error, RetriesExhausted) else error
    refused = isinstance(cause, oci_exceptions.ServiceError) and cause.status in (401, 403, 404)
    verdict = verdict_for(error, action=f"{action} in compartment {compartment}", region=region)
    return name, False, verdict.reason, fix if refused else "See the detail; run the check again"
