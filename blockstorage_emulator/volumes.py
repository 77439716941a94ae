"""Volumes, boot volumes and volume groups restored from backups, and the rules OCI keeps for them.

Sources (SDK 2.189 oci/core; Oracle's Block Volume pages) for what the emulator does:
- A restore answers the new resource PROVISIONING; a volume or boot volume then passes through
  RESTORING; a volume group has no RESTORING state and stays PROVISIONING while its members
  restore (models/volume.py, boot_volume.py, volume_group.py list the states). Tests move them on
  (Emulator.begin_restoring, finish_restores, fail_restore); `isHydrated` ("whether the cloned
  volume's data has finished copying from the source volume or backup") stays false until a test
  calls Emulator.hydrate, so AVAILABLE and hydrated are two separate moments, as in OCI.
- Tags: "When the volume is restored from a backup, the volume is restored with the source
  volume's tags" (docs.oracle.com/iaas/Content/Block/Concepts/blockvolumebackups.htm, Tags). The
  backup carries the source volume's tags ("Source volume tags are automatically assigned to all
  backups") and a cross-region copy carries the backup's, so the emulator gives a restored volume
  its backup's freeform and defined tags, with the create request's merged over them (the
  request wins on a shared key: the emulator's choice). A restore of a marked copy therefore
  carries the copy's mark.
- A volume group restore makes one volume or boot volume per member backup, in the group's
  compartment and availability domain, with Oracle-provided keys (the page above: "This option is
  not available for volumes restored from volume group backups"). Each member carries its own
  member backup's tags. Whether the group's create-request tags reach its members is not
  documented anywhere we found, so the emulator does NOT copy them: a caller must mark members
  itself (UpdateVolume / UpdateBootVolume), which is right under either behaviour.
- Deletes: "Individual volumes are not deleted, only the volume group is deleted"
  (delete_volume_group's docstring). A member stays assigned to its group until the group is
  TERMINATED (the emulator's conservative reading: the group's delete is asynchronous); until
  then its own delete answers 409 Conflict "Volume <id> may not be deleted while it is assigned to
  volume group <id>" (the message OCI answered in github.com/therealcmj/ociextirpater/issues/44).
  An attached volume answers 409 Conflict "Volume <id> may not be deleted while attached to an
  Instance." (OCI's message in github.com/oracle/oci-cloud-controller-manager/issues/262); the
  boot volume messages are the same sentences with "Boot volume", which is *unconfirmed*.
- *Unconfirmed*, the emulator's choices: a delete in PROVISIONING, RESTORING, FAULTY or
  UPDATE_PENDING is accepted (no source says OCI refuses one; a test that needs a refusal injects
  Fault(operation="delete_volume", status=409, code="IncorrectState")); TERMINATING answers 409
  IncorrectState and TERMINATED 404, as backups do here; restoring a backup that is not AVAILABLE
  answers 409 IncorrectState; a size below the backup's answers 400 InvalidParameter. The
  messages of these are the emulator's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from . import errors, fields
from .attachments import Attachments
from .availability_domains import AvailabilityDomains
from .fields import new_etag
from .kinds import Kind, kind_of_ocid
from .ocids import canonical_region, new_ocid
from .retry_tokens import RetryTokens
from .volume_kinds import (
    DEFAULT_VPUS_PER_GB,
    MAX_SIZE_IN_GBS,
    RESTORED_BOOT_VOLUME,
    RESTORED_VOLUME_GROUP,
    VOLUME_KINDS,
    VolumeKind,
    checked_vpus_per_gb,
    restored_kind,
)
from .volume_resources import Resource, Volume, VolumeGroup

GONE = ("TERMINATING", "TERMINATED")
RESTORING_STATES = ("PROVISIONING", "RESTORING")


class RestorableBackup(Protocol):
    """What a restore reads of a backup (models.Backup has it)."""

    id: str
    kind: Kind
    display_name: str
    lifecycle_state: str
    size_in_gbs: int
    freeform_tags: dict[str, str]
    defined_tags: dict[str, dict[str, Any]]
    member_ids: list[str]


class BackupLookup(Protocol):
    """The backups a restore starts from (models.Backend), whose lock the volumes share."""

    lock: Any

    def get(self, region: str, kind: Kind, backup_id: str) -> RestorableBackup: ...

    def knows_kms_key(self, region: str, key_id: str) -> bool: ...


@dataclass(frozen=True)
class RestoreRequest:
    """A CreateVolume / CreateBootVolume / CreateVolumeGroup body whose shape is already checked."""

    compartment_id: str
    availability_domain: str
    backup_id: str
    display_name: str | None
    size_in_gbs: int | None
    vpus_per_gb: int | None
    kms_key_id: str | None
    freeform_tags: dict[str, str]
    defined_tags: dict[str, dict[str, Any]]
    retry_token: str | None
    fingerprint: str  # identifies the request for retry-token replay


class Volumes:
    """Every region's volumes, boot volumes and volume groups, their attachments and the
    availability domains they live in."""

    def __init__(self, backups: BackupLookup) -> None:
        self.backups = backups
        self.lock = backups.lock
        self.attachments = Attachments()
        self.availability_domains = AvailabilityDomains()
        self._resources: dict[str, Resource] = {}
        self._retry_tokens = RetryTokens()

    # The API (operations in volume_operations.py)

    def restore(self, region: str, kind: VolumeKind, request: RestoreRequest) -> Resource:
        with self.lock:
            replayed = self._retry_tokens.replay(request.retry_token, request.fingerprint)
            if replayed is not None:
                return self._resources[replayed[1]]
            if request.availability_domain not in self.availability_domains.names(region):
                raise errors.InvalidParameter(
                    f"Invalid availabilityDomain {request.availability_domain!r}: not an availability domain of {region}."
                )
            backup = self.backups.get(region, kind.backup, request.backup_id)
            if backup.lifecycle_state != "AVAILABLE":
                raise errors.IncorrectState(
                    f"{kind.backup_label} {backup.id} is {backup.lifecycle_state}; only an AVAILABLE backup can be restored."
                )
            resource: Resource
            if kind is RESTORED_VOLUME_GROUP:
                resource = self._restore_group(region, backup, request)
            else:
                resource = self._restore_volume(region, kind, backup, request)
            self._retry_tokens.remember(request.retry_token, request.fingerprint, region, resource.id)
            return resource

    def get(self, region: str, kind: VolumeKind, resource_id: str) -> Resource:
        """The live resource; callers hold `lock` while they use it."""
        resource = self._resources.get(resource_id)
        if resource is None or resource.region != region or resource.kind is not kind:
            raise errors.NotAuthorizedOrNotFound()
        return resource

    def render(self, resource: Resource) -> dict[str, Any]:
        if isinstance(resource, VolumeGroup):
            members = [self._resources[member_id] for member_id in resource.member_ids]
            return resource.to_json(sum(m.size_in_gbs for m in members if isinstance(m, Volume)))
        return resource.to_json()

    def page(
        self,
        region: str,
        kind: VolumeKind,
        filters: dict[str, str],
        sort_by: str,
        descending: bool,
        offset: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the resources of `kind` whose API fields equal every filter, and whether
        more follow. Without an availabilityDomain filter they are grouped by availability domain,
        then sorted (list_volumes' docstring: "If you call one of these "List" operations without
        specifying an availability domain, the resources are grouped by availability domain, then
        sorted")."""
        with self.lock:
            rendered = [self.render(r) for r in self._resources.values() if r.region == region and r.kind is kind]
        found = [r for r in rendered if all(r.get(name) == value for name, value in filters.items())]
        # The id tie-break keeps pages stable when sort keys repeat.
        found.sort(key=lambda r: (r["timeCreated" if sort_by == "TIMECREATED" else "displayName"], r["id"]))
        if descending:
            found.reverse()
        if "availabilityDomain" not in filters:
            found.sort(key=lambda r: str(r["availabilityDomain"]))
        return found[offset : offset + limit], offset + limit < len(found)

    def update(
        self, region: str, kind: VolumeKind, resource_id: str, details: dict[str, Any], if_match: str | None
    ) -> Resource:
        with self.lock:
            resource = self.get(region, kind, resource_id)
            fields.check_etag(resource, if_match)
            refuse_fields(details, kind.update_fields, kind.modelled_update_fields)
            if resource.lifecycle_state in GONE:
                raise errors.IncorrectState(
                    f"{kind.label} {resource_id} is {resource.lifecycle_state}; it cannot be updated."
                )
            # Every field is checked before any is applied: a refused update changes nothing.
            changes: dict[str, Any] = {}
            if "freeformTags" in details:
                # The map replaces the old one whole, as in OCI.
                changes["freeform_tags"] = fields.freeform_tags(details["freeformTags"])
            if "definedTags" in details:
                changes["defined_tags"] = fields.defined_tags(details["definedTags"])
            if "displayName" in details:
                changes["display_name"] = fields.display_name(details["displayName"])
            if "vpusPerGB" in details:
                changes["vpus_per_gb"] = checked_vpus_per_gb(kind, details["vpusPerGB"])
            if "sizeInGBs" in details and isinstance(resource, Volume):
                changes["size_in_gbs"] = _larger_size(resource, details["sizeInGBs"])
            if "volumeIds" in details and isinstance(resource, VolumeGroup):
                self._regroup(resource, details["volumeIds"])
            for name, value in changes.items():
                setattr(resource, name, value)
            resource.etag = new_etag()
            return resource

    def delete(self, region: str, kind: VolumeKind, resource_id: str, if_match: str | None) -> None:
        with self.lock:
            resource = self.get(region, kind, resource_id)
            fields.check_etag(resource, if_match)
            if resource.lifecycle_state == "TERMINATED":
                raise errors.NotAuthorizedOrNotFound()
            if resource.lifecycle_state == "TERMINATING":
                raise errors.IncorrectState(f"{kind.label} {resource_id} is TERMINATING; it cannot be deleted again.")
            if isinstance(resource, Volume):
                if resource.volume_group_id is not None:
                    raise errors.Conflict(
                        f"{kind.label} {resource_id} may not be deleted while it is assigned to volume group "
                        f"{resource.volume_group_id}"
                    )
                if self.attachments.holding(resource_id) is not None:
                    raise errors.Conflict(
                        f"{kind.label} {resource_id} may not be deleted while attached to an Instance."
                    )
            _set_state(resource, "TERMINATING")

    # What a test does to the world (the Emulator facade)

    def seed(
        self,
        kind_name: str,
        region: str,
        compartment_id: str,
        *,
        availability_domain: str | None = None,
        display_name: str | None = None,
        lifecycle_state: str = "AVAILABLE",
        size_in_gbs: int = 50,
        vpus_per_gb: int = DEFAULT_VPUS_PER_GB,
        freeform_tags: dict[str, str] | None = None,
        defined_tags: dict[str, dict[str, Any]] | None = None,
        source_details: dict[str, str] | None = None,
        kms_key_id: str | None = None,
        is_hydrated: bool = True,
        time_created: datetime | None = None,
        members: list[str] | None = None,
    ) -> dict[str, Any]:
        """A volume, boot volume or volume group as OCI would hold it; a group holds `members`
        (existing volumes and boot volumes of the region, not in another group)."""
        kind = VOLUME_KINDS.get(kind_name)
        if kind is None:
            raise ValueError(f"unknown kind {kind_name!r}; expected one of {sorted(VOLUME_KINDS)}")
        if canonical_region(region) != region:
            raise ValueError(f"unknown region {region!r}; use a long name such as us-phoenix-1")
        if lifecycle_state not in kind.lifecycle_states:
            raise ValueError(
                f"unknown {kind.label.lower()} state {lifecycle_state!r}; expected one of {kind.lifecycle_states}"
            )
        if members is not None and kind is not RESTORED_VOLUME_GROUP:
            raise ValueError("only a volume group has members")
        domain = availability_domain or self.availability_domains.names(region)[0]
        common: dict[str, Any] = {
            "id": new_ocid(kind.resource_type, region),
            "region": region,
            "compartment_id": compartment_id,
            "availability_domain": domain,
            "display_name": display_name or kind.name,
            "lifecycle_state": lifecycle_state,
            "source_details": dict(source_details) if source_details else None,
            "freeform_tags": dict(freeform_tags or {}),
            "defined_tags": fields.copy_defined(defined_tags or {}),
            "is_hydrated": is_hydrated,
            "time_created": time_created or datetime.now(UTC),
        }
        with self.lock:
            resource: Resource
            if kind is RESTORED_VOLUME_GROUP:
                resource = VolumeGroup(**common)
                self._resources[resource.id] = resource
                try:
                    self._regroup(resource, members or [])
                except errors.ServiceError as refused:
                    del self._resources[resource.id]
                    raise ValueError(refused.message) from None
            else:
                resource = Volume(
                    kind=kind, size_in_gbs=size_in_gbs, vpus_per_gb=vpus_per_gb, kms_key_id=kms_key_id, **common
                )
                self._resources[resource.id] = resource
            return self.render(resource)

    def begin_restoring(self, resource_id: str | None = None) -> int:
        """PROVISIONING volumes and boot volumes (a group's members, for a group) become RESTORING."""
        with self.lock:
            moving = [v for v in self._volumes_of(resource_id) if v.lifecycle_state == "PROVISIONING"]
            for volume in moving:
                _set_state(volume, "RESTORING")
            return len(moving)

    def finish_restores(self, resource_id: str | None = None) -> int:
        """Restores in progress (every one, or one resource and, for a group, its members) become
        AVAILABLE; a group whose members are all AVAILABLE becomes AVAILABLE too."""
        with self.lock:
            targets = self._targets(resource_id)
            moving = [r for r in targets if r.lifecycle_state in RESTORING_STATES]
            for resource in moving:
                _set_state(resource, "AVAILABLE")
            return len(moving) + self._settle_groups()

    def fail_restore(self, resource_id: str) -> None:
        """The restore failed: the resource (and a group's members still restoring) become FAULTY."""
        with self.lock:
            for resource in self._targets(resource_id):
                if resource.id == resource_id or resource.lifecycle_state in RESTORING_STATES:
                    _set_state(resource, "FAULTY")

    def hydrate(self, resource_id: str | None = None) -> int:
        """The data has finished copying: AVAILABLE resources (every one, or one and a group's
        members) report isHydrated true."""
        with self.lock:
            targets = self._targets(resource_id)
            if resource_id is not None and targets[0].lifecycle_state != "AVAILABLE":
                raise ValueError(f"{resource_id} is {targets[0].lifecycle_state}; only an AVAILABLE resource hydrates")
            drying = [r for r in targets if r.lifecycle_state == "AVAILABLE" and not r.is_hydrated]
            for resource in drying:
                resource.is_hydrated = True
                resource.etag = new_etag()
            return len(drying)

    def set_state(self, resource_id: str, state: str) -> None:
        with self.lock:
            resource = self._find(resource_id)
            if state not in resource.kind.lifecycle_states:
                raise ValueError(f"unknown state {state!r}; expected one of {resource.kind.lifecycle_states}")
            _set_state(resource, state)

    def set_freeform_tags(self, resource_id: str, tags: dict[str, str]) -> None:
        """What an operator's edit in the console does: the tags replaced, a new ETag."""
        with self.lock:
            resource = self._find(resource_id)
            resource.freeform_tags = dict(tags)
            resource.etag = new_etag()

    def set_group_members(self, group_id: str, volume_ids: list[str]) -> None:
        """What an operator's UpdateVolumeGroup with volumeIds does: the group's members replaced, a new ETag."""
        with self.lock:
            group = self._find(group_id)
            if not isinstance(group, VolumeGroup):
                raise ValueError(f"{group_id} is no volume group")
            self._regroup(group, volume_ids)
            group.etag = new_etag()

    def finish_deletions(self) -> int:
        """TERMINATING resources become TERMINATED; a terminated group's members leave it."""
        with self.lock:
            ending = [r for r in self._resources.values() if r.lifecycle_state == "TERMINATING"]
            for resource in ending:
                _set_state(resource, "TERMINATED")
                if isinstance(resource, VolumeGroup):
                    for member_id in resource.member_ids:
                        member = self._resources[member_id]
                        if isinstance(member, Volume) and member.volume_group_id == resource.id:
                            member.volume_group_id = None
                            member.etag = new_etag()
            return len(ending)

    def attach(
        self, volume_id: str, *, instance_id: str | None, compartment_id: str | None, lifecycle_state: str
    ) -> dict[str, Any]:
        with self.lock:
            volume = self._find(volume_id)
            if not isinstance(volume, Volume) or volume.lifecycle_state in GONE:
                raise ValueError(f"{volume_id} is not a live volume or boot volume; only those attach")
            attachment = self.attachments.add(
                boot=volume.kind is RESTORED_BOOT_VOLUME,
                region=volume.region,
                compartment_id=compartment_id or volume.compartment_id,
                availability_domain=volume.availability_domain,
                volume_id=volume.id,
                instance_id=instance_id,
                lifecycle_state=lifecycle_state,
            )
            return attachment.to_json()

    def find(self, resource_id: str) -> dict[str, Any]:
        with self.lock:
            return self.render(self._find(resource_id))

    def compartment_of(self, resource_id: str) -> str | None:
        """The compartment of a volume, boot volume or volume group; None when the OCID is not one (IAM's lookup)."""
        with self.lock:
            resource = self._resources.get(resource_id)
            return resource.compartment_id if resource is not None else None

    def listing(self, region: str, kind_name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                self.render(r)
                for r in self._resources.values()
                if r.region == region and kind_name in (None, r.kind.name)
            ]

    def restores_of(self, backup_id: str, region: str | None = None) -> list[dict[str, Any]]:
        """Every resource restored from `backup_id`, by its sourceDetails."""
        with self.lock:
            return [
                self.render(r)
                for r in self._resources.values()
                if r.source_details is not None
                and backup_id in r.source_details.values()
                and region in (None, r.region)
            ]

    def clear(self) -> None:
        with self.lock:
            self._resources.clear()
            self.attachments.clear()

    # Inside

    def _restore_volume(
        self,
        region: str,
        kind: VolumeKind,
        backup: RestorableBackup,
        request: RestoreRequest,
        *,
        group_id: str | None = None,
    ) -> Volume:
        size = backup.size_in_gbs if request.size_in_gbs is None else request.size_in_gbs
        if size < backup.size_in_gbs:
            raise errors.InvalidParameter(
                f"sizeInGBs ({size}) must be at least the size of {kind.backup_label.lower()} {backup.id} "
                f"({backup.size_in_gbs} GB)."
            )
        if request.kms_key_id and not self.backups.knows_kms_key(region, request.kms_key_id):
            # As a copy answers an unknown key (models.py): not found or not authorized.
            raise errors.NotAuthorizedOrNotFound(
                f"KMS key {request.kms_key_id} not found or not authorized in {region}."
            )
        volume = Volume(
            id=new_ocid(kind.resource_type, region),
            kind=kind,
            region=region,
            compartment_id=request.compartment_id,
            availability_domain=request.availability_domain,
            display_name=request.display_name or backup.display_name,
            lifecycle_state="PROVISIONING",
            size_in_gbs=size,
            vpus_per_gb=DEFAULT_VPUS_PER_GB if request.vpus_per_gb is None else request.vpus_per_gb,
            source_details={"type": kind.source_type, kind.source_id_field: backup.id},
            kms_key_id=request.kms_key_id,
            freeform_tags={**backup.freeform_tags, **request.freeform_tags},
            defined_tags=_merged_defined(backup.defined_tags, request.defined_tags),
            volume_group_id=group_id,
        )
        self._resources[volume.id] = volume
        return volume

    def _restore_group(self, region: str, backup: RestorableBackup, request: RestoreRequest) -> VolumeGroup:
        kind = RESTORED_VOLUME_GROUP
        group = VolumeGroup(
            id=new_ocid(kind.resource_type, region),
            region=region,
            compartment_id=request.compartment_id,
            availability_domain=request.availability_domain,
            display_name=request.display_name or backup.display_name,
            lifecycle_state="PROVISIONING",
            source_details={"type": kind.source_type, kind.source_id_field: backup.id},
            freeform_tags={**backup.freeform_tags, **request.freeform_tags},
            defined_tags=_merged_defined(backup.defined_tags, request.defined_tags),
        )
        members = []
        for member_id in backup.member_ids:
            member_kind = kind_of_ocid(member_id)
            assert member_kind is not None, member_id
            member_backup = self.backups.get(region, member_kind, member_id)
            # The group's request tags are NOT passed on (see the module docstring): each member
            # carries only its own member backup's tags, and Oracle-provided keys.
            member_request = RestoreRequest(
                compartment_id=group.compartment_id,
                availability_domain=group.availability_domain,
                backup_id=member_id,
                display_name=None,
                size_in_gbs=None,
                vpus_per_gb=None,
                kms_key_id=None,
                freeform_tags={},
                defined_tags={},
                retry_token=None,
                fingerprint="",
            )
            members.append(
                self._restore_volume(
                    region, restored_kind(member_kind), member_backup, member_request, group_id=group.id
                )
            )
        group.member_ids = [member.id for member in members]
        self._resources[group.id] = group
        return group

    def _regroup(self, group: VolumeGroup, volume_ids: object) -> None:
        """Make `volume_ids` the group's members: UpdateVolumeGroup's "Specify the full list of volume
        IDs to include in the volume group. If the volume ID is not specified in the call, it will be
        removed from the volume group." Each must be a live volume or boot volume in the group's
        availability domain and in no other group."""
        if not isinstance(volume_ids, list) or not all(isinstance(v, str) for v in volume_ids):
            raise errors.InvalidParameter("volumeIds must be a list of volume OCIDs.")
        for volume_id in volume_ids:
            volume = self._resources.get(volume_id)
            if not isinstance(volume, Volume) or volume.region != group.region or volume.lifecycle_state in GONE:
                raise errors.NotAuthorizedOrNotFound(f"Volume {volume_id} not found or not authorized.")
            if volume.availability_domain != group.availability_domain:
                raise errors.InvalidParameter(
                    f"Volume {volume_id} is in {volume.availability_domain}, not in the group's "
                    f"{group.availability_domain}."
                )
            if volume.volume_group_id not in (None, group.id):
                raise errors.Conflict(
                    f"Volume {volume_id} is already assigned to volume group {volume.volume_group_id}"
                )
        for member_id in group.member_ids:
            member = self._resources[member_id]
            if isinstance(member, Volume) and member_id not in volume_ids:
                member.volume_group_id = None
                member.etag = new_etag()
        for volume_id in volume_ids:
            volume = self._resources[volume_id]
            assert isinstance(volume, Volume)
            if volume.volume_group_id != group.id:
                volume.volume_group_id = group.id
                volume.etag = new_etag()
        group.member_ids = list(volume_ids)

    def _find(self, resource_id: str) -> Resource:
        resource = self._resources.get(resource_id)
        if resource is None:
            raise KeyError(resource_id)
        return resource

    def _targets(self, resource_id: str | None) -> list[Resource]:
        """Every resource, or one and (a group) its members, the named one first."""
        if resource_id is None:
            return list(self._resources.values())
        resource = self._find(resource_id)
        if isinstance(resource, VolumeGroup):
            return [resource, *(self._resources[member_id] for member_id in resource.member_ids)]
        return [resource]

    def _volumes_of(self, resource_id: str | None) -> list[Volume]:
        return [r for r in self._targets(resource_id) if isinstance(r, Volume)]

    def _settle_groups(self) -> int:
        settled = 0
        for group in [r for r in self._resources.values() if isinstance(r, VolumeGroup)]:
            members = [self._resources[member_id] for member_id in group.member_ids]
            if group.lifecycle_state == "PROVISIONING" and all(m.lifecycle_state == "AVAILABLE" for m in members):
                _set_state(group, "AVAILABLE")
                settled += 1
        return settled


