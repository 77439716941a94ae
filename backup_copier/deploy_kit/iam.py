"""The IAM the function needs: its dynamic group rule and least-privilege policy statements.

One table per backup kind, keyed by kinds.py's BackupKind, so a kind added there without
its grants here fails the tests instead of shipping a policy that cannot copy it. Every
permission name is one Oracle documents; the page is named next to it, and what Oracle
does not document is marked unconfirmed in the generated policy rather than guessed.
Both the deploy kit (deploy.py) and the preflight check (preflight.py) render statements
from here, so the statement the check asks for is the one the kit generated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from oci import regions as sdk_regions

from ..shared.kinds import SPECS, BackupKind, KindSpec

DEFAULT_DYNAMIC_GROUP = "backup-copier"

# Oracle's pages, cited in the generated policy next to each statement.
COPY_VOLUME_BACKUP_DOC = "https://docs.oracle.com/en-us/iaas/Content/Block/Tasks/copyingvolumebackupcrossregion.htm"
COPY_BOOT_VOLUME_BACKUP_DOC = (
    "https://docs.oracle.com/en-us/iaas/Content/Block/Tasks/copyingbootvolumebackupcrossregion.htm"
)
CORE_POLICY_DOC = "https://docs.oracle.com/en-us/iaas/Content/Identity/Reference/corepolicyreference.htm"
VOLUME_GROUPS_DOC = "https://docs.oracle.com/en-us/iaas/Content/Block/Concepts/volumegroups.htm"
BLOCK_VOLUME_KEYS_DOC = "https://docs.oracle.com/en-us/iaas/Content/Block/Concepts/managingblockencryptionkeys.htm"
CONDITIONS_DOC = "https://docs.oracle.com/en-us/iaas/Content/Identity/Concepts/policyadvancedfeatures.htm"
DEFINED_TAG_RECIPE = (
    "see docs/retention.md, 'Narrowing deletion with a defined tag' (target.resource.tag.<namespace>.<key>, "
    + CONDITIONS_DOC
    + ")"
)
EVENTS_POLICY_DOC = "https://docs.oracle.com/iaas/Content/Events/Concepts/eventspolicy.htm"
IAM_POLICY_DOC = "https://docs.oracle.com/en-us/iaas/Content/Identity/Reference/iampolicyreference.htm"
FUNCTIONS_ACCESS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsaccessingociresources.htm"


@dataclass(frozen=True)
class Grant:
    """One `Allow dynamic-group ... to <verb> <resource type>` statement and why it exists."""

    verb: str
    resource_type: str
    # The documented permissions the function needs from this grant.
    permissions: tuple[str, ...]
    why: str
    source: str
    # Narrows the verb to one permission (request.permission), as Oracle's own samples do.
    only_permission: str | None = None
    # Set when Oracle's documentation does not confirm the grant; said in the policy file.
    unconfirmed: str | None = None


@dataclass(frozen=True)
class KindGrants:
    # Get and List, in the source region (the backup) and the destination (its copies).
    find: tuple[Grant, ...]
    # The copy request, sent to the source region.
    copy: tuple[Grant, ...]
    # The copy appears in the destination region.
    create: tuple[Grant, ...]
    # The mark on each copy (destination) and the record of it on its source (source region).
    update: tuple[Grant, ...] = ()
    # The expiry pass deletes marked copies (destination regions only).
    delete: tuple[Grant, ...] = ()
    note: str | None = None


# Get/List of volume and boot volume backups also need VOLUME_INSPECT (Oracle's table of
# permissions per API operation); volume group backups do not.
INSPECT_VOLUMES = Grant(
    "inspect",
    "volumes",
    ("VOLUME_INSPECT",),
    "Get/List of volume and boot volume backups, which also need VOLUME_INSPECT",
    CORE_POLICY_DOC,
)

GRANTS: dict[BackupKind, KindGrants] = {
    BackupKind.VOLUME: KindGrants(
        find=(
            Grant(
                "inspect",
                "volume-backups",
                ("VOLUME_BACKUP_INSPECT",),
                "GetVolumeBackup, ListVolumeBackups",
                CORE_POLICY_DOC,
            ),
            INSPECT_VOLUMES,
        ),
        copy=(
            Grant(
                "read",
                "volume-backups",
                ("VOLUME_BACKUP_READ",),
                "CopyVolumeBackup, in the source region",
                COPY_VOLUME_BACKUP_DOC,
            ),
            Grant(
                "use",
                "volume-backups",
                ("VOLUME_BACKUP_COPY",),
                "CopyVolumeBackup; volume-family does not include it",
                COPY_VOLUME_BACKUP_DOC,
                only_permission="VOLUME_BACKUP_COPY",
            ),
        ),
        create=(
            Grant(
                "manage",
                "volume-backups",
                ("VOLUME_BACKUP_CREATE",),
                "CopyVolumeBackup, in the destination region",
                COPY_VOLUME_BACKUP_DOC,
                only_permission="VOLUME_BACKUP_CREATE",
            ),
        ),
        update=(
            Grant(
                "manage",
                "volume-backups",
                ("VOLUME_BACKUP_UPDATE",),
                "UpdateVolumeBackup: the mark on each copy, and the record of it on its source",
                CORE_POLICY_DOC,
                only_permission="VOLUME_BACKUP_UPDATE",
            ),
        ),
        delete=(
            Grant(
                "manage",
                "volume-backups",
                ("VOLUME_BACKUP_DELETE",),
                "DeleteVolumeBackup: the expiry pass, for marked copies past their expiry",
                CORE_POLICY_DOC,
                only_permission="VOLUME_BACKUP_DELETE",
            ),
        ),
    ),
    BackupKind.BOOT_VOLUME: KindGrants(
        find=(
            Grant(
                "inspect",
                "boot-volume-backups",
                ("BOOT_VOLUME_BACKUP_INSPECT",),
                "GetBootVolumeBackup, ListBootVolumeBackups",
                CORE_POLICY_DOC,
            ),
            INSPECT_VOLUMES,
        ),
        copy=(
            Grant(
                "read",
                "boot-volume-backups",
                ("BOOT_VOLUME_BACKUP_READ",),
                "CopyBootVolumeBackup, in the source region",
                COPY_BOOT_VOLUME_BACKUP_DOC,
            ),
            Grant(
                "use",
                "boot-volume-backups",
                ("BOOT_VOLUME_BACKUP_COPY",),
                "CopyBootVolumeBackup; volume-family does not include it",
                COPY_BOOT_VOLUME_BACKUP_DOC,
                only_permission="BOOT_VOLUME_BACKUP_COPY",
            ),
        ),
        create=(
            Grant(
                "manage",
                "boot-volume-backups",
                ("BOOT_VOLUME_BACKUP_CREATE",),
                "CopyBootVolumeBackup, in the destination region",
                COPY_BOOT_VOLUME_BACKUP_DOC,
                only_permission="BOOT_VOLUME_BACKUP_CREATE",
            ),
        ),
        update=(
            Grant(
                "manage",
                "boot-volume-backups",
                ("BOOT_VOLUME_BACKUP_UPDATE",),
                "UpdateBootVolumeBackup: the mark on each copy, and the record of it on its source",
                CORE_POLICY_DOC,
                only_permission="BOOT_VOLUME_BACKUP_UPDATE",
            ),
        ),
        delete=(
            Grant(
                "manage",
                "boot-volume-backups",
                ("BOOT_VOLUME_BACKUP_DELETE",),
                "DeleteBootVolumeBackup: the expiry pass, for marked copies past their expiry",
                CORE_POLICY_DOC,
                only_permission="BOOT_VOLUME_BACKUP_DELETE",
            ),
        ),
    ),
    BackupKind.VOLUME_GROUP: KindGrants(
        find=(
            Grant(
                "inspect",
                "volume-group-backups",
                ("VOLUME_GROUP_BACKUP_INSPECT",),
                "GetVolumeGroupBackup, ListVolumeGroupBackups",
                CORE_POLICY_DOC,
            ),
        ),
        copy=(),
        create=(
            Grant(
                "manage",
                "volume-group-backups",
                ("VOLUME_GROUP_BACKUP_CREATE",),
                "CopyVolumeGroupBackup, in the destination region",
                CORE_POLICY_DOC,
                only_permission="VOLUME_GROUP_BACKUP_CREATE",
                unconfirmed=(
                    "VOLUME_GROUP_BACKUP_CREATE is a documented permission, but Oracle does not say "
                    "CopyVolumeGroupBackup checks it in the destination; this follows the documented "
                    "volume and boot volume pattern"
                ),
            ),
        ),
        update=(
            Grant(
                "manage",
                "volume-group-backups",
                ("VOLUME_GROUP_BACKUP_UPDATE",),
                "UpdateVolumeGroupBackup: the mark on each copy, and the record of it on its source",
                CORE_POLICY_DOC,
                only_permission="VOLUME_GROUP_BACKUP_UPDATE",
            ),
        ),
        delete=(
            Grant(
                "manage",
                "volume-group-backups",
                ("VOLUME_GROUP_BACKUP_DELETE",),
                "DeleteVolumeGroupBackup: the expiry pass, for marked copies past their expiry",
                CORE_POLICY_DOC,
                only_permission="VOLUME_GROUP_BACKUP_DELETE",
            ),
        ),
        note=(
            "Oracle documents no permission for CopyVolumeGroupBackup itself: its steps ("
            + VOLUME_GROUPS_DOC
            + ") point to the volume backup page's Required IAM Policy, whose permissions the volume and "
            "boot volume statements grant for the member backups. If volume group copies fail with 404 "
            "NotAuthorizedOrNotFound while the preflight check passes, grant `manage volume-group-backups` "
            "in the source region and report it."
        ),
    ),
}


@dataclass(frozen=True)
class Section:
    """A group of statements with the comments that explain and cite them."""

    title: str
    comments: tuple[str, ...]
    statements: tuple[str, ...]


# ListCompartments needs COMPARTMENT_INSPECT, which `inspect compartments` grants; only the
# tenancy's own policy can grant it over the tenancy.
INSPECT_COMPARTMENTS = Grant(
    verb="inspect",
    resource_type="compartments",
    permissions=("COMPARTMENT_INSPECT",),
    why="ListCompartments, to find every compartment of a tenancy-wide (subtree) sweep, expiry pass or report",
    source=IAM_POLICY_DOC,
)


def region_key(region: str) -> str:
    """What request.region compares with: the short code Oracle's samples use ('lhr', 'fra')."""
    for code, name in sdk_regions.REGIONS_SHORT_NAMES.items():
        if name == region:
            return str(code)
    return region


