"""Backups and the backend that stores them, one store per region.

All state sits behind one lock because requests arrive on many server
threads at once; methods hand out JSON snapshots, never live objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from . import errors, fields
from .fields import format_time, new_etag
from .kinds import BOOT_VOLUME, KINDS, VOLUME, VOLUME_GROUP, Kind, kind_named
from .ocids import canonical_region, new_kms_key_ocid, new_ocid
from .retry_tokens import RetryTokens
from .volumes import Volumes

LIFECYCLE_STATES = ("CREATING", "AVAILABLE", "TERMINATING", "TERMINATED", "FAULTY", "REQUEST_RECEIVED", "COMMITTED")
SOURCE_TYPES = ("MANUAL", "SCHEDULED")
# A volume group backup holds one volume backup per volume in the group.
DEFAULT_GROUP_MEMBERS = 2
# Fields each kind's Update*BackupDetails accepts.
UPDATABLE_FIELDS = {
    VOLUME.name: frozenset({"displayName", "freeformTags", "definedTags", "kmsKeyId"}),
    BOOT_VOLUME.name: frozenset({"displayName", "freeformTags", "definedTags", "kmsKeyId"}),
    VOLUME_GROUP.name: frozenset({"displayName", "freeformTags", "definedTags"}),
}
# Kinds that count against the per-region limit of concurrent cross-region copies.
LIMITED_KINDS = (VOLUME.name, VOLUME_GROUP.name)


@dataclass
class Backup:
    id: str
    kind: Kind
    region: str
    compartment_id: str
    display_name: str
    lifecycle_state: str
    time_created: datetime
    parent_id: str
    source_backup_id: str | None = None
    source_region: str | None = None  # set on copies: the region copied from
    kms_key_id: str | None = None
    freeform_tags: dict[str, str] = field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    size_in_gbs: int = 50
    unique_size_in_gbs: int = 2
    backup_type: str = "INCREMENTAL"
    source_type: str = "MANUAL"
    # Set by a backup policy, never on a manual backup (nor, this emulator assumes, on a copy).
    expiration_time: datetime | None = None
    # On a volume backup that belongs to a volume group backup.
    volume_group_backup_id: str | None = None
    # On a volume group backup: its volume backups.
    member_ids: list[str] = field(default_factory=list)
    etag: str = field(default_factory=new_etag)
    # A test's hook (Backend.serve_fields): API fields served as written, over the backend's own.
    served_fields: dict[str, Any] = field(default_factory=dict)
    withheld_fields: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """The resource as the API returns it (camelCase, per-kind fields)."""
        rendered = self._rendered()
        if not self.served_fields and not self.withheld_fields:
            return rendered
        served = rendered | self.served_fields
        return {name: value for name, value in served.items() if name not in self.withheld_fields}

    def _rendered(self) -> dict[str, Any]:
        common: dict[str, Any] = {
            "compartmentId": self.compartment_id,
            "definedTags": fields.copy_defined(self.defined_tags),
            "displayName": self.display_name,
            "expirationTime": format_time(self.expiration_time) if self.expiration_time else None,
            "freeformTags": dict(self.freeform_tags),
            "id": self.id,
            "lifecycleState": self.lifecycle_state,
            "sizeInGBs": self.size_in_gbs,
            "sourceType": self.source_type,
            "timeCreated": format_time(self.time_created),
            "timeRequestReceived": format_time(self.time_created),
            "type": self.backup_type,
            self.kind.parent_field: self.parent_id,
            self.kind.source_field: self.source_backup_id,
        }
        # The per-kind size field spellings are the API's own inconsistencies.
        if self.kind is VOLUME:
            return common | {
                "kmsKeyId": self.kms_key_id,
                "sizeInMBs": self.size_in_gbs * 1024,
                "systemTags": {},
                "uniqueSizeInGBs": self.unique_size_in_gbs,
                "uniqueSizeInMbs": self.unique_size_in_gbs * 1024,
                "volumeGroupBackupId": self.volume_group_backup_id,
            }
        if self.kind is BOOT_VOLUME:
            return common | {
                "imageId": None,
                "kmsKeyId": self.kms_key_id,
                "systemTags": {},
                "uniqueSizeInGBs": self.unique_size_in_gbs,
                # A volume group backup holds its boot volumes' backups too (volume_group_backup.py
                # in the SDK: "OCIDs for the volume backups in this volume group backup").
                "volumeGroupBackupId": self.volume_group_backup_id,
            }
        return common | {
            "sizeInMBs": self.size_in_gbs * 1024,
            "uniqueSizeInGbs": self.unique_size_in_gbs,
            "uniqueSizeInMbs": self.unique_size_in_gbs * 1024,
            "volumeBackupIds": list(self.member_ids),
        }


@dataclass(frozen=True)
class CopyRequest:
    destination_region: str
    display_name: str | None
    kms_key_id: str | None
    retry_token: str | None
    fingerprint: str  # identifies the request for retry-token replay


class Backend:
    """Every region's backups, KMS keys and the tenancy-wide copy bookkeeping; `volumes` holds
    what was restored from the backups (volumes.py), behind the same lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.copy_limit: int | None = 10
        self._stores: dict[str, dict[str, Backup]] = {}
        # (region, compartment) -> its backups: a List names one compartment, and scanning a
        # region of a million backups for each page would make a tenancy-wide listing crawl.
        self._by_compartment: dict[tuple[str, str], dict[str, Backup]] = {}
        self._kms_keys: dict[str, set[str]] = {}
        self._retry_tokens = RetryTokens()
        self.volumes = Volumes(self)

    def _store(self, region: str) -> dict[str, Backup]:
        return self._stores.setdefault(region, {})

    def _put(self, backup: Backup) -> None:
        """Store a new backup; its region and compartment never change afterwards."""
        self._store(backup.region)[backup.id] = backup
        self._by_compartment.setdefault((backup.region, backup.compartment_id), {})[backup.id] = backup

    def add_backup(self, kind: str, region: str, compartment_id: str, **options: Any) -> dict[str, Any]:
        """A backup as OCI would hold it, rendered as the API returns it."""
        return self.seed(kind, region, compartment_id, **options).to_json()

    def seed(
        self,
        kind: str,
        region: str,
        compartment_id: str,
        *,
        display_name: str | None = None,
        lifecycle_state: str = "AVAILABLE",
        time_created: datetime | None = None,
        source_backup_id: str | None = None,
        backup_id: str | None = None,
        freeform_tags: dict[str, str] | None = None,
        volume_id: str | None = None,
        expiration_time: datetime | None = None,
        source_type: str = "MANUAL",
        members: int | None = None,
        boot_members: int = 0,
        size_in_gbs: int = 50,
        defined_tags: dict[str, dict[str, Any]] | None = None,
    ) -> Backup:
        """A backup as OCI would hold it; a volume group backup gets `members` volume backups and
        `boot_members` boot volume backups, each of `size_in_gbs`."""
        backup_kind = kind_named(kind)
        if source_type not in SOURCE_TYPES:
            raise ValueError(f"unknown source type {source_type!r}")
        if (members is not None or boot_members) and backup_kind is not VOLUME_GROUP:
            raise ValueError("only a volume group backup has members")
        if canonical_region(region) != region:
            raise ValueError(f"unknown region {region!r}; use a long name such as us-phoenix-1")
        if lifecycle_state not in LIFECYCLE_STATES:
            raise ValueError(f"unknown lifecycle state {lifecycle_state!r}")
        with self.lock:
            source = self._find(source_backup_id) if source_backup_id else None
            backup = Backup(
                id=backup_id or new_ocid(backup_kind.resource_type, region),
                kind=backup_kind,
                region=region,
                compartment_id=compartment_id,
                display_name=display_name or f"{backup_kind.name}-backup",
                lifecycle_state=lifecycle_state,
                time_created=time_created or datetime.now(UTC),
                parent_id=volume_id or new_ocid(backup_kind.parent_type, region),
                source_backup_id=source_backup_id,
                source_region=source.region if source else None,
                freeform_tags=dict(freeform_tags or {}),
                defined_tags=fields.copy_defined(defined_tags or {}),
                source_type=source_type,
                expiration_time=expiration_time,
                size_in_gbs=size_in_gbs,
            )
            self._put(backup)
            if backup_kind is VOLUME_GROUP:
                member_kinds = [VOLUME] * (DEFAULT_GROUP_MEMBERS if members is None else members)
                for member_kind in member_kinds + [BOOT_VOLUME] * boot_members:
                    member = replace(
                        backup,
                        id=new_ocid(member_kind.resource_type, region),
                        kind=member_kind,
                        parent_id=new_ocid(member_kind.parent_type, region),
                        display_name=f"{backup.display_name}-member",
                        volume_group_backup_id=backup.id,
                        source_backup_id=None,
                        freeform_tags=dict(backup.freeform_tags),
                        defined_tags=fields.copy_defined(backup.defined_tags),
                        member_ids=[],
                        etag=new_etag(),
                    )
                    self._put(member)
                    backup.member_ids.append(member.id)
            return backup

    def add_kms_key(self, region: str, key_id: str | None = None) -> str:
        key_id = key_id or new_kms_key_ocid(region)
        with self.lock:
            self._kms_keys.setdefault(region, set()).add(key_id)
        return key_id

    def knows_kms_key(self, region: str, key_id: str) -> bool:
        with self.lock:
            return key_id in self._kms_keys.get(region, ())

    def get(self, region: str, kind: Kind, backup_id: str) -> Backup:
        """The live backup; callers must hold `lock` while they use it."""
        backup = self._store(region).get(backup_id)
        if backup is None or backup.kind is not kind:
            raise errors.NotAuthorizedOrNotFound()
        return backup

    def page(
        self, region: str, kind: Kind, filters: dict[str, str], sort_by: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the backups of `kind` whose API fields equal every filter value, and
        whether more follow. Filtered and sorted on the objects, rendered a page at a time:
        rendering a whole large region for every page would make listing quadratic."""
        with self.lock:
            candidates = (
                self._by_compartment.get((region, filters["compartmentId"]), {})
                if "compartmentId" in filters
                else self._store(region)
            )
            found = [b for b in candidates.values() if b.kind is kind and _matches(b, filters)]
            # The id tie-break keeps pages stable when sort keys repeat.
            found.sort(
                key=lambda b: (b.time_created if sort_by == "TIMECREATED" else b.display_name, b.id),
                reverse=descending,
            )
            return [b.to_json() for b in found[offset : offset + limit]], offset + limit < len(found)

    def copy(self, source_region: str, kind: Kind, source_id: str, request: CopyRequest) -> Backup:
        with self.lock:
            replayed = self._replay(request)
            if replayed is not None:
                return replayed
            source = self.get(source_region, kind, source_id)
            if source.lifecycle_state != "AVAILABLE":
                raise errors.IncorrectState(
                    f"Backup {source_id} is in state {source.lifecycle_state}; only AVAILABLE backups can be copied."
                )
            destination = canonical_region(request.destination_region)
            if destination is None:
                raise errors.InvalidParameter(f"Invalid destinationRegion: {request.destination_region}")
            if destination == source_region:
                raise errors.InvalidParameter("The destination region must be different from the source region.")
            if request.kms_key_id and not self.knows_kms_key(destination, request.kms_key_id):
                raise errors.NotAuthorizedOrNotFound(
                    f"KMS key {request.kms_key_id} not found or not authorized in {destination}."
                )
            self._check_copy_limits(source)
            copy = Backup(
                id=new_ocid(kind.resource_type, destination),
                kind=kind,
                region=destination,
                compartment_id=source.compartment_id,
                display_name=request.display_name or source.display_name,
                lifecycle_state="CREATING",
                time_created=datetime.now(UTC),
                parent_id=source.parent_id,
                source_backup_id=source.id,
                source_region=source_region,
                kms_key_id=request.kms_key_id,
                freeform_tags=dict(source.freeform_tags),
                defined_tags=fields.copy_defined(source.defined_tags),
                size_in_gbs=source.size_in_gbs,
                unique_size_in_gbs=source.unique_size_in_gbs,
                backup_type=source.backup_type,
                source_type=source.source_type,
            )
            self._put(copy)
            for member_id in source.member_ids:
                # OCI copies a volume group backup with each of its volume backups.
                member = self._store(source_region)[member_id]
                member_copy = replace(
                    member,
                    id=new_ocid(member.kind.resource_type, destination),
                    region=destination,
                    lifecycle_state="CREATING",
                    time_created=copy.time_created,
                    source_backup_id=member.id,
                    source_region=source_region,
                    volume_group_backup_id=copy.id,
                    freeform_tags=dict(member.freeform_tags),
                    expiration_time=None,
                    etag=new_etag(),
                    served_fields={},
                    withheld_fields=frozenset(),
                )
                self._put(member_copy)
                copy.member_ids.append(member_copy.id)
            self._retry_tokens.remember(request.retry_token, request.fingerprint, destination, copy.id)
            return copy

    def _replay(self, request: CopyRequest) -> Backup | None:
        """The resource an earlier request with the same retry token created."""
        replayed = self._retry_tokens.replay(request.retry_token, request.fingerprint)
        return self._store(replayed[0])[replayed[1]] if replayed else None

    def _check_copy_limits(self, source: Backup) -> None:
        creating = [
            b
            for store in self._stores.values()
            for b in store.values()
            # A volume group's member copies are part of its one copy, not copies of their own.
            if b.source_backup_id is not None and b.lifecycle_state == "CREATING" and b.volume_group_backup_id is None
        ]
        if source.kind is BOOT_VOLUME:
            if any(b.kind is BOOT_VOLUME and b.parent_id == source.parent_id for b in creating):
                raise errors.LimitExceeded(
                    f"A copy of a backup of boot volume {source.parent_id} is already in "
                    "progress; only one cross-region copy per boot volume may run at a time."
                )
            return
        in_flight = sum(1 for b in creating if b.source_region == source.region and b.kind.name in LIMITED_KINDS)
        if self.copy_limit is not None and in_flight >= self.copy_limit:
            raise errors.LimitExceeded(
                f"The limit of {self.copy_limit} concurrent cross-region backup copies from "
                f"region {source.region} has been reached; retry after a copy completes."
            )

    def update(self, region: str, kind: Kind, backup_id: str, details: dict[str, Any], if_match: str | None) -> Backup:
        with self.lock:
            backup = self.get(region, kind, backup_id)
            fields.check_etag(backup, if_match)
            unknown = sorted(set(details) - UPDATABLE_FIELDS[kind.name])
            if unknown:
                raise errors.InvalidParameter(f"Unknown field(s) in the request body: {', '.join(unknown)}.")
            if backup.lifecycle_state in ("TERMINATING", "TERMINATED"):
                raise errors.IncorrectState(f"Backup {backup_id} is {backup.lifecycle_state}; it cannot be updated.")
            if "freeformTags" in details:
                # The map replaces the old one whole, as in OCI.
                backup.freeform_tags = fields.freeform_tags(details["freeformTags"])
            if "definedTags" in details:
                backup.defined_tags = fields.defined_tags(details["definedTags"])
            if "displayName" in details:
                backup.display_name = fields.display_name(details["displayName"])
            backup.etag = new_etag()
            return backup

    def delete(self, region: str, kind: Kind, backup_id: str, if_match: str | None) -> None:
        with self.lock:
            backup = self.get(region, kind, backup_id)
            fields.check_etag(backup, if_match)
            if backup.lifecycle_state == "TERMINATED":
                raise errors.NotAuthorizedOrNotFound()
            if backup.lifecycle_state != "AVAILABLE" and backup.lifecycle_state != "FAULTY":
                raise errors.IncorrectState(
                    f"Backup {backup_id} is {backup.lifecycle_state}; it cannot be deleted now."
                )
            self._set_state(backup, "TERMINATING")
            for member_id in backup.member_ids:
                # Deleting a volume group backup deletes the volume backups in it.
                self._set_state(self._store(region)[member_id], "TERMINATING")

    def set_freeform_tags(self, backup_id: str, tags: dict[str, str]) -> None:
        """What an operator's edit in the console does: the tags replaced, a new ETag."""
        with self.lock:
            backup = self._find(backup_id)
            if backup is None:
                raise KeyError(backup_id)
            backup.freeform_tags = dict(tags)
            backup.etag = new_etag()

    def serve_fields(self, backup_id: str, fields: dict[str, Any], withhold: tuple[str, ...] = ()) -> None:
        """From now on, serve `fields` as written and leave out `withhold`, wherever the backup is
        rendered. For what the backend does not model (a retention lock, defined tags) and for an
        item OCI should never send (no id, a timestamp that is not one); lists still sort and
        filter on the backend's own values."""
        with self.lock:
            backup = self._find(backup_id)
            if backup is None:
                raise KeyError(backup_id)
            # New objects, not updates: a volume group's members were copied from it with replace().
            backup.served_fields = dict(fields)
            backup.withheld_fields = frozenset(withhold)

    def finish_deletions(self) -> int:
        """Every TERMINATING backup becomes TERMINATED, as OCI does after a while."""
        with self.lock:
            ending = [
                b for store in self._stores.values() for b in store.values() if b.lifecycle_state == "TERMINATING"
            ]
            for backup in ending:
                self._set_state(backup, "TERMINATED")
            return len(ending)

    def backup(self, backup_id: str) -> dict[str, Any]:
        with self.lock:
            found = self._find(backup_id)
            if found is None:
                raise KeyError(backup_id)
            return found.to_json()

    def backups(self, region: str, kind: str | None = None) -> list[dict[str, Any]]:
        wanted = kind_named(kind) if kind else None
        with self.lock:
            return [b.to_json() for b in self._store(region).values() if wanted is None or b.kind is wanted]

    def copies_of(self, source_backup_id: str, region: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                b.to_json()
                for r, store in self._stores.items()
                for b in store.values()
                if b.source_backup_id == source_backup_id and region in (None, r)
            ]

    def complete_copies(self, region: str | None = None) -> int:
        with self.lock:
            finished = [
                b
                for r, store in self._stores.items()
                for b in store.values()
                if region in (None, r) and b.source_backup_id is not None and b.lifecycle_state == "CREATING"
            ]
            for backup in finished:
                self._set_state(backup, "AVAILABLE")
            return len(finished)

    def set_lifecycle_state(self, backup_id: str, state: str) -> None:
        if state not in LIFECYCLE_STATES:
            raise ValueError(f"unknown lifecycle state {state!r}")
        with self.lock:
            backup = self._find(backup_id)
            if backup is None:
                raise KeyError(backup_id)
            self._set_state(backup, state)

    def _set_state(self, backup: Backup, state: str) -> None:
        backup.lifecycle_state = state
        backup.etag = new_etag()

    def _find(self, backup_id: str) -> Backup | None:
        return next((store[backup_id] for store in self._stores.values() if backup_id in store), None)


def _matches(backup: Backup, filters: dict[str, str]) -> bool:
    """The List operations' query filters, by the API field each one names."""
    values = {
        "compartmentId": backup.compartment_id,
        "displayName": backup.display_name,
        "lifecycleState": backup.lifecycle_state,
        backup.kind.source_field: backup.source_backup_id,
        backup.kind.parent_field: backup.parent_id,
    }
    return all(values.get(name) == value for name, value in filters.items())


__all__ = ["KINDS", "Backend", "Backup", "CopyRequest", "format_time"]
