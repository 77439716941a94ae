"""What each request asks of IAM: its API operation and the permissions it needs, where.

Permissions per operation, from Oracle's "Permissions Required for Each API Operation" tables
and, where those say nothing, the verb tables' "APIs Partially Covered" column:
- Core (CORE below): docs.oracle.com/en-us/iaas/Content/Identity/Reference/corepolicyreference.htm
- IAM: .../Identity/Reference/iampolicyreference.htm (ListCompartments, ListAvailabilityDomains:
  COMPARTMENT_INSPECT)
- Monitoring: .../Identity/Reference/monitoringpolicyreference.htm (PostMetricData: METRIC_WRITE)
- Functions: .../Identity/Reference/functionspolicyreference.htm (GetFunction: FN_FUNCTION_READ,
  InvokeFunction: FN_INVOCATION)
- Vault: .../Identity/Reference/keypolicyreference.htm (`use key-delegate`: KEY_ASSOCIATE)

Each permission is checked where it applies: in the compartment the request concerns (a List's
compartmentId, the compartment of the resource addressed, a create's compartmentId), and in the
region of the endpoint called. The subtleties:
- Listing and getting volume and boot volume backups also needs VOLUME_INSPECT; so do their
  updates and deletes (CORE's per-operation table). Volume group backups need only their own.
- A copy is sent to the source region, which checks _READ and _COPY on the backup there; the
  destination region checks _CREATE ("you must have permission to read and copy volume backups
  in the source region, and permission to create volume backups in the destination region",
  Content/Block/Concepts/blockvolumebackups.htm). The emulator puts a copy in its source's
  compartment, so _CREATE is checked there, with request.region the destination.
- A customer key (kmsKeyId) needs KEY_ASSOCIATE (`use key-delegate`) with target.key.id. The key's
  compartment is unknown to the emulator, so only `in tenancy` statements can grant it. The other
  half, `Allow service blockstorage to use keys`, is Block Volume's own access to the key: the
  emulator cannot check it, and never does.
- CopyVolumeGroupBackup is in no Oracle table (*unconfirmed*): the emulator asks what the volume
  pattern suggests: VOLUME_GROUP_BACKUP_INSPECT on the group and VOLUME_BACKUP_READ and _COPY on its
  volume backups in the source region, VOLUME_GROUP_BACKUP_CREATE and VOLUME_BACKUP_CREATE in the
  destination.
- ListBootVolumeAttachments is in no Oracle table (*unconfirmed*): INSTANCE_INSPECT and
  VOLUME_INSPECT, as ListVolumeAttachments needs without its VOLUME_ATTACHMENT_INSPECT (boot volume
  attachments have no resource type of their own).
- CreateBootVolume from a backup: VOLUME_CREATE and BOOT_VOLUME_BACKUP_READ (CORE's verb table,
  `read boot-volume-backups`: "CreateBootVolume when creating volume from an backup (also need
  manage volumes)"); CreateVolume: VOLUME_CREATE, and VOLUME_BACKUP_READ from a backup (CORE);
  CreateVolumeGroup from a group backup: VOLUME_GROUP_CREATE, VOLUME_GROUP_BACKUP_INSPECT,
  VOLUME_BACKUP_READ, VOLUME_CREATE and VOLUME_WRITE (CORE).
- PostMetricData checks METRIC_WRITE for each (compartment, namespace) its metrics name, with
  target.metrics.namespace; one refused stream refuses the call (*unconfirmed*: Oracle documents
  no partial answer for authorization).

A request the emulator cannot place (an unknown path, a resource that does not exist, a body
that does not parse) has no Access: the service answers it as it always does (404, 400).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import oci.regions

from .. import functions, identity, telemetry
from ..compute import PREFIX as COMPUTE_PREFIX
from ..ocids import canonical_region
from ..routes import resolve

CORE_VERSION = "20160918"


class World(Protocol):
    """What the emulator knows that IAM decisions depend on."""

    @property
    def tenancy_id(self) -> str: ...

    def parent_of(self, compartment_id: str) -> str | None:
        """The parent compartment; None for the tenancy and for compartments Identity does not know."""

    def child_named(self, parent_id: str, name: str) -> str | None: ...

    def compartment_name(self, compartment_id: str) -> str | None: ...

    def backup(self, backup_id: str) -> Mapping[str, Any] | None:
        """A backup as the API renders it, in whichever region it lives."""

    def function_compartment(self, function_id: str) -> str | None: ...

    def resource_compartment(self, resource_id: str) -> str | None:
        """The compartment of a volume, boot volume or volume group."""


@dataclass(frozen=True)
class Check:
    """One permission, needed in one compartment and one region."""

    permission: str
    compartment_id: str
    region: str
    # target.* variables that apply to this check (target.metrics.namespace, target.key.id,
    # target.resource.tag.<namespace>.<key>), lower-case names.
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Access:
    """A request as IAM sees it, and how the emulator records it."""

    api_operation: str  # Oracle's name, e.g. CopyVolumeBackup: request.operation
    checks: tuple[Check, ...]
    region: str
    path: str  # as the service records it: without the prefix and region
    query: dict[str, str]
    record_operation: str  # the emulator's operation name (RecordedRequest.operation)
    record_kind: str | None = None


@dataclass(frozen=True)
class _BackupApi:
    noun: str  # VolumeBackup
    permission_prefix: str  # VOLUME_BACKUP
    also_volume_inspect: bool


_BACKUPS = {
    "volumeBackups": _BackupApi("VolumeBackup", "VOLUME_BACKUP", also_volume_inspect=True),
    "bootVolumeBackups": _BackupApi("BootVolumeBackup", "BOOT_VOLUME_BACKUP", also_volume_inspect=True),
    "volumeGroupBackups": _BackupApi("VolumeGroupBackup", "VOLUME_GROUP_BACKUP", also_volume_inspect=False),
}
# Volumes, boot volumes and volume groups: (List/Get, Update, Delete) permissions (CORE). The extra
# VOLUME_INSPECT of UpdateVolumeGroup is "for the volumes in the request"; checked in the group's compartment.
_RESOURCES = {
    "volumes": ("Volume", ("VOLUME_INSPECT",), ("VOLUME_UPDATE",), ("VOLUME_DELETE",)),
    "bootVolumes": ("BootVolume", ("VOLUME_INSPECT",), ("VOLUME_UPDATE",), ("VOLUME_DELETE",)),
    "volumeGroups": (
        "VolumeGroup",
        ("VOLUME_GROUP_INSPECT",),
        ("VOLUME_GROUP_UPDATE", "VOLUME_INSPECT"),
        ("VOLUME_GROUP_DELETE",),
    ),
}
_ATTACHMENTS = {
    "volumeAttachments": ("ListVolumeAttachments", ("VOLUME_ATTACHMENT_INSPECT", "VOLUME_INSPECT", "INSTANCE_INSPECT")),
    "bootVolumeAttachments": ("ListBootVolumeAttachments", ("INSTANCE_INSPECT", "VOLUME_INSPECT")),
}
# Compute's attachments, served under a prefix of their own (compute.py):
# http://127.0.0.1:<port>/compute/<region>/20160918/...
_FUNCTION_PATH = re.compile(r"/(?P<version>\d{8})/functions/(?P<id>[^/]+)(?P<invoke>/actions/invoke)?")


def access_of(method: str, target: str, body: bytes, world: World) -> Access | None:
    """The permissions this request needs, or None when the emulator cannot place it."""
    split = urlsplit(target)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    for prefix, place in (
        (COMPUTE_PREFIX, _compute),
        (telemetry.PREFIX, _metrics),
        (identity.PREFIX, _identity),
        (functions.INVOKE_PREFIX, _functions),
        (functions.PREFIX, _functions),
    ):
        if split.path.startswith(prefix):
            region, _, rest = split.path.removeprefix(prefix).partition("/")
            if region not in oci.regions.REGIONS:
                return None
            return place(method, region, "/" + rest, query, body, world, prefix)
    region, _, rest = split.path.lstrip("/").partition("/")
    if region not in oci.regions.REGIONS:
        return None
    return _core(method, region, "/" + rest, query, body, world)


def _checks(
    permissions: tuple[str, ...], compartment_id: str, region: str, variables: Mapping[str, str] | None = None
) -> list[Check]:
    return [Check(permission, compartment_id, region, dict(variables or {})) for permission in permissions]


def _tag_variables(resource: Mapping[str, Any]) -> dict[str, str]:
    """target.resource.tag.<namespace>.<key> of a resource's defined tags (IAM cannot see freeform tags)."""
    return {
        f"target.resource.tag.{namespace.lower()}.{key.lower()}": str(value)
        for namespace, values in (resource.get("definedTags") or {}).items()
        for key, value in values.items()
    }


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _key_checks(details: Mapping[str, Any], world: World, region: str) -> list[Check]:
    key_id = details.get("kmsKeyId")
    if not isinstance(key_id, str) or not key_id:
        return []
    return _checks(("KEY_ASSOCIATE",), world.tenancy_id, region, {"target.key.id": key_id})


