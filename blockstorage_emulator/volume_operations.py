"""Create (restore), Get, List, Update and Delete of volumes, boot volumes and volume groups.

Request parsing and response shaping, as operations.py does for backups; the rules a restore
keeps (the backup exists and is AVAILABLE, sizes, keys, group members) are volumes.py's. Paths,
methods, bodies and query parameters are the SDK 2.189 BlockstorageClient's: POST/GET
/volumes, /bootVolumes, /volumeGroups; GET/PUT/DELETE /<collection>/{id}, with If-Match on PUT
and DELETE and opc-retry-token on POST.

What the emulator answers a bad request with (400 InvalidParameter or MissingParameter, OCI's
codes for a bad or absent parameter; the messages are the emulator's own and name the field):
- a field the SDK's Create*Details does not have, or one it has and the emulator does not model
  (replicas, autotune, backup policies, placement groups): refused, never silently ignored;
- a source other than a backup (a clone, a replica): refused as not modelled;
- compartmentId, sourceDetails and availabilityDomain missing (availabilityDomain is
  "Omissible for cloning a volume" only, and clones are not modelled);
- vpusPerGB outside the kind's allowed values (volume_kinds.py), sizeInGBs outside 50 GB to
  32 TB, a kmsKeyId that is not a key OCID.
"""

from __future__ import annotations

from typing import Any

from . import errors, fields
from .models import Backend
from .operations import Call, Reply, fingerprint, json_object, next_page, paging, retry_token, sorting
from .volume_kinds import (
    MAX_SIZE_IN_GBS,
    MIN_SIZE_IN_GBS,
    RESTORED_VOLUME,
    RESTORED_VOLUME_GROUP,
    VolumeKind,
    checked_vpus_per_gb,
    restored_kind,
)
from .volumes import RestoreRequest, refuse_fields


def create_volume(backend: Backend, call: Call) -> Reply:
    kind = restored_kind(call.kind)
    token = retry_token(call)
    details = json_object(call.body)
    request = _restore_request(kind, details, token, fingerprint(call, details))
    with backend.lock:
        resource = backend.volumes.restore(call.region, kind, request)
        return Reply(200, backend.volumes.render(resource), {"etag": resource.etag})


def get_volume(backend: Backend, call: Call) -> Reply:
    with backend.lock:
        resource = backend.volumes.get(call.region, restored_kind(call.kind), call.resource_id or "")
        return Reply(200, backend.volumes.render(resource), {"etag": resource.etag})


def list_volumes(backend: Backend, call: Call) -> Reply:
    kind = restored_kind(call.kind)
    query = call.query
    if kind is RESTORED_VOLUME_GROUP and not query.get("compartmentId"):
        raise errors.MissingParameter("Missing required parameter: compartmentId")
    if not query.get("compartmentId") and not query.get("volumeGroupId"):
        # ListVolumes and ListBootVolumes take both as optional (the SDK), which serves a listing
        # by volume group; the answer to neither is *unconfirmed*.
        raise errors.MissingParameter("Missing required parameter: compartmentId or volumeGroupId")
    limit, offset = paging(query)
    sort_by, descending = sorting(query) if kind.sortable else ("TIMECREATED", True)
    filters = {name: query[name] for name in kind.list_filters if name in query}
    if "lifecycleState" in filters:
        # "The state value is case-insensitive."
        filters["lifecycleState"] = filters["lifecycleState"].upper()
        if filters["lifecycleState"] not in kind.lifecycle_states:
            raise errors.InvalidParameter(f"Invalid lifecycleState: {query['lifecycleState']}")
    page, more = backend.volumes.page(call.region, kind, filters, sort_by, descending, offset, limit)
    return Reply(200, page, next_page(offset, limit, more))


def update_volume(backend: Backend, call: Call) -> Reply:
    details = json_object(call.body)
    with backend.lock:
        resource = backend.volumes.update(
            call.region, restored_kind(call.kind), call.resource_id or "", details, call.headers.get("if-match")
        )
        return Reply(200, backend.volumes.render(resource), {"etag": resource.etag})


def delete_volume(backend: Backend, call: Call) -> Reply:
    backend.volumes.delete(call.region, restored_kind(call.kind), call.resource_id or "", call.headers.get("if-match"))
    return Reply(204, None)


