"""COPY_RETENTION_DAYS_<REGION>: each destination region's copies carry that region's expiry, end to end.

The real fdk socket, SDK and signer against the emulator, with two destination regions:
us-ashburn-1 (the tests' usual destination) and eu-frankfurt-1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import (
    DESTINATION_REGION,
    MARK_EXPIRES,
    SOURCE_REGION,
    FunctionFactory,
    event_for,
    new_compartment,
    rfc3339,
)

OTHER_REGION = "eu-frankfurt-1"
BOTH = f"{DESTINATION_REGION},{OTHER_REGION}"
FRANKFURT_KEY = "COPY_RETENTION_DAYS_EU_FRANKFURT_1"
ASHBURN_KEY = "COPY_RETENTION_DAYS_US_ASHBURN_1"
NOW = datetime.now(UTC).replace(microsecond=0)


def _copy(process: FunctionProcess, backup: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The event for `backup` delivered once; its copies by destination region."""
    body = process.invoke(event_for("volume", backup["id"], compartmentId=backup["compartmentId"])).json()
    assert body["outcome"] in ("copied", "already_copied"), body
    return {copy["destinationRegion"]: copy for copy in body["copies"]}


def _expire(process: FunctionProcess, compartment: str) -> dict[str, Any]:
    answer = process.invoke({"action": "expire", "compartmentId": compartment})
    body: dict[str, Any] = answer.json()
    assert answer.status == (502 if body["outcome"] in ("failed", "rejected") else 200), body
    return body


def _policy_backup(emulator: Emulator, compartment: str, volume: str, days_ago: int, expires: datetime) -> Any:
    return emulator.add_backup(
        "volume",
        SOURCE_REGION,
        compartment,
        volume_id=volume,
        source_type="SCHEDULED",
        expiration_time=expires,
        time_created=NOW - timedelta(days=days_ago),
    )


def _volume(letter: str) -> str:
    return "ocid1.volume.oc1.phx." + letter * 60