def _core(method: str, region: str, path: str, query: dict[str, str], body: bytes, world: World) -> Access | None:
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != CORE_VERSION:
        return None
    collection, rest = parts[1], parts[2:]
    resolution = resolve(method, path)
    kind = resolution.kind.name if resolution.kind else None
    checks: list[Check] | None
    if collection in _BACKUPS:
        operation, checks = _backup(_BACKUPS[collection], method, rest, region, query, body, world)
    elif collection in _RESOURCES:
        operation, checks = _resource(collection, method, rest, region, query, body, world)
    elif collection in _ATTACHMENTS:
        return _compute(method, region, path, query, body, world, "")
    else:
        return None
    if checks is None:
        return None
    return Access(operation, tuple(checks), region, path, query, resolution.operation, kind)


def _backup(
    api: _BackupApi, method: str, rest: list[str], region: str, query: dict[str, str], body: bytes, world: World
) -> tuple[str, list[Check] | None]:
    prefix = api.permission_prefix
    inspect_volumes = ("VOLUME_INSPECT",) if api.also_volume_inspect else ()
    if not rest:
        compartment = query.get("compartmentId")
        operation = f"List{api.noun}s"
        if method != "GET" or not compartment:
            return operation, None
        return operation, _checks((f"{prefix}_INSPECT", *inspect_volumes), compartment, region)
    backup = world.backup(rest[0])
    if backup is None:
        return api.noun, None
    compartment = backup["compartmentId"]
    tags = _tag_variables(backup)
    if rest[1:] == ["actions", "copy"] and method == "POST":
        return f"Copy{api.noun}", _copy(api, backup, region, body, world)
    if rest[1:]:
        return api.noun, None
    if method == "GET":
        return f"Get{api.noun}", _checks((f"{prefix}_INSPECT", *inspect_volumes), compartment, region, tags)
    if method == "PUT":
        details = _json(body) or {}
        checks = _checks((f"{prefix}_UPDATE", *inspect_volumes), compartment, region, tags)
        return f"Update{api.noun}", checks + _key_checks(details, world, region)
    if method == "DELETE":
        checks = _checks((f"{prefix}_DELETE", *inspect_volumes), compartment, region, tags)
        # DeleteVolumeGroupBackup: "VOLUME_GROUP_BACKUP_DELETE, VOLUME_BACKUP_DELETE/BOOT_VOLUME_BACKUP_DELETE".
        for member in _members(backup, world):
            checks += _checks(
                (_member_permission(member, "DELETE"),), member["compartmentId"], region, _tag_variables(member)
            )
        return f"Delete{api.noun}", checks
    return api.noun, None