def scope(compartment_id: str | None) -> str:
    return f"compartment id {compartment_id}" if compartment_id else "tenancy"


def statement(grant: Grant, dynamic_group: str, where_scope: str, regions: Iterable[str]) -> str:
    conditions = []
    if grant.only_permission:
        conditions.append(f"request.permission = '{grant.only_permission}'")
    keys = [f"request.region = '{region_key(region)}'" for region in regions]
    if len(keys) == 1:
        conditions.append(keys[0])
    elif keys:
        conditions.append("any {" + ", ".join(keys) + "}")
    where = ""
    if len(conditions) == 1:
        where = f" where {conditions[0]}"
    elif conditions:
        where = " where all {" + ", ".join(conditions) + "}"
    return f"Allow dynamic-group {dynamic_group} to {grant.verb} {grant.resource_type} in {where_scope}{where}"


def _unique(grants: Iterable[Grant]) -> list[Grant]:
    seen: list[Grant] = []
    for grant in grants:
        if grant not in seen:
            seen.append(grant)
    return seen


def find_grants(kinds: Iterable[BackupKind] | None = None) -> list[Grant]:
    return _unique(g for kind in kinds or SPECS for g in GRANTS[kind].find)


def find_statements(
    spec: KindSpec, region: str, compartment_id: str | None, dynamic_group: str = DEFAULT_DYNAMIC_GROUP
) -> list[str]:
    """What list_<kind>_backups and get_<kind>_backup need in `region`: the preflight check's fix."""
    return [statement(g, dynamic_group, scope(compartment_id), [region]) for g in find_grants([spec.kind])]


