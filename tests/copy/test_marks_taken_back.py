"""A copy the operator took back stays taken back (issue 22, finding 1), through the fdk socket.

With COPY_RETENTION_DAYS=1, copies whose marks were edited by hand, or inherited, are neither
re-marked by a redelivered event nor by a sweep, and the expiry pass deletes none of them; the
one copy with no mark keys that its source records (its marking failed) is marked, and expires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from blockstorage_emulator import Emulator
from tests.helpers import (
    DESTINATION_REGION,
    MARK_COPY,
    MARK_EXPIRES,
    FunctionFactory,
    event_for,
    new_compartment,
    seed_copy,
)

RECORD = "backup-copier-copy-in-" + DESTINATION_REGION


def _recorded(emulator: Emulator, source: dict[str, Any], copy: dict[str, Any]) -> None:
    """The source's record of its copy, as the function writes it right after the copy request."""
    emulator.set_freeform_tags(source["id"], {**source["freeformTags"], RECORD: copy["id"]})


def _edited(emulator: Emulator, copy: dict[str, Any], change: Any) -> dict[str, str]:
    tags = dict(copy["freeformTags"])
    change(tags)
    emulator.set_freeform_tags(copy["id"], tags)
    return tags


def _updates_of(emulator: Emulator, backup_ids: set[str]) -> list[str]:
    return [r.path for r in emulator.requests if r.operation == "update" and r.path.rsplit("/", 1)[1] in backup_ids]


def test_copies_the_operator_took_back_are_never_re_marked_nor_deleted(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "k" * 60
    past = datetime.now(UTC) - timedelta(days=1)
    process = function(COPY_RETENTION_DAYS="1")

    kept_by_tag = seed_copy(emulator, compartment, hours_ago=50, expires=past, volume_id=volume)
    copy_key_removed = seed_copy(emulator, compartment, hours_ago=49, expires=past, volume_id=volume)
    # A backup of a volume restored from a marked copy carries that copy's mark; the function
    # copied it, and the new copy's own marking failed, so it still carries the inherited keys.
    inherited = {MARK_COPY: "ocid1.volumebackup.oc1.iad." + "r" * 60, MARK_EXPIRES: "2020-01-01T00:00:00Z"}
    names_another = seed_copy(emulator, compartment, hours_ago=48, volume_id=volume, marked=False, tags=inherited)
    marking_failed = seed_copy(emulator, compartment, hours_ago=47, volume_id=volume, marked=False)
    newest = seed_copy(
        emulator, compartment, hours_ago=1, expires=datetime.now(UTC) + timedelta(days=1), volume_id=volume
    )
    for source, copy in (kept_by_tag, copy_key_removed, names_another, marking_failed, newest):
        _recorded(emulator, source, copy)
    taken_back = {
        kept_by_tag[1]["id"]: _edited(emulator, kept_by_tag[1], lambda tags: tags.update({MARK_EXPIRES: "keep"})),
        copy_key_removed[1]["id"]: _edited(emulator, copy_key_removed[1], lambda tags: tags.pop(MARK_COPY)),
        names_another[1]["id"]: dict(names_another[1]["freeformTags"]),
    }

    for source, _ in (kept_by_tag, copy_key_removed, names_another):
        answer = process.invoke(event_for("volume", source["id"], compartmentId=compartment)).json()
        [copy] = answer["copies"]
        assert (answer["outcome"], copy["marked"], copy["markReasonCode"]) == ("already_copied", False, "MarkInvalid")
        assert "never rewrites" in copy["markReason"]
    swept = process.invoke({"action": "reconcile", "compartmentId": compartment}).json()
    assert swept["marked"] == [
        {
            "backupId": marking_failed[0]["id"],
            "destinationRegion": DESTINATION_REGION,
            "copyId": marking_failed[1]["id"],
        }
    ]
    assert (swept["outcome"], swept["failed"], swept["copied"]) == ("already_copied", [], [])
    assert _updates_of(emulator, set(taken_back)) == [], "a copy that carries a mark key is never written"
    for copy_id, tags in taken_back.items():
        assert emulator.backup(copy_id)["freeformTags"] == tags
    repaired = emulator.backup(marking_failed[1]["id"])["freeformTags"]
    assert repaired[MARK_COPY] == marking_failed[1]["id"]

    expired = process.invoke({"action": "expire", "compartmentId": compartment}).json()
    assert [entry["copyId"] for entry in expired["deleted"]] == [marking_failed[1]["id"]]
    assert expired["kept"] == {"MarkInvalid": 3, "NotExpired": 1}
    for copy_id in (*taken_back, newest[1]["id"]):
        assert emulator.backup(copy_id)["lifecycleState"] == "AVAILABLE"