def _members(backup: Mapping[str, Any], world: World) -> list[Mapping[str, Any]]:
    """The volume (and boot volume) backups of a volume group backup."""
    found = []
    for member_id in backup.get("volumeBackupIds") or ():
        member = world.backup(member_id)
        if member is not None:
            found.append(member)
    return found


def _member_permission(member: Mapping[str, Any], action: str) -> str:
    prefix = "BOOT_VOLUME_BACKUP" if "bootVolumeId" in member else "VOLUME_BACKUP"
    return f"{prefix}_{action}"


def _copy(api: _BackupApi, backup: Mapping[str, Any], region: str, body: bytes, world: World) -> list[Check] | None:
    details = _json(body)
    destination = canonical_region(str((details or {}).get("destinationRegion") or ""))
    if details is None or destination is None:
        return None  # the service answers 400
    compartment = backup["compartmentId"]
    tags = _tag_variables(backup)
    prefix = api.permission_prefix
    if api.noun != "VolumeGroupBackup":
        checks = _checks((f"{prefix}_READ", f"{prefix}_COPY"), compartment, region, tags)
        checks += _checks((f"{prefix}_CREATE",), compartment, destination)
    else:
        checks = _checks(("VOLUME_GROUP_BACKUP_INSPECT",), compartment, region, tags)
        checks += _checks(("VOLUME_GROUP_BACKUP_CREATE",), compartment, destination)
        for member in _members(backup, world):
            member_tags = _tag_variables(member)
            reads = (_member_permission(member, "READ"), _member_permission(member, "COPY"))
            checks += _checks(reads, member["compartmentId"], region, member_tags)
            checks += _checks((_member_permission(member, "CREATE"),), member["compartmentId"], destination)
    return checks + _key_checks(details, world, destination)


def _resource(
    collection: str, method: str, rest: list[str], region: str, query: dict[str, str], body: bytes, world: World
) -> tuple[str, list[Check] | None]:
    noun, reads, updates, deletes = _RESOURCES[collection]
    if not rest:
        if method == "GET":
            compartment = query.get("compartmentId")
            return f"List{noun}s", _checks(reads, compartment, region) if compartment else None
        if method == "POST":
            return f"Create{noun}", _create(noun, body, region, world)
        return noun, None
    if rest[1:]:
        return noun, None
    compartment = world.resource_compartment(rest[0])
    if compartment is None:
        return noun, None
    permissions = {"GET": reads, "PUT": updates, "DELETE": deletes}.get(method)
    operation = {"GET": "Get", "PUT": "Update", "DELETE": "Delete"}.get(method, "")
    return operation + noun, _checks(permissions, compartment, region) if permissions else None