def _restore_request(kind: VolumeKind, details: dict[str, Any], token: str | None, request_id: str) -> RestoreRequest:
    refuse_fields(details, kind.create_fields, kind.modelled_create_fields)
    compartment_id = _required_ocid(details, "compartmentId", ("compartment", "tenancy"))
    availability_domain = details.get("availabilityDomain")
    if availability_domain is None:
        raise errors.MissingParameter("availabilityDomain is required to restore from a backup.")
    if not isinstance(availability_domain, str) or not availability_domain:
        raise errors.InvalidParameter("availabilityDomain must be the name of an availability domain.")
    return RestoreRequest(
        compartment_id=compartment_id,
        availability_domain=availability_domain,
        backup_id=_source_backup(kind, details),
        display_name=fields.display_name(details["displayName"]) if "displayName" in details else None,
        size_in_gbs=_size(details),
        vpus_per_gb=checked_vpus_per_gb(kind, details["vpusPerGB"]) if "vpusPerGB" in details else None,
        kms_key_id=_optional_ocid(details, "kmsKeyId", ("key",)),
        freeform_tags=fields.freeform_tags(details.get("freeformTags", {})),
        defined_tags=fields.defined_tags(details.get("definedTags", {})),
        retry_token=token,
        fingerprint=request_id,
    )


def _source_backup(kind: VolumeKind, details: dict[str, Any]) -> str:
    """The backup named by sourceDetails (or, for a volume, the deprecated volumeBackupId)."""
    source = details.get("sourceDetails")
    legacy = details.get("volumeBackupId") if kind is RESTORED_VOLUME else None
    if source is None and legacy is None:
        if kind is RESTORED_VOLUME:
            raise errors.InvalidParameter(
                "Not modelled by the emulator: a volume without sourceDetails (an empty volume)."
            )
        raise errors.MissingParameter("sourceDetails is required.")
    backup_type = kind.backup.resource_type
    if source is None:
        return _ocid(legacy, "volumeBackupId", (backup_type,))
    if not isinstance(source, dict) or not isinstance(source.get("type"), str):
        raise errors.InvalidParameter("sourceDetails must be an object with a type.")
    if source["type"] in kind.other_source_types:
        raise errors.InvalidParameter(f"Not modelled by the emulator: sourceDetails of type {source['type']}.")
    if source["type"] != kind.source_type:
        raise errors.InvalidParameter(f"Invalid sourceDetails type: {source['type']}")
    backup_id = _ocid(source.get(kind.source_id_field), f"sourceDetails.{kind.source_id_field}", (backup_type,))
    if legacy is not None and legacy != backup_id:
        raise errors.InvalidParameter("volumeBackupId and sourceDetails name different backups.")
    return backup_id


def _size(details: dict[str, Any]) -> int | None:
    """sizeInGBs, or the deprecated sizeInMBs ("must be a multiple of 1024"), 50 GB to 32 TB."""
    if "sizeInGBs" in details and "sizeInMBs" in details:
        raise errors.InvalidParameter("Give sizeInGBs or sizeInMBs, not both.")
    if "sizeInMBs" in details:
        megabytes = details["sizeInMBs"]
        if not _integer(megabytes) or megabytes % 1024:
            raise errors.InvalidParameter("sizeInMBs must be a whole number of GB (a multiple of 1024).")
        size = megabytes // 1024
    elif "sizeInGBs" in details:
        size = details["sizeInGBs"]
    else:
        return None
    if not _integer(size) or not MIN_SIZE_IN_GBS <= size <= MAX_SIZE_IN_GBS:
        raise errors.InvalidParameter(f"sizeInGBs must be a whole number from {MIN_SIZE_IN_GBS} to {MAX_SIZE_IN_GBS}.")
    return int(size)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _required_ocid(details: dict[str, Any], name: str, types: tuple[str, ...]) -> str:
    if details.get(name) is None:
        raise errors.MissingParameter(f"{name} is required.")
    return _ocid(details[name], name, types)


def _optional_ocid(details: dict[str, Any], name: str, types: tuple[str, ...]) -> str | None:
    return None if details.get(name) is None else _ocid(details[name], name, types)


def _ocid(value: object, name: str, types: tuple[str, ...]) -> str:
    """An OCID of one of `types` (ocid1.<type>.<realm>...), or 400 naming the field."""
    if not isinstance(value, str) or not any(value.startswith(f"ocid1.{kind}.") for kind in types):
        raise errors.InvalidParameter(f"Invalid {name}: expected the OCID of a {' or '.join(types)}.")
    return value
