"""Backups and the backend that stores them, one store per region.

All state sits behind one lock because requests arrive on many server
threads at once; methods hand out JSON snapshots, never live objects.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import errors
from .kinds import BOOT_VOLUME, KINDS, VOLUME, VOLUME_GROUP, Kind, kind_named
from .ocids import canonical_region, new_kms_key_ocid, new_ocid

RETRY_TOKEN_LIFETIME_SECONDS = 24 * 3600
LIFECYCLE_STATES = ("CREATING", "AVAILABLE", "TERMINATING", "TERMINATED", "FAULTY", "REQUEST_RECEIVED", "COMMITTED")
# Kinds that count against the per-region limit of concurrent cross-region copies.
LIMITED_KINDS = (VOLUME.name, VOLUME_GROUP.name)


def format_time(moment: datetime) -> str:
    """RFC 3339 with milliseconds and a Z, as OCI renders timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
    size_in_gbs: int = 50
    unique_size_in_gbs: int = 2
    backup_type: str = "INCREMENTAL"
    source_type: str = "MANUAL"
    etag: str = field(default_factory=lambda: secrets.token_hex(16))

    def to_json(self) -> dict[str, Any]:
        """The resource as the API returns it (camelCase, per-kind fields)."""
        common: dict[str, Any] = {
            "compartmentId": self.compartment_id,
            "definedTags": {},
            "displayName": self.display_name,
            "expirationTime": None,
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
                "volumeGroupBackupId": None,
            }
        if self.kind is BOOT_VOLUME:
            return common | {
                "imageId": None,
                "kmsKeyId": self.kms_key_id,
                "systemTags": {},
                "uniqueSizeInGBs": self.unique_size_in_gbs,
                "volumeGroupBackupId": None,
            }
        return common | {
            "sizeInMBs": self.size_in_gbs * 1024,
            "uniqueSizeInGbs": self.unique_size_in_gbs,
            "uniqueSizeInMbs": self.unique_size_in_gbs * 1024,
            "volumeBackupIds": [],
        }


@dataclass(frozen=True)
class CopyRequest:
    destination_region: str
    display_name: str | None
    kms_key_id: str | None
    retry_token: str | None
    fingerprint: str  # identifies the request for retry-token replay


@dataclass(frozen=True)
class _RetryRecord:
    fingerprint: str
    region: str
    backup_id: str
    expires_at: float


class Backend:
    """Every region's backups, KMS keys and the tenancy-wide copy bookkeeping."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.copy_limit: int | None = 10
        self._stores: dict[str, dict[str, Backup]] = {}
        self._kms_keys: dict[str, set[str]] = {}
        self._retry_tokens: dict[str, _RetryRecord] = {}

    def _store(self, region: str) -> dict[str, Backup]:
        return self._stores.setdefault(region, {})

    def add_backup(
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
    ) -> dict[str, Any]:
        backup_kind = kind_named(kind)
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
            )
            self._store(region)[backup.id] = backup
            return backup.to_json()

    def add_kms_key(self, region: str) -> str:
        key_id = new_kms_key_ocid(region)
        with self.lock:
            self._kms_keys.setdefault(region, set()).add(key_id)
        return key_id

    def get(self, region: str, kind: Kind, backup_id: str) -> Backup:
        """The live backup; callers must hold `lock` while they use it."""
        backup = self._store(region).get(backup_id)
        if backup is None or backup.kind is not kind:
            raise errors.NotAuthorizedOrNotFound()
        return backup

    def matching(self, region: str, kind: Kind, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Backups of `kind` whose JSON fields equal every filter value."""
        with self.lock:
            resources = [b.to_json() for b in self._store(region).values() if b.kind is kind]
        return [r for r in resources if all(r.get(name) == value for name, value in filters.items())]

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
            if request.kms_key_id and request.kms_key_id not in self._kms_keys.get(destination, ()):
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
                size_in_gbs=source.size_in_gbs,
                unique_size_in_gbs=source.unique_size_in_gbs,
                backup_type=source.backup_type,
                source_type=source.source_type,
            )
            self._store(destination)[copy.id] = copy
            if request.retry_token:
                self._retry_tokens[request.retry_token] = _RetryRecord(
                    request.fingerprint,
                    destination,
                    copy.id,
                    time.time() + RETRY_TOKEN_LIFETIME_SECONDS,
                )
            return copy

    def _replay(self, request: CopyRequest) -> Backup | None:
        """The resource an earlier request with the same retry token created."""
        if not request.retry_token:
            return None
        record = self._retry_tokens.get(request.retry_token)
        if record is None or record.expires_at < time.time():
            return None
        if record.fingerprint != request.fingerprint:
            raise errors.Conflict("The opc-retry-token was already used for a different request")
        return self._store(record.region)[record.backup_id]

    def _check_copy_limits(self, source: Backup) -> None:
        creating = [
            b
            for store in self._stores.values()
            for b in store.values()
            if b.source_backup_id is not None and b.lifecycle_state == "CREATING"
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
        backup.etag = secrets.token_hex(16)

    def _find(self, backup_id: str) -> Backup | None:
        return next((store[backup_id] for store in self._stores.values() if backup_id in store), None)


__all__ = ["KINDS", "Backend", "Backup", "CopyRequest", "format_time"]
