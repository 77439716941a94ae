"""{"action": "report"} end to end: fdk socket, real SDK and signer, the emulator's Block Storage and Monitoring.

Every test seeds its own compartment. Backups are placed a whole number of hours ago at the
moment of seeding, and the report runs within seconds, so each rpoHours is checked against the
hours seeded to a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup_copier.shared import metrics
from blockstorage_emulator import Emulator, Fault
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, FunctionFactory, new_compartment, seed_copy_of

ASHBURN, FRANKFURT = DESTINATION_REGION, "eu-frankfurt-1"
MINUTE = 1 / 60


class Seeder:
    """Source backups of named volumes, placed relative to one moment."""

    def __init__(self, emulator: Emulator, compartment: str) -> None:
        self.emulator = emulator
        self.compartment = compartment
        self.now = datetime.now(UTC)

    def backup(self, kind: str, volume: str, hours_ago: float, **options: Any) -> dict[str, Any]:
        return self.emulator.add_backup(
            kind,
            options.pop("region", SOURCE_REGION),
            self.compartment,
            time_created=self.now - timedelta(hours=hours_ago),
            volume_id=volume,
            display_name=f"{volume.split('.')[-1]}-{hours_ago}h",
            **options,
        )

    def copy(self, source: dict[str, Any], region: str, state: str = "AVAILABLE") -> None:
        seed_copy_of(self.emulator, self.compartment, source, region, state=state)


def _volume(kind: str, name: str) -> str:
    return f"ocid1.{kind.replace('_', '')}.oc1.phx.{name}"


def _report(process: FunctionProcess, compartment: str, deadline: float = 30.0, **fields: Any) -> dict[str, Any]:
    answer = process.invoke({"action": "report", "compartmentId": compartment, **fields}, deadline_seconds=deadline)
    result: dict[str, Any] = answer.json()
    assert answer.status == (502 if result["outcome"] in ("failed", "rejected") else 200), result
    return result


def _posted(emulator: Emulator, compartment: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for metric in emulator.posted_metrics(compartment):
        key = (metric.name, tuple(sorted(metric.dimensions.items())))
        assert key not in found, f"stream posted twice: {key}"
        [point] = metric.datapoints
        found[key] = point["value"]
    return found


# The scenario: six volumes, the three kinds, two destination regions.

V1 = _volume("volume", "fresh")
V2 = _volume("boot_volume", "stale")
V3 = _volume("volume_group", "uncovered")
V4 = _volume("volume", "inflight")
V5 = _volume("boot_volume", "faulty")
V6 = _volume("volume_group", "half")
# (status, rpoHours, inFlight, faulty) per region, as seeded below.
EXPECTED = {
    V3: ("uncovered", {ASHBURN: ("uncovered", 40, False, 0), FRANKFURT: ("uncovered", 40, False, 0)}),
    V6: ("uncovered", {ASHBURN: ("covered", 5, False, 0), FRANKFURT: ("uncovered", 5, False, 0)}),
    V2: ("breaching", {ASHBURN: ("breaching", 50, False, 0), FRANKFURT: ("breaching", 50, False, 0)}),
    V5: ("breaching", {ASHBURN: ("breaching", 30, False, 1), FRANKFURT: ("covered", 8, False, 0)}),
    V4: ("covered", {ASHBURN: ("covered", 12, True, 0), FRANKFURT: ("covered", 12, False, 0)}),
    V1: ("covered", {ASHBURN: ("covered", 6, False, 0), FRANKFURT: ("covered", 6, False, 0)}),
}


@pytest.fixture
def scenario(emulator: Emulator) -> Iterator[Seeder]:
    seed = Seeder(emulator, new_compartment())
    # Fresh: copied everywhere, 6 h ago. An older copied backup, one outside the window and one
    # still being made in the source change nothing.
    for hours in (30, 6, 800):
        backup = seed.backup("volume", V1, hours)
        seed.copy(backup, ASHBURN)
        seed.copy(backup, FRANKFURT)
    seed.backup("volume", V1, 1, lifecycle_state="CREATING")
    # Stale: the newest copy everywhere is of the backup 50 h ago; the one 20 h ago has none.
    backup = seed.backup("boot_volume", V2, 50)
    seed.copy(backup, ASHBURN)
    seed.copy(backup, FRANKFURT)
    seed.backup("boot_volume", V2, 20)
    # Uncovered: no copy anywhere; the oldest backup seen, 40 h ago, is the lower bound.
    seed.backup("volume_group", V3, 40)
    seed.backup("volume_group", V3, 10)
    # In flight: the backup 2 h ago is being copied to Ashburn; 12 h ago is copied everywhere.
    backup = seed.backup("volume", V4, 12)
    seed.copy(backup, ASHBURN)
    seed.copy(backup, FRANKFURT)
    seed.copy(seed.backup("volume", V4, 2), ASHBURN, "CREATING")
    # Faulty: the copy of 8 h ago failed in Ashburn, so 30 h ago is its recovery point there.
    backup = seed.backup("boot_volume", V5, 30)
    seed.copy(backup, ASHBURN)
    seed.copy(backup, FRANKFURT)
    backup = seed.backup("boot_volume", V5, 8)
    seed.copy(backup, ASHBURN, "FAULTY")
    seed.copy(backup, FRANKFURT)
    # Half: copied to Ashburn only.
    seed.copy(seed.backup("volume_group", V6, 5), ASHBURN)
    # A copy made into the source region from Frankfurt belongs to Frankfurt's report.
    foreign = seed.backup("volume", _volume("volume", "elsewhere"), 3, region=FRANKFURT)
    seed.copy(foreign, SOURCE_REGION)
    yield seed


def test_each_volume_and_region_gets_its_recovery_point(
    emulator: Emulator, function: FunctionFactory, scenario: Seeder
) -> None:
    process = function()
    result = _report(process, scenario.compartment, destinationRegions=[ASHBURN, "fra"])

    assert result["outcome"] == "at_risk"
    assert result["reasonCode"] == "RecoveryPointAtRisk"
    assert result["reason"].startswith("4 of 6 volumes are at risk: 2 uncovered")
    assert result["scanComplete"] is True
    assert result["destinationRegions"] == [ASHBURN, FRANKFURT]
    assert result["totals"] == {"volumes": 6, "covered": 2, "breaching": 2, "uncovered": 2}
    assert result["byRegion"] == [
        {"destinationRegion": ASHBURN, "covered": 3, "breaching": 2, "uncovered": 1},
        {"destinationRegion": FRANKFURT, "covered": 3, "breaching": 1, "uncovered": 2},
    ]
    # Each volume group backup holds two volume backups, reported through their group.
    assert result["skippedByReason"] == {"CopyOfAnotherBackup": 1, "NotAvailable": 1, "VolumeGroupMember": 6}
    # Worst first: uncovered, then breaching, then covered, the staler first within each.
    assert [volume["resourceId"] for volume in result["volumes"]] == list(EXPECTED)
    for volume in result["volumes"]:
        status, regions = EXPECTED[volume["resourceId"]]
        assert volume["status"] == status, volume
        assert [region["destinationRegion"] for region in volume["regions"]] == [ASHBURN, FRANKFURT]
        for region in volume["regions"]:
            want_status, hours, in_flight, faulty = regions[region["destinationRegion"]]
            assert region["status"] == want_status, (volume["resourceId"], region)
            assert abs(region["rpoHours"] - hours) <= MINUTE, (volume["resourceId"], region)
            assert (region["inFlight"], region["faulty"]) == (in_flight, faulty), (volume["resourceId"], region)
            assert (region["newestCopiedBackupTime"] is None) == (want_status == "uncovered")
    fresh = result["volumes"][-1]
    assert fresh["backups"] == 2
    assert fresh["newestBackupTime"] == (scenario.now - timedelta(hours=6)).isoformat(timespec="seconds")[:19] + "Z"
    assert fresh["displayName"] == "fresh-6h"
    assert result["volumesOmitted"] == 0


def test_the_recovery_points_are_posted_as_metrics(
    emulator: Emulator, function: FunctionFactory, scenario: Seeder
) -> None:
    result = _report(function(), scenario.compartment, destinationRegions=[ASHBURN, FRANKFURT])

    posted = _posted(emulator, scenario.compartment)
    assert (result["metricsPosted"], result["metricsFailed"], result["metricsReason"]) == (16, 0, None)
    assert len(posted) == 16
    kinds = {V1: "volume", V2: "boot_volume", V3: "volume_group", V4: "volume", V5: "boot_volume", V6: "volume_group"}
    for volume, (_, regions) in EXPECTED.items():
        for region, (_, hours, _, _) in regions.items():
            key = ("copy_rpo_hours", (("destinationRegion", region), ("kind", kinds[volume]), ("resourceId", volume)))
            assert abs(posted[key] - hours) <= MINUTE, key
    for name, by_region in (
        ("volumes_breaching", {ASHBURN: 2, FRANKFURT: 1}),
        ("volumes_uncovered", {ASHBURN: 1, FRANKFURT: 2}),
    ):
        for region, count in by_region.items():
            assert posted[(name, (("destinationRegion", region),))] == count
    assert {m.namespace for m in emulator.posted_metrics(scenario.compartment)} == {"backup_copier"}
    assert {m.region for m in emulator.posted_metrics(scenario.compartment)} == {SOURCE_REGION}


def test_the_log_line_is_the_answer(emulator: Emulator, function: FunctionFactory, scenario: Seeder) -> None:
    process = function()
    result = _report(process, scenario.compartment, destinationRegions=[ASHBURN, FRANKFURT])

    [line] = [line for line in process.log_lines() if line.get("callId") == result["callId"]]
    assert line["level"] == "INFO"
    for key in ("outcome", "totals", "byRegion", "volumes", "metricsPosted", "metricsFailed", "scanComplete"):
        assert line[key] == result[key], key


def test_a_compartment_within_target_is_reported(emulator: Emulator, function: FunctionFactory) -> None:
    seed = Seeder(emulator, new_compartment())
    for kind in ("volume", "boot_volume", "volume_group"):
        seed.copy(seed.backup(kind, _volume(kind, "ok"), 25.5), ASHBURN)

    result = _report(function(), seed.compartment)

    assert (result["outcome"], result["reasonCode"]) == ("reported", None)
    assert result["reason"] == "all 3 volumes have a copy less than 26 h old in every destination region"
    assert result["totals"] == {"volumes": 3, "covered": 3, "breaching": 0, "uncovered": 0}
    assert all(abs(v["regions"][0]["rpoHours"] - 25.5) <= MINUTE for v in result["volumes"])
    posted = _posted(emulator, seed.compartment)
    assert posted[("volumes_breaching", (("destinationRegion", ASHBURN),))] == 0


def test_a_scope_holding_only_copies_says_what_it_read(emulator: Emulator, function: FunctionFactory) -> None:
    """A function deployed in the DR region reads only copies made from elsewhere: the answer says
    what it read, so the operator sees the region is wrong."""
    seed = Seeder(emulator, new_compartment())
    original = seed.backup("volume", _volume("volume", "elsewhere"), 6, region="eu-frankfurt-1")
    seed.backup("volume", _volume("volume", "elsewhere"), 5, source_backup_id=original["id"])
    seed.backup("volume", _volume("volume", "gone"), 4, lifecycle_state="TERMINATED")

    result = _report(function(), seed.compartment)

    assert (result["outcome"], result["reasonCode"]) == ("failed", "NoVolumesFound")
    assert "(2 backups read, none of a volume to report (1 CopyOfAnotherBackup, 1 NotAvailable))" in result["reason"]


def test_the_target_is_the_setting(emulator: Emulator, function: FunctionFactory) -> None:
    seed = Seeder(emulator, new_compartment())
    seed.copy(seed.backup("volume", _volume("volume", "daily"), 25.5), ASHBURN)

    result = _report(function(RPO_TARGET_HOURS="24"), seed.compartment)

    assert result["outcome"] == "at_risk"
    assert result["rpoTargetHours"] == 24
    assert result["totals"]["breaching"] == 1


def test_an_empty_compartment_is_not_a_healthy_answer_and_still_posts_its_zero_counts(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Issue 24: a schedule pointed at the wrong compartment must not stay quiet."""
    compartment = new_compartment()

    result = _report(function(), compartment)

    assert (result["outcome"], result["reasonCode"]) == ("failed", "NoVolumesFound")
    assert result["reason"].startswith(
        f"no volume to report: the report read compartment {compartment} (1 compartment) in us-phoenix-1, "
        "the region the function runs in, and found no backup of volume, boot_volume, volume_group made in the "
        "last 720 h (0 backups read)."
    )
    assert 'run the check ({"action": "check"})' in result["reason"]
    assert result["totals"] == {"volumes": 0, "covered": 0, "breaching": 0, "uncovered": 0}
    assert result["volumes"] == []
    assert _posted(emulator, compartment) == {
        ("volumes_breaching", (("destinationRegion", ASHBURN),)): 0,
        ("volumes_uncovered", (("destinationRegion", ASHBURN),)): 0,
    }