def _create(noun: str, body: bytes, region: str, world: World) -> list[Check] | None:
    details = _json(body)
    if details is None:
        return None
    compartment = details.get("compartmentId")
    if not isinstance(compartment, str) or not compartment:
        return None
    given = details.get("sourceDetails")
    source: dict[str, Any] = given if isinstance(given, dict) else {}
    source_type = str(source.get("type", ""))
    if noun == "VolumeGroup":
        if source_type != "volumeGroupBackupId":
            # From a list of volumes (or a clone): VOLUME_GROUP_CREATE and VOLUME_INSPECT, as CORE's
            # first case says.
            return _checks(("VOLUME_GROUP_CREATE", "VOLUME_INSPECT"), compartment, region)
        group = world.backup(str(source.get("volumeGroupBackupId", "")))
        if group is None:
            return None
        checks = _checks(("VOLUME_GROUP_CREATE", "VOLUME_CREATE", "VOLUME_WRITE"), compartment, region)
        checks += _checks(("VOLUME_GROUP_BACKUP_INSPECT",), group["compartmentId"], region, _tag_variables(group))
        for member in _members(group, world):
            checks += _checks(
                (_member_permission(member, "READ"),), member["compartmentId"], region, _tag_variables(member)
            )
        return checks
    checks = _checks(("VOLUME_CREATE",), compartment, region)
    if source_type in ("volumeBackup", "bootVolumeBackup"):
        backup = world.backup(str(source.get("id", "")))
        if backup is None:
            return None
        read = "VOLUME_BACKUP_READ" if source_type == "volumeBackup" else "BOOT_VOLUME_BACKUP_READ"
        checks += _checks((read,), backup["compartmentId"], region, _tag_variables(backup))
    return checks + _key_checks(details, world, region)


def _compute(
    method: str, region: str, path: str, query: dict[str, str], body: bytes, world: World, prefix: str
) -> Access | None:
    collection = path.removeprefix(f"/{CORE_VERSION}/")
    compartment = query.get("compartmentId")
    if collection not in _ATTACHMENTS or method != "GET" or not compartment:
        return None
    operation, permissions = _ATTACHMENTS[collection]
    record = "list_volume_attachments" if collection == "volumeAttachments" else "list_boot_volume_attachments"
    return Access(operation, tuple(_checks(permissions, compartment, region)), region, path, query, record)


def _identity(
    method: str, region: str, path: str, query: dict[str, str], body: bytes, world: World, prefix: str
) -> Access | None:
    operation = {
        "/20160918/compartments": "ListCompartments",
        "/20160918/availabilityDomains": "ListAvailabilityDomains",
    }.get(path)
    compartment = query.get("compartmentId")
    if operation is None or method != "GET" or not compartment:
        return None
    record = identity.OPERATION if operation == "ListCompartments" else "list_availability_domains"
    return Access(operation, tuple(_checks(("COMPARTMENT_INSPECT",), compartment, region)), region, path, query, record)


def _metrics(
    method: str, region: str, path: str, query: dict[str, str], body: bytes, world: World, prefix: str
) -> Access | None:
    document = _json(body)
    if path != telemetry.API_PATH or method != "POST" or document is None:
        return None
    streams = document.get("metricData")
    if not isinstance(streams, list):
        return None
    places = {
        (metric["compartmentId"], metric["namespace"])
        for metric in streams
        if isinstance(metric, dict)
        and isinstance(metric.get("compartmentId"), str)
        and isinstance(metric.get("namespace"), str)
    }
    checks = [
        Check("METRIC_WRITE", compartment, region, {"target.metrics.namespace": namespace})
        for compartment, namespace in sorted(places)
    ]
    return Access("PostMetricData", tuple(checks), region, path, query, telemetry.OPERATION) if checks else None


def _functions(
    method: str, region: str, path: str, query: dict[str, str], body: bytes, world: World, prefix: str
) -> Access | None:
    match = _FUNCTION_PATH.fullmatch(path)
    invoke = prefix == functions.INVOKE_PREFIX
    if match is None or bool(match["invoke"]) != invoke:
        return None
    compartment = world.function_compartment(match["id"])
    if compartment is None:
        return None
    if invoke:
        access = ("InvokeFunction", "FN_INVOCATION", functions.INVOKE_FUNCTION)
    else:
        access = ("GetFunction", "FN_FUNCTION_READ", functions.GET_FUNCTION)
    operation, permission, record = access
    return Access(operation, tuple(_checks((permission,), compartment, region)), region, path, query, record)
