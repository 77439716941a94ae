"""The scale benchmark's own parts: the world it seeds, its bodies, its extrapolation and its verdicts.

The timings themselves come from `make bench`, never from a test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_copier.backups.marks import COPY_KEY, EXPIRES_KEY, SOURCE_BACKUP_KEY, record_key
from backup_copier.dispatch import parse_request
from bench.scale import (
    ACTIONS,
    DAYS,
    DEFAULT_WORKERS,
    EXPIRES_AFTER_DAYS,
    ONE_WORKER,
    PER_COMPARTMENT,
    SUBTREE,
    VOLUMES_PER_COMPARTMENT,
    Cell,
    ScaleResult,
    Tenancy,
    _extrapolated,
)
from bench.scale_table import render_scale
from bench.world import DESTINATION_REGION, SOURCE_REGION, World


@pytest.fixture
def tenancy(tmp_path: Path) -> Iterator[Tenancy]:
    world = World.start(tmp_path)
    try:
        yield Tenancy(world)
    finally:
        world.stop()


def test_the_world_is_compartments_of_daily_backups_with_marked_copies(tenancy: Tenancy) -> None:
    tenancy.grow_to(2)
    emulator = tenancy.emulator

    sources = emulator.backups(SOURCE_REGION)
    copies = {copy["id"]: copy for copy in emulator.backups(DESTINATION_REGION)}

    assert len(tenancy.compartments) == 2
    assert {emulator.compartment(c)["compartmentId"] for c in tenancy.compartments} == {emulator.tenancy_id}
    assert len(sources) == 2 * VOLUMES_PER_COMPARTMENT * DAYS
    assert len(copies) == 2 * VOLUMES_PER_COMPARTMENT * (DAYS - 1)
    assert tenancy.backups == len(sources) + len(copies)
    uncopied = [source for source in sources if record_key(DESTINATION_REGION) not in source["freeformTags"]]
    assert len(uncopied) == 2 * VOLUMES_PER_COMPARTMENT  # the newest day's, for the sweep to find
    source = next(source for source in sources if record_key(DESTINATION_REGION) in source["freeformTags"])
    copy = copies[source["freeformTags"][record_key(DESTINATION_REGION)]]
    assert copy["freeformTags"][COPY_KEY] == copy["id"]
    assert copy["freeformTags"][SOURCE_BACKUP_KEY] == copy["sourceVolumeBackupId"] == source["id"]
    assert (copy["compartmentId"], copy["volumeId"]) == (source["compartmentId"], source["volumeId"])
    assert copy["freeformTags"][EXPIRES_KEY] > source["timeCreated"][:10]
    assert EXPIRES_AFTER_DAYS < DAYS  # so the expiry pass has copies due
    tenancy.grow_to(3)
    assert len(tenancy.compartments) == 3 and len(emulator.backups(SOURCE_REGION)) == 3 * 600


@pytest.mark.parametrize("action", ACTIONS)
def test_the_bodies_are_ones_the_function_accepts(tenancy: Tenancy, action: str) -> None:
    tenancy.grow_to(2)

    [whole] = tenancy.bodies(action, SUBTREE)
    each = tenancy.bodies(action, PER_COMPARTMENT)

    assert json.loads(whole) == {
        "action": action,
        "compartmentId": tenancy.emulator.tenancy_id,
        "subtree": True,
        **({} if action == "report" else {"dryRun": True}),
    }
    assert len(each) == 2
    for body in (whole, *each):
        parse_request(body)  # raises InvalidRequest naming the field if the function refused it
    assert tenancy.environment(1)["MAX_CONCURRENCY"] == "1"
    assert tenancy.environment(8)["IDENTITY_ENDPOINT"] == tenancy.emulator.identity_endpoint_template


def test_left_out_cells_lie_on_the_line_through_the_two_largest_measured() -> None:
    measured = [
        Cell("report", 1, ONE_WORKER, 2.0),
        Cell("report", 10, ONE_WORKER, 11.0),  # 1 s a compartment, 1 s fixed
        *(Cell("report", scope, DEFAULT_WORKERS, 1.0 + scope / 10) for scope in (1, 10, 100)),
    ]

    filled = {(c.scope, c.workers): c for c in _extrapolated(measured, (1, 10, 100, 1000)) if c.action == "report"}

    assert filled[(100, ONE_WORKER)].seconds == pytest.approx(101.0)
    assert filled[(1000, ONE_WORKER)].seconds == pytest.approx(1001.0)
    assert filled[(1000, ONE_WORKER)].extrapolated_from == 10
    assert filled[(1000, DEFAULT_WORKERS)].seconds == pytest.approx(101.0)
    assert filled[(10, ONE_WORKER)].extrapolated_from is None
    assert {(c.action, c.seconds) for c in _extrapolated(measured, (1, 10, 100, 1000)) if c.action != "report"} == {
        (action, None) for action in ACTIONS if action != "report"
    }


def _result(one_worker: float, default: float, peak_mib: float) -> ScaleResult:
    cells = []
    for action in ACTIONS:
        for scope in (10, 100, 1000):
            cells.append(Cell(action, scope, ONE_WORKER, one_worker * scope, int(peak_mib * 1024), 6 * scope))
            cells.append(Cell(action, scope, DEFAULT_WORKERS, default * scope, int(peak_mib * 1024), 6 * scope))
    return ScaleResult(SUBTREE, cells, seed_seconds=1.0, backups=1000)


def test_the_verdicts_read_the_targets_of_issue_15() -> None:
    met_table, met = render_scale(_result(one_worker=0.4, default=0.05, peak_mib=100))
    _, missed = render_scale(_result(one_worker=0.2, default=0.05, peak_mib=130))

    assert [(v.name, v.met) for v in met] == [
        ("speed-up at >= 100 compartments", True),
        ("peak RSS at 1,000 compartments", True),
        ("growth with compartments", True),
    ]
    assert [v.met for v in missed] == [False, False, True]
    assert "| report | 1,000 | 400 s | 50.0 s | 8.0x |" in met_table
    assert "about 6,000 compartments" in met_table  # 300 s at 50 ms a compartment