def test_more_than_fifty_streams_go_in_batches(emulator: Emulator, function: FunctionFactory) -> None:
    seed = Seeder(emulator, new_compartment())
    for index in range(30):
        backup = seed.backup("volume", _volume("volume", f"v{index}"), 1 + index)
        seed.copy(backup, ASHBURN)
        seed.copy(backup, FRANKFURT)

    result = _report(function(), seed.compartment, destinationRegions=[ASHBURN, FRANKFURT])

    # 30 volumes x 2 regions + 2 counts x 2 regions.
    assert (result["metricsPosted"], result["metricsFailed"]) == (64, 0)
    calls = [r for r in emulator.requests if r.operation == "post_metrics"]
    assert [r.status for r in calls] == [200, 200]
    assert len(_posted(emulator, seed.compartment)) == 64


@pytest.fixture
def stale(emulator: Emulator) -> Seeder:
    seed = Seeder(emulator, new_compartment())
    seed.copy(seed.backup("volume", _volume("volume", "stale"), 40), ASHBURN)
    return seed


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "NotAuthorized"), (429, "TooManyRequests"), (500, "InternalServerError"), (503, "ServiceUnavailable")],
)
def test_refused_posting_is_in_the_answer_and_the_report_still_answered(
    emulator: Emulator, function: FunctionFactory, stale: Seeder, status: int, code: str
) -> None:
    emulator.inject(Fault(operation="post_metrics", status=status, code=code, count=10))
    process = function()

    result = _report(process, stale.compartment)

    assert result["outcome"] == "at_risk"
    assert result["totals"]["breaching"] == 1
    assert (result["metricsPosted"], result["metricsFailed"], result["metricsReasonCode"]) == (0, 3, code)
    assert result["metricsReason"].startswith(f"post metrics to Monitoring in {SOURCE_REGION}: {status} {code}")
    attempts = [r for r in emulator.requests if r.operation == "post_metrics"]
    assert len(attempts) == (1 if status == 403 else metrics.ATTEMPTS_PER_CALL)
    [line] = [line for line in process.log_lines() if line.get("callId") == result["callId"]]
    assert line["metricsFailed"] == 3
    assert emulator.posted_metrics(stale.compartment) == []


