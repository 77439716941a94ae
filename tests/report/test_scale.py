"""A 2,000-volume compartment: read page by page, reported and posted within the deadline and the function's memory.

In a private emulator, so the session's shared one stays small for the tests that follow. The
figures measured here are quoted in docs/recovery-point.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, new_compartment, seed_copy_of

VOLUMES = 2_000
KINDS = ("volume", "boot_volume", "volume_group")
# The function's memory in func.yaml: the container is killed above it.
MEMORY_LIMIT_MIB = 128
DEADLINE_SECONDS = 120.0


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture(scope="module")
def large(principal: ResourcePrincipal) -> Iterator[tuple[Emulator, FunctionProcess, str, dict[str, int]]]:
    with Emulator() as own:
        own.trust(principal.token, principal.public_key_pem)
        compartment = new_compartment()
        now = datetime.now(UTC)
        expected = {"covered": 0, "breaching": 0, "uncovered": 0}
        for index in range(VOLUMES):
            kind = KINDS[index % 3]
            volume = f"ocid1.{kind.replace('_', '')}.oc1.phx.scale{index:05d}"
            # Two backups a volume, a day apart; every fifth volume has no copy, every fourth
            # of the rest only an old one.
            newest_hours = 1 + index % 20
            backups = [
                own.add_backup(
                    kind, SOURCE_REGION, compartment, volume_id=volume, time_created=now - timedelta(hours=hours)
                )
                for hours in (newest_hours + 24, newest_hours)
            ]
            if index % 5 == 0:
                expected["uncovered"] += 1
            elif index % 4 == 0:
                seed_copy_of(own, compartment, backups[0])
                expected["breaching" if newest_hours + 24 > 26 else "covered"] += 1
            else:
                seed_copy_of(own, compartment, backups[1])
                expected["covered"] += 1
        environment = {
            **principal.environment(),
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": own.endpoint_template,
            "METRICS_ENDPOINT": own.metrics_endpoint_template,
        }
        with FunctionProcess(environment) as process:
            yield own, process, compartment, expected


def test_two_thousand_volumes_fit_the_deadline_and_the_memory(
    large: tuple[Emulator, FunctionProcess, str, dict[str, int]],
) -> None:
    emulator, process, compartment, expected = large
    # Warm the container first, so the peak measured below is the report's, not the imports'.
    process.invoke({"action": "report", "compartmentId": new_compartment()})
    before = _peak_rss_mib(process.pid or 0)
    emulator.clear_requests()

    started = time.monotonic()
    answer = process.invoke({"action": "report", "compartmentId": compartment}, deadline_seconds=DEADLINE_SECONDS)
    elapsed = time.monotonic() - started
    after = _peak_rss_mib(process.pid or 0)
    result = answer.json()

    print(
        f"\n2,000-volume report: {elapsed:.1f} s, peak RSS {before:.0f} -> {after:.0f} MiB, "
        f"{result['scanned']} backups and {result['copiesScanned']} copies read, {result['metricsPosted']} streams posted, "
        f"answer {len(answer.body) / 1024:.0f} KiB"
    )
    assert answer.status == 200, result
    assert result["scanComplete"] is True
    # The volume group backups' own volume backups are listed too, and reported through their group.
    members = sum(len(group["volumeBackupIds"]) for group in emulator.backups(SOURCE_REGION, "volume_group"))
    assert result["scanned"] == 2 * VOLUMES + members
    assert result["totals"] == {"volumes": VOLUMES, **expected}
    assert len(result["volumes"]) == 100
    assert result["volumesOmitted"] == VOLUMES - 100
    assert all(volume["status"] == "uncovered" for volume in result["volumes"])
    assert (result["metricsPosted"], result["metricsFailed"]) == (VOLUMES + 2, 0)
    calls = [r for r in emulator.requests if r.operation == "post_metrics" and r.status == 200]
    assert len(calls) == -(-(VOLUMES + 2) // 50)
    assert elapsed < DEADLINE_SECONDS / 2
    assert after < MEMORY_LIMIT_MIB
    assert len(answer.body) < 100_000
