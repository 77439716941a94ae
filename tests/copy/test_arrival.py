"""backups/arrival.py: the rule that no copy is started that would expire on arrival, in-process.

The rule on the SDK's own models, and the event path's one question to the source region
(among_newest) through the real SDK and signer to the emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oci.core.models import VolumeBackup

from backup_copier.backups.arrival import NewestBackups, among_newest, expires_on_arrival
from backup_copier.shared.clients import BlockStorageClients, resource_principal_signer
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.kinds import SPECS, BackupKind
from backup_copier.shared.retention import RegionRetention, RetentionRule
from backup_copier.shared.retries import AttemptLog
from backup_copier.shared.settings import load_settings
from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, new_compartment

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
VOLUME = SPECS[BackupKind.VOLUME]


def _backup(days_ago: float, backup_id: str = "ocid1.volumebackup.oc1.phx.b", **fields: Any) -> VolumeBackup:
    values: dict[str, Any] = {
        "id": backup_id,
        "lifecycle_state": "AVAILABLE",
        "volume_id": "ocid1.volume.oc1.phx.v",
        "time_created": NOW - timedelta(days=days_ago),
        **fields,
    }
    return VolumeBackup(**values)


def _rule(region_days: RegionRetention | None = None, default_days: int | None = None) -> RetentionRule:
    return RetentionRule(DESTINATION_REGION, region_days, default_days)


@pytest.mark.parametrize(
    ("backup", "rule", "skipped"),
    [
        (_backup(4), _rule(3), True),
        (_backup(2), _rule(3), False),
        (_backup(4), _rule("never"), False),
        (_backup(4), _rule(), False),  # a manual backup without COPY_RETENTION_DAYS: never expires
        (_backup(4), _rule(default_days=3), True),
        (_backup(4, expiration_time=NOW - timedelta(hours=1)), _rule(), True),  # a policy backup's own expiry
        (_backup(4, expiration_time=NOW - timedelta(hours=1)), _rule(30), False),  # the region's key wins
    ],
)
def test_a_copy_past_its_expiry_is_skipped_unless_keep_last_would_keep_it(
    backup: VolumeBackup, rule: RetentionRule, skipped: bool
) -> None:
    asked: list[bool] = []

    def not_newest() -> bool:
        asked.append(True)
        return False

    reason = expires_on_arrival(backup, rule, NOW, not_newest)
    assert (reason is not None) == skipped
    assert asked == ([True] if skipped else []), "keep-last is asked only when the expiry is past"
    assert expires_on_arrival(backup, rule, NOW, lambda: True) is None


def test_newest_ranks_only_what_keep_last_counts_whatever_the_order() -> None:
    newest = NewestBackups(keep=2)
    old, middle, new = (_backup(days, f"ocid1.volumebackup.oc1.phx.{days}") for days in (5, 4, 3))
    member = _backup(1, "ocid1.volumebackup.oc1.phx.m", volume_group_backup_id="ocid1.volumegroupbackup.oc1.phx.g")
    copied_in = _backup(1, "ocid1.volumebackup.oc1.phx.c", source_volume_backup_id="ocid1.volumebackup.oc1.iad.x")
    faulty = _backup(1, "ocid1.volumebackup.oc1.phx.f", lifecycle_state="FAULTY")
    other_volume = _backup(9, "ocid1.volumebackup.oc1.phx.o", volume_id="ocid1.volume.oc1.phx.w")
    for backup in (new, member, old, copied_in, middle, faulty, other_volume, new):
        newest.see(VOLUME, backup)
    assert [newest.holds(VOLUME, b) for b in (old, middle, new, member, copied_in, faulty, other_volume)] == [
        False,
        True,
        True,
        False,
        False,
        False,
        True,
    ]


@pytest.fixture
def clients(emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> BlockStorageClients:
    for name, value in principal.environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        {"DESTINATION_REGION": DESTINATION_REGION, "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template}
    )
    return BlockStorageClients(settings, resource_principal_signer())


def test_the_event_path_lists_past_what_keep_last_does_not_count(
    emulator: Emulator, clients: BlockStorageClients
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "n" * 60
    now = datetime.now(UTC)

    def add(days_ago: float, **options: Any) -> Any:
        created = emulator.add_backup(
            "volume",
            SOURCE_REGION,
            compartment,
            volume_id=volume,
            time_created=now - timedelta(days=days_ago),
            **options,
        )
        return clients.for_region(SOURCE_REGION).get_volume_backup(created["id"]).data

    older, backup = add(6), add(5)
    # Newer than the backup, and none of them counts: a copy made into this region, and a FAULTY one.
    add(2, source_backup_id=older.id)
    add(1, lifecycle_state="FAULTY")

    def ask(about: Any) -> bool:
        invocation = Invocation("CALL1", Deadline(30), AttemptLog())
        return among_newest(clients, invocation, SOURCE_REGION, VOLUME, about, keep=1)

    emulator.clear_requests()
    assert ask(backup) is True
    assert ask(older) is False
    lists = [r for r in emulator.requests if r.operation == "list"]
    # Pages of one: past the copy to the backup itself, then to the first older one, where it stops.
    assert [r.query["limit"] for r in lists] == ["1"] * len(lists)
    assert len(lists) == 3 + 2
    add(0.5)
    assert ask(backup) is False