def test_a_transient_refusal_is_retried(emulator: Emulator, function: FunctionFactory, stale: Seeder) -> None:
    emulator.inject(Fault(operation="post_metrics", status=503, count=1))

    result = _report(function(), stale.compartment)

    assert (result["metricsPosted"], result["metricsFailed"]) == (3, 0)


def test_a_missing_permission_names_the_statement(emulator: Emulator, function: FunctionFactory, stale: Seeder) -> None:
    emulator.deny("post_metrics")

    result = _report(function(), stale.compartment)

    assert result["metricsReasonCode"] == "NotAuthorizedOrNotFound"
    assert metrics.use_metrics_statement(stale.compartment, "backup_copier") in result["metricsReason"]


def test_metrics_off_posts_nothing(emulator: Emulator, function: FunctionFactory, stale: Seeder) -> None:
    result = _report(function(METRICS="off"), stale.compartment)

    assert result["outcome"] == "at_risk"
    assert (result["metricsPosted"], result["metricsFailed"], result["metricsReasonCode"]) == (0, 0, "MetricsOff")
    assert [r for r in emulator.requests if r.operation == "post_metrics"] == []


def test_the_namespace_is_the_setting(emulator: Emulator, function: FunctionFactory, stale: Seeder) -> None:
    _report(function(METRICS_NAMESPACE="dr_copies"), stale.compartment)

    assert {m.namespace for m in emulator.posted_metrics(stale.compartment)} == {"dr_copies"}


def test_a_scan_cut_short_by_the_deadline_posts_nothing(
    emulator: Emulator, function: FunctionFactory, stale: Seeder
) -> None:
    # Every list call takes 0.7 s; with 2.5 s to spend, the six lists cannot all be read.
    emulator.inject(Fault(operation="list", delay_seconds=0.7, count=20))

    result = _report(function(), stale.compartment, deadline=4.5)

    assert result["scanComplete"] is False
    assert (result["outcome"], result["reasonCode"]) == ("failed", "DeadlineReached")
    assert (result["metricsPosted"], result["metricsReasonCode"]) == (0, "ScanIncomplete")
    assert [r for r in emulator.requests if r.operation == "post_metrics"] == []


def test_a_refused_list_fails_the_report(emulator: Emulator, function: FunctionFactory, stale: Seeder) -> None:
    emulator.deny("list", region=ASHBURN, kind="boot_volume")

    result = _report(function(), stale.compartment)

    assert (result["outcome"], result["reasonCode"]) == ("failed", "NotAuthorizedOrNotFound")
    assert result["reason"].startswith(f"list the copies in {ASHBURN} of compartment {stale.compartment}: 404")
    assert [r for r in emulator.requests if r.operation == "post_metrics"] == []
