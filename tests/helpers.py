"""Set-up shared by the test folders: regions, sample events, seeded compartments, and reading the emulator's log.

Fixtures live in conftest.py; everything a test imports by name lives here.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from blockstorage_emulator import Emulator
from blockstorage_emulator.ocids import new_ocid
from local_runtime import samples
from local_runtime.fdk_process import FunctionProcess

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_REGION = "us-phoenix-1"
DESTINATION_REGION = "us-ashburn-1"
COMPARTMENT_ID = samples.load("volume-backup-completed.json")["data"]["compartmentId"]
KINDS = ("volume", "boot_volume", "volume_group")
KIND_SAMPLES = {
    "volume": "volume-backup-completed.json",
    "boot_volume": "boot-volume-backup-completed.json",
    "volume_group": "volume-group-backup-completed.json",
}
KIND_BY_OCID_TYPE = {"volumebackup": "volume", "bootvolumebackup": "boot_volume", "volumegroupbackup": "volume_group"}
# When this test session started: seeded backups are placed relative to it.
NOW = datetime.now(UTC)

FunctionFactory = Callable[..., FunctionProcess]

DELETE = object()


def mutated(event: dict[str, Any], path: str, value: Any) -> bytes:
    """`event` as JSON with the field at dotted `path` set to `value` (or removed: DELETE)."""
    document = copy.deepcopy(event)
    *parents, leaf = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return json.dumps(document).encode()


def event_for(kind: str, backup_id: str, **data: Any) -> dict[str, Any]:
    """The sample event of `kind`, about `backup_id` (a fresh backup, so tests never share state)."""
    event = copy.deepcopy(samples.load(KIND_SAMPLES[kind]))
    event["data"]["resourceId"] = backup_id
    event["data"].update(data)
    return event


def new_compartment() -> str:
    """A compartment no other test uses, so the session's shared emulator never mixes tests' backups."""
    return "ocid1.compartment.oc1..aaaaaaaa" + uuid.uuid4().hex


def seed_backup(
    emulator: Emulator,
    compartment: str,
    kind: str,
    hours_ago: float,
    *,
    state: str = "AVAILABLE",
    copy_state: str | None = None,
    volume_id: str | None = None,
) -> dict[str, Any]:
    """A source backup; with copy_state, also its copy in the destination in that state."""
    created = NOW - timedelta(hours=hours_ago)
    backup = emulator.add_backup(
        kind,
        SOURCE_REGION,
        compartment,
        time_created=created,
        lifecycle_state=state,
        volume_id=volume_id,
        display_name=f"{kind}-{hours_ago:.3f}h",
    )
    if copy_state:
        emulator.add_backup(
            kind,
            DESTINATION_REGION,
            compartment,
            time_created=created + timedelta(minutes=5),
            lifecycle_state=copy_state,
            source_backup_id=backup["id"],
        )
    return backup


def seed_copy_of(
    emulator: Emulator,
    compartment: str,
    source: dict[str, Any],
    region: str = DESTINATION_REGION,
    *,
    state: str = "AVAILABLE",
    minutes_after: float = 5.0,
) -> dict[str, Any]:
    """A copy of `source` in `region`, made `minutes_after` its source, in `state`."""
    return emulator.add_backup(
        KIND_BY_OCID_TYPE[source["id"].split(".")[1]],
        region,
        compartment,
        time_created=datetime.fromisoformat(source["timeCreated"]) + timedelta(minutes=minutes_after),
        lifecycle_state=state,
        source_backup_id=source["id"],
    )


def copies_requested(emulator: Emulator, call_id: str | None = None) -> list[str]:
    """Source backup ids of the copies the emulator made, in the order they were asked for."""
    made: list[str] = []
    for request in emulator.requests:
        if request.operation != "copy" or request.status != 200:
            continue
        if call_id and not request.headers.get("opc-request-id", "").startswith(call_id):
            continue
        backup_id = request.path.split("/")[3]
        if backup_id not in made:
            made.append(backup_id)
    return made


def assert_one_copy_each(emulator: Emulator, backup_ids: list[str], region: str = DESTINATION_REGION) -> None:
    counts = {backup_id: len(emulator.copies_of(backup_id, region)) for backup_id in backup_ids}
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}


# The mark's tag keys, written out: they are a documented interface (docs/retention.md), so a
# change to them must fail here rather than pass silently.
MARK_COPY = "backup-copier-copy"
MARK_SOURCE_BACKUP = "backup-copier-source-backup"
MARK_SOURCE_RESOURCE = "backup-copier-source-resource"
MARK_SOURCE_CREATED = "backup-copier-source-created"
MARK_EXPIRES = "backup-copier-expires"
_RESOURCE_TYPE = {"volume": "volumebackup", "boot_volume": "bootvolumebackup", "volume_group": "volumegroupbackup"}
_RESOURCE_FIELD = {"volume": "volumeId", "boot_volume": "bootVolumeId", "volume_group": "volumeGroupId"}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def seed_copy(
    emulator: Emulator,
    compartment: str,
    kind: str = "volume",
    *,
    hours_ago: float = 48,
    expires: datetime | None = None,
    volume_id: str | None = None,
    state: str = "AVAILABLE",
    marked: bool = True,
    tags: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A source backup and its copy in the destination; with `marked`, the copy carries the
    mark this function writes, naming the copy itself, with `expires` (None: never)."""
    created = NOW - timedelta(hours=hours_ago)
    source = emulator.add_backup(
        kind,
        SOURCE_REGION,
        compartment,
        time_created=created,
        volume_id=volume_id,
        freeform_tags=tags,
        display_name=f"{kind}-{hours_ago:g}h",
    )
    copy_id = new_ocid(_RESOURCE_TYPE[kind], DESTINATION_REGION)
    copy_tags = dict(tags or {})
    if marked:
        copy_tags |= {
            MARK_COPY: copy_id,
            MARK_SOURCE_BACKUP: source["id"],
            MARK_SOURCE_RESOURCE: source[_RESOURCE_FIELD[kind]],
            MARK_SOURCE_CREATED: rfc3339(created),
            MARK_EXPIRES: rfc3339(expires) if expires else "never",
        }
    copy = emulator.add_backup(
        kind,
        DESTINATION_REGION,
        compartment,
        backup_id=copy_id,
        time_created=created + timedelta(minutes=5),
        lifecycle_state=state,
        source_backup_id=source["id"],
        volume_id=source[_RESOURCE_FIELD[kind]],
        freeform_tags=copy_tags,
    )
    return source, copy


def reset_emulator(running: Emulator) -> None:
    """As a test starts: what an earlier test left (faults, denials, copies in flight) is gone.
    Also for a session fixture that uses the emulator before any test of its own does."""
    running.complete_copies()
    running.clear_volumes()
    running.clear_requests()
    running.clear_metrics()
    running.clear_faults()
    running.allow_all()
    running.clear_function_invocations()
    running.copy_limit = 10