def copy_grants() -> tuple[list[Grant], list[Grant]]:
    """What a copy needs: in the source region (read and copy), and in each destination (create)."""
    kinds = list(SPECS)
    return (
        _unique(g for kind in kinds for g in GRANTS[kind].copy),
        _unique(g for kind in kinds for g in GRANTS[kind].create),
    )


def copy_statements(
    source_region: str,
    destination_regions: Iterable[str],
    compartment_id: str | None,
    dynamic_group: str = DEFAULT_DYNAMIC_GROUP,
) -> list[str]:
    """The copy statements of `policies` for one compartment: the preflight check names them, since
    only a copy can prove them."""
    copy, create = copy_grants()
    where = scope(compartment_id)
    return [statement(g, dynamic_group, where, [source_region]) for g in copy] + [
        statement(g, dynamic_group, where, tuple(destination_regions)) for g in create
    ]


def kms_statements(key_id: str, dynamic_group: str = DEFAULT_DYNAMIC_GROUP) -> list[str]:
    """The caller delegates the key to Block Volume, and Block Volume uses it (Oracle's two statements)."""
    return [
        f"Allow dynamic-group {dynamic_group} to use key-delegate in tenancy where target.key.id = '{key_id}'",
        f"Allow service blockstorage to use keys in tenancy where target.key.id = '{key_id}'",
    ]


def inspect_compartments_statement(dynamic_group: str = DEFAULT_DYNAMIC_GROUP) -> str:
    """ListCompartments over the tenancy; the preflight check names this statement when it is refused."""
    return statement(INSPECT_COMPARTMENTS, dynamic_group, scope(None), ())


def events_statement(function_compartment_id: str) -> str:
    return f"Allow service cloudEvents to use functions-family in {scope(function_compartment_id)}"