def test_one_policy_backup_two_regions_two_expiries_and_only_the_due_copy_is_deleted(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = _volume("r")
    source_expiry = NOW + timedelta(days=30)
    # Frankfurt keeps copies 1 day, far shorter than the source's 30: allowed (docs/retention.md says its cost).
    process = function(DESTINATION_REGION=BOTH, **{FRANKFURT_KEY: "1"})
    # Each copied as it arrives: the old one's Frankfurt copy expires on arrival, made only
    # because it is then its volume's newest backup (keep-last; backups/arrival.py).
    old = _policy_backup(emulator, compartment, volume, days_ago=3, expires=source_expiry)
    old_copies = _copy(process, old)
    new = _policy_backup(emulator, compartment, volume, days_ago=0, expires=source_expiry)
    new_copies = _copy(process, new)
    assert old_copies[DESTINATION_REGION]["expires"] == rfc3339(source_expiry), "no key: the source's expiry"
    assert old_copies[OTHER_REGION]["expires"] == rfc3339(NOW - timedelta(days=2)), "the region's key wins"
    assert new_copies[OTHER_REGION]["expires"] == rfc3339(NOW + timedelta(days=1))
    for copies in (old_copies, new_copies):
        for region, copy in copies.items():
            assert emulator.backup(copy["copyId"])["freeformTags"][MARK_EXPIRES] == copy["expires"], region
    emulator.complete_copies()

    body = _expire(process, compartment)
    due = old_copies[OTHER_REGION]["copyId"]
    assert [(d["copyId"], d["destinationRegion"]) for d in body["deleted"]] == [(due, OTHER_REGION)]
    assert body["kept"] == {"NotExpired": 3}
    assert emulator.backup(due)["lifecycleState"] == "TERMINATING"
    assert emulator.backup(old_copies[DESTINATION_REGION]["copyId"])["lifecycleState"] == "AVAILABLE"


def test_never_keeps_a_regions_copies_through_the_expiry_pass(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = _volume("s")
    process = function(DESTINATION_REGION=BOTH, **{FRANKFURT_KEY: "never"})
    # Policy backups whose own expiry has passed: their copies expire at once, except where the
    # region says never. Each is copied as it arrives, while it is its volume's newest backup
    # (keep-last lets a copy that expires on arrival be made then: backups/arrival.py).
    copies = [
        _copy(process, _policy_backup(emulator, compartment, volume, days, NOW - timedelta(days=1)))
        for days in (4, 3, 2)
    ]
    assert {copy[OTHER_REGION]["expires"] for copy in copies} == {"never"}
    emulator.complete_copies()

    body = _expire(process, compartment)
    # In Ashburn the two older copies go (the newest is kept by KEEP_LAST_COPIES); in Frankfurt, none.
    assert sorted(d["copyId"] for d in body["deleted"]) == sorted(c[DESTINATION_REGION]["copyId"] for c in copies[:2])
    assert body["kept"] == {"NeverExpires": 3, "KeepLast": 1}
    assert [emulator.backup(c[OTHER_REGION]["copyId"])["lifecycleState"] for c in copies] == ["AVAILABLE"] * 3


def test_a_manual_backup_takes_the_region_key_over_copy_retention_days(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    created = NOW - timedelta(days=3)
    backup = emulator.add_backup("volume", SOURCE_REGION, compartment, time_created=created)
    process = function(DESTINATION_REGION=BOTH, COPY_RETENTION_DAYS="2", **{ASHBURN_KEY: "30"})

    copies = _copy(process, backup)
    assert copies[DESTINATION_REGION]["expires"] == rfc3339(created + timedelta(days=30))
    assert copies[OTHER_REGION]["expires"] == rfc3339(created + timedelta(days=2)), "no key: COPY_RETENTION_DAYS"


def test_a_changed_setting_changes_only_new_copies(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    first = emulator.add_backup("volume", SOURCE_REGION, compartment, time_created=NOW - timedelta(hours=1))
    before = _copy(function(**{ASHBURN_KEY: "7"}), first)[DESTINATION_REGION]

    later = function(**{ASHBURN_KEY: "never"})
    again = _copy(later, first)[DESTINATION_REGION]
    assert again["copyId"] == before["copyId"]
    assert again["expires"] == before["expires"] == rfc3339(NOW - timedelta(hours=1) + timedelta(days=7))
    assert emulator.backup(before["copyId"])["freeformTags"][MARK_EXPIRES] == before["expires"]
    second = emulator.add_backup("volume", SOURCE_REGION, compartment)
    assert _copy(later, second)[DESTINATION_REGION]["expires"] == "never"


def test_the_sweep_marks_a_late_copy_by_its_regions_rule(emulator: Emulator, function: FunctionFactory) -> None:
    """A copy whose mark could not be written is marked later by the sweep, with the same per-region rule."""
    compartment = new_compartment()
    backup = _policy_backup(emulator, compartment, _volume("t"), days_ago=0, expires=NOW + timedelta(days=30))
    process = function(DESTINATION_REGION=BOTH, **{FRANKFURT_KEY: "5"})
    emulator.deny("update", region=OTHER_REGION)
    copies = _copy(process, backup)
    assert copies[OTHER_REGION]["marked"] is False
    emulator.allow_all()
    emulator.complete_copies()

    swept = process.invoke({"action": "reconcile", "compartmentId": compartment}).json()
    copy_id = copies[OTHER_REGION]["copyId"]
    assert swept["marked"] == [{"backupId": backup["id"], "destinationRegion": OTHER_REGION, "copyId": copy_id}]
    created = datetime.fromisoformat(backup["timeCreated"].replace("Z", "+00:00"))
    assert emulator.backup(copy_id)["freeformTags"][MARK_EXPIRES] == rfc3339(created + timedelta(days=5))


BAD_SETTINGS = [
    ({ASHBURN_KEY: "0"}, ASHBURN_KEY),
    ({ASHBURN_KEY: "36501"}, ASHBURN_KEY),
    ({ASHBURN_KEY: "ninety"}, ASHBURN_KEY),
    ({ASHBURN_KEY: "7.5"}, ASHBURN_KEY),
    # A region that is not a destination, and a misspelt one: refused, never silently ignored.
    ({FRANKFURT_KEY: "90"}, FRANKFURT_KEY),
    ({"COPY_RETENTION_DAYS_US_ASHBRUN_1": "90"}, "COPY_RETENTION_DAYS_US_ASHBRUN_1"),
]


@pytest.mark.parametrize(
    ("settings", "key"), BAD_SETTINGS, ids=[f"{k}={v}" for s, _ in BAD_SETTINGS for k, v in s.items()]
)
def test_each_bad_region_retention_is_named_and_nothing_is_sent(
    settings: dict[str, str], key: str, emulator: Emulator, function: FunctionFactory
) -> None:
    process = function(**settings)
    backup = emulator.add_backup("volume", SOURCE_REGION, new_compartment())
    for body in (
        event_for("volume", backup["id"], compartmentId=backup["compartmentId"]),
        {"action": "expire", "compartmentId": backup["compartmentId"]},
    ):
        answer = process.invoke(body)
        result = answer.json()
        assert answer.status == 502
        assert (result["outcome"], result["reasonCode"]) == ("failed", "InvalidSetting")
        assert result["reason"].startswith(f"{key}: ")
    assert emulator.requests == []
    [failing] = [check for check in process.invoke({"action": "check"}).json()["checks"] if not check["ok"]]
    assert failing["name"] == "settings"
    assert failing["detail"].startswith(f"{key}: ")
