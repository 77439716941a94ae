"""Every pass answers the same from lean records as from the SDK's models (issue 23).

The tenancy (tests/backups/tenancy.py) holds several compartments, all three kinds, marked and
unmarked copies, a FAULTY copy, copies in flight, retention locks and a policy backup's
expiration; here a second destination region, volumes whose old copies are due, a due copy
still being made and copies an hour old are added.
The report, a dry-run sweep and a dry-run expiry pass run over it twice in this process, at one
frozen moment: once as shipped, once with backups/scope_pass.py's test-only switch,
`read_backups`, set to `sdk_model_backups`. The answers, and the metric streams the reports
post, must be identical.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup_copier.backups import scope_pass
from backup_copier.expire import request as expire_request
from backup_copier.report import request as report_request
from backup_copier.report import scan as report_scan
from backup_copier.sweep import request as sweep_request
from backup_copier.sweep import scan as sweep_scan
from blockstorage_emulator import Emulator
from tests.backups.tenancy import KINDS, seed_tenancy
from tests.helpers import DESTINATION_REGION, NOW, seed_copy, seed_copy_of

from .conftest import run_in_process

SECOND_REGION = "eu-frankfurt-1"
FROZEN = datetime.now(UTC).replace(microsecond=123456)


class _Frozen(datetime):
    """datetime, with now() fixed: both runs see the same window, expiries and asOf."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return FROZEN.astimezone(tz) if tz else FROZEN.replace(tzinfo=None)


@pytest.fixture
def tenancy(emulator: Emulator) -> str:
    parent, compartments = seed_tenancy(emulator)
    for number, compartment in enumerate(compartments):
        for kind in KINDS:
            volume = f"ocid1.{kind.replace('_', '')}.oc1.phx.{'e' * 50}{number:010d}"
            # Due and not the volume's newest: the expiry pass plans to delete it.
            old, _ = seed_copy(
                emulator, compartment, kind, hours_ago=200, expires=NOW - timedelta(days=2), volume_id=volume
            )
            newer, _ = seed_copy(emulator, compartment, kind, hours_ago=150, volume_id=volume)
            seed_copy_of(emulator, compartment, newer, SECOND_REGION)
            seed_copy_of(emulator, compartment, old, SECOND_REGION, state="FAULTY")
            # Copied to both regions an hour ago: covered.
            fresh, _ = seed_copy(emulator, compartment, kind, hours_ago=2)
            seed_copy_of(emulator, compartment, fresh, SECOND_REGION)
            # Marked and due, but still being made: kept.
            seed_copy(emulator, compartment, kind, hours_ago=90, expires=NOW - timedelta(days=1), state="CREATING")
    return parent


def _answers(emulator: Emulator, parent: str) -> dict[str, Any]:
    scope = {"compartmentId": parent, "subtree": True, "destinationRegions": [DESTINATION_REGION, SECOND_REGION]}
    emulator.clear_metrics()
    answers = {
        "report": run_in_process({"action": "report", **scope}),
        "reconcile": run_in_process({"action": "reconcile", "dryRun": True, "maxCopies": 100, **scope}),
        "expire": run_in_process({"action": "expire", "dryRun": True, **scope}),
    }
    answers["posted"] = sorted(
        (metric.compartment_id, metric.name, sorted(metric.dimensions.items()), metric.datapoints[0]["value"])
        for metric in emulator.posted_metrics()
    )
    return answers


def test_every_pass_answers_the_same_from_lean_records_and_from_the_sdks_models(
    emulator: Emulator, in_process: None, tenancy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (report_request, report_scan, sweep_request, sweep_scan, expire_request):
        monkeypatch.setattr(module, "datetime", _Frozen)

    lean = _answers(emulator, tenancy)
    monkeypatch.setattr(scope_pass, "read_backups", scope_pass.sdk_model_backups)
    models = _answers(emulator, tenancy)

    for name in ("report", "reconcile", "expire", "posted"):
        assert lean[name] == models[name], name
    # The tenancy exercised what each pass decides on, so the comparison compared something.
    report, sweep, expiry = lean["report"], lean["reconcile"], lean["expire"]
    assert report["compartmentsScanned"] == 4 and report["malformedItems"]["count"] == 0
    assert all(report["totals"][status] for status in ("covered", "breaching", "uncovered"))
    assert any(region["faulty"] for volume in report["volumes"] for region in volume["regions"])
    assert len(lean["posted"]) > 2 * report["totals"]["volumes"]
    assert sweep["planned"] and sweep["alreadyCopied"]
    assert {"NotYetAvailable", "OutsideWindow", "VolumeGroupMember"} <= set(sweep["skippedByReason"])
    assert len(expiry["planned"]) == 3 * 3  # a due copy of each kind in each compartment
    assert {"RetentionLocked", "NotMarked", "InProgress", "KeepLast", "NeverExpires"} <= set(expiry["kept"])