def dynamic_group_rule(*, function_id: str | None = None, compartment_id: str | None = None) -> str:
    """Oracle's matching rule for one function, or for every function in a compartment."""
    if function_id:
        return f"ALL {{resource.type = 'fnfunc', resource.id = '{function_id}'}}"
    if compartment_id:
        return f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{compartment_id}'}}"
    raise ValueError("a function OCID or a compartment OCID is required")


def _comments(grants: Iterable[Grant]) -> list[str]:
    lines = []
    for grant in grants:
        lines.append(
            f"{grant.verb} {grant.resource_type}: {', '.join(grant.permissions)} for {grant.why}; {grant.source}"
        )
        if grant.unconfirmed:
            lines.append(f"UNCONFIRMED: {grant.unconfirmed}")
    return lines


def policy(
    *,
    source_region: str,
    destination_regions: tuple[str, ...],
    compartment_ids: tuple[str, ...],
    kms_key_ids: Iterable[str],
    function_compartment_id: str,
    dynamic_group: str = DEFAULT_DYNAMIC_GROUP,
) -> list[Section]:
    """Every statement the deployment needs, least privilege, by where it applies."""
    scopes = [scope(c) for c in compartment_ids] or [scope(None)]
    kinds = list(SPECS)

    def render(grants: list[Grant], regions: Iterable[str]) -> tuple[str, ...]:
        regions = tuple(regions)
        return tuple(statement(g, dynamic_group, s, regions) for s in scopes for g in grants)

    find = find_grants(kinds)
    copy, create = copy_grants()
    notes = [note for kind in kinds if (note := GRANTS[kind].note)]
    sections = [
        Section(
            "Find backups (source region) and existing copies (destination regions)",
            tuple(_comments(find)),
            render(find, (source_region, *destination_regions)),
        ),
        Section(
            f"Copy from the source region ({source_region})",
            (*_comments(copy), *notes),
            render(copy, (source_region,)),
        ),
        Section(
            f"Create the copies in the destination regions ({', '.join(destination_regions)})",
            tuple(_comments(create)),
            render(create, destination_regions),
        ),
    ]
    update = _unique(g for kind in kinds for g in GRANTS[kind].update)
    delete = _unique(g for kind in kinds for g in GRANTS[kind].delete)
    sections += [
        Section(
            "Mark the copies (destination regions) and record each on its source (source region)",
            (
                *_comments(update),
                "manage narrowed by request.permission grants that one permission whichever verb first includes it",
                "Without these the copies are made but never marked, so they never expire (the answer says so)",
            ),
            render(update, (source_region, *destination_regions)),
        ),
        Section(
            f"Delete marked copies past their expiry ({', '.join(destination_regions)} only)",
            (
                *_comments(delete),
                "DeleteVolumeGroupBackup also needs the volume and boot volume DELETE permissions for the "
                "backups inside the group; the statements above grant them",
                "IAM conditions cannot test freeform tags, so IAM cannot narrow these to marked copies: the "
                "function's own rules do (docs/retention.md), and the region condition keeps them off the "
                f"source region. To narrow with a defined tag instead: {DEFINED_TAG_RECIPE}",
                "Leave this section out to let copies pile up instead: the expiry pass then fails with "
                "NotAuthorizedOrNotFound and deletes nothing",
            ),
            render(delete, destination_regions),
        ),
    ]
    sections.append(
        Section(
            'Find the compartments of a tenancy-wide run ("subtree": true)',
            (
                *_comments([INSPECT_COMPARTMENTS]),
                "Compartments are global: the statement applies in every region, and only in the tenancy",
            ),
            (inspect_compartments_statement(dynamic_group),),
        )
    )
    keys = list(kms_key_ids)
    if keys:
        sections.append(
            Section(
                "Encrypt the copies with the destination regions' Vault keys",
                (
                    "use key-delegate for the function, use keys for the Block Volume service (blockstorage); "
                    "narrowed to each key by target.key.id",
                    f"'Cross Security Compartment Key Access' in {BLOCK_VOLUME_KEYS_DOC}",
                ),
                tuple(line for key in keys for line in kms_statements(key, dynamic_group)),
            )
        )
    sections.append(
        Section(
            "Let the Events rule invoke the function",
            (
                "The Events service invokes FAAS actions as itself, not as the function's dynamic group",
                f"'Allow the Events Service to Deliver Events to Action Resources' in {EVENTS_POLICY_DOC}",
                "UNCONFIRMED: the statement's exact wording could not be read from that page here; it is the "
                "form the page is widely quoted with (service cloudEvents, functions-family)",
            ),
            (events_statement(function_compartment_id),),
        )
    )
    return sections