def _set_state(resource: Resource, state: str) -> None:
    resource.lifecycle_state = state
    resource.etag = new_etag()


def _merged_defined(backup: dict[str, dict[str, Any]], request: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged = fields.copy_defined(backup)
    for namespace, values in request.items():
        merged[namespace] = {**merged.get(namespace, {}), **values}
    return merged


def _larger_size(volume: Volume, value: object) -> int:
    # UpdateVolumeDetails.sizeInGBs: "The size to resize the volume to in GBs. Has to be larger
    # than the current size."
    if not isinstance(value, int) or isinstance(value, bool) or not volume.size_in_gbs < value <= MAX_SIZE_IN_GBS:
        raise errors.InvalidParameter(
            f"sizeInGBs must be larger than the current {volume.size_in_gbs} GB and at most {MAX_SIZE_IN_GBS}."
        )
    return value


def refuse_fields(details: dict[str, Any], known: frozenset[str], modelled: frozenset[str]) -> None:
    """400 for a field the API does not have, and for one the emulator does not model (a loud
    refusal rather than a silent pretence)."""
    unknown = sorted(set(details) - known)
    if unknown:
        raise errors.InvalidParameter(f"Unknown field(s) in the request body: {', '.join(unknown)}.")
    unmodelled = sorted(set(details) - modelled)
    if unmodelled:
        raise errors.InvalidParameter(f"Not modelled by the emulator: {', '.join(unmodelled)}.")
