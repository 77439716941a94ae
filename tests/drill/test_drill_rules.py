"""The drill's rules one by one, in process: the proof, the record on a copy, the verdict and the turns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from backup_copier.drill import marks
from backup_copier.drill.restored import Restored
from backup_copier.drill.rotation import Copies, CopyFacts, VolumeKey, next_turns
from backup_copier.drill.verdict import judge
from backup_copier.shared.kinds import SPECS, BackupKind

from .support import FUNCTION_ID, OTHER_FUNCTION_ID

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COPY = "ocid1.volumebackup.oc1.iad.aaaacopy"
RESOURCE = "ocid1.volume.oc1.iad.aaaadrill"
OTHER = "ocid1.volume.oc1.iad.aaaaother"


def _tags(**changes: str | None) -> dict[str, str]:
    tags = marks.DrillMark(FUNCTION_ID, COPY, "ocid1.volume.oc1.phx.aaaasource", NOW, RESOURCE).tags()
    for key, value in changes.items():
        name = marks.PREFIX + key
        if value is None:
            tags.pop(name, None)
        else:
            tags[name] = value
    return tags


@pytest.mark.parametrize(
    ("resource", "tags", "source", "running", "proven"),
    [
        (RESOURCE, _tags(), COPY, None, True),
        # Bound by its copy's running record alone: a pass stopped before it rewrote the mark.
        (RESOURCE, _tags(resource=None), COPY, RESOURCE, True),
        (RESOURCE, _tags(resource=None), COPY, None, False),
        (RESOURCE, _tags(resource=None), COPY, OTHER, False),
        # A copied mark names the OCID of the volume it was copied from.
        (OTHER, _tags(), COPY, None, False),
        (OTHER, _tags(), COPY, OTHER, False),
        (RESOURCE, _tags(function=OTHER_FUNCTION_ID), COPY, None, False),
        # A clone: its sourceDetails name the drill volume, not the copy.
        (RESOURCE, _tags(), RESOURCE, None, False),
        (RESOURCE, _tags(), None, None, False),
        (RESOURCE, _tags(started="yesterday"), COPY, None, False),
        (RESOURCE, {"backup-copier-copy": COPY}, COPY, RESOURCE, False),
        # A group's member is bound by its own tag only.
        (RESOURCE, _tags(resource=None, group="ocid1.volumegroup.oc1.iad.aaaa"), COPY, RESOURCE, False),
    ],
)
def test_only_a_mark_that_agrees_with_the_resources_own_facts_proves_a_drill(
    resource: str, tags: dict[str, str], source: str | None, running: str | None, proven: bool
) -> None:
    assert (marks.proof(resource, tags, source, FUNCTION_ID, running) is None) is proven


def test_the_rewritten_mark_drops_what_the_copy_passed_on_and_keeps_the_rest() -> None:
    inherited = {"team": "db", "backup-copier-copy": COPY, marks.RUNNING_KEY: RESOURCE, marks.FUNCTION_KEY: "x"}
    mark = marks.DrillMark(FUNCTION_ID, COPY, "v", NOW, RESOURCE)

    assert marks.rewritten_tags(inherited, mark) == {"team": "db", **mark.tags()}


def test_the_copys_record_changes_only_its_own_keys_and_never_a_newer_drills_running_record() -> None:
    copy_tags = {"backup-copier-copy": COPY, "owner": "alice", marks.RUNNING_KEY: OTHER}
    last = marks.LastDrill("passed", NOW, "14.5", RESOURCE)

    written = marks.recorded_tags(copy_tags, stopped=RESOURCE, last=last)

    assert written[marks.RUNNING_KEY] == OTHER
    assert {k: written[k] for k in ("backup-copier-copy", "owner")} == {"backup-copier-copy": COPY, "owner": "alice"}
    assert marks.read_record(written) == marks.Record(OTHER, last, NOW)
    assert marks.RUNNING_KEY not in marks.recorded_tags(written, stopped=OTHER)
    failed = marks.recorded_tags({}, last=marks.LastDrill("failed", NOW, "RestoreFaulty", ""))
    assert marks.read_record(failed) == marks.Record(None, marks.LastDrill("failed", NOW, "RestoreFaulty", ""), None)


def _drill(state: str, *, minutes_ago: float = 10, size: int = 50, kind: BackupKind = BackupKind.VOLUME) -> Restored:
    tags = _tags(started=(NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z"))
    return Restored(SPECS[kind], RESOURCE, "us-ashburn-1", "c", "AD-1", state, size, False, COPY, None, tags)


@pytest.mark.parametrize(
    ("drill", "state", "code"),
    [
        (_drill("PROVISIONING"), "restoring", None),
        (_drill("RESTORING", minutes_ago=119), "restoring", None),
        (_drill("RESTORING", minutes_ago=120), "failed", "RestoreTimedOut"),
        (_drill("PROVISIONING", minutes_ago=500, kind=BackupKind.VOLUME_GROUP), "failed", "RestoreTimedOut"),
        (_drill("FAULTY", minutes_ago=1), "failed", "RestoreFaulty"),
        (_drill("AVAILABLE", minutes_ago=500), "passed", None),
        (_drill("AVAILABLE", size=40), "failed", "RestoreMismatch"),
        (_drill("TERMINATING"), "gone", "AlreadyGone"),
    ],
)
def test_the_verdict_of_a_drill_as_read(drill: Restored, state: str, code: str | None) -> None:
    verdict = judge(drill, SimpleNamespace(size_in_gbs=50), [], NOW, timeout_minutes=120)

    assert (verdict.state, verdict.reason_code) == (state, code)
    assert (verdict.restore_minutes is not None) is (state == "passed")


def test_a_passed_drill_is_timed_from_its_create_request_to_the_pass_that_saw_it_available() -> None:
    assert judge(_drill("AVAILABLE", minutes_ago=31.5), None, [], NOW, 120).restore_minutes == 31.5


def test_a_group_must_hold_one_volume_per_member_backup_of_its_copy() -> None:
    group = replace(_drill("AVAILABLE", kind=BackupKind.VOLUME_GROUP), size_in_gbs=100)
    copy = SimpleNamespace(size_in_gbs=100, volume_backup_ids=["b1", "b2"])

    def members(*sources: str) -> list[Restored]:
        return [replace(_drill("AVAILABLE"), id=f"m{n}", source_backup_id=s) for n, s in enumerate(sources)]

    assert judge(group, copy, members("b1", "b2"), NOW, 120).state == "passed"
    assert judge(group, copy, members("b1"), NOW, 120).reason_code == "RestoreMismatch"
    assert judge(group, copy, members("b1", "b3"), NOW, 120).reason_code == "RestoreMismatch"


def _copies(name: str, *, drilled_days_ago: float | None) -> tuple[VolumeKey, Copies]:
    key = VolumeKey("us-ashburn-1", BackupKind.VOLUME, name)
    facts = CopyFacts(SPECS[BackupKind.VOLUME], "us-ashburn-1", f"copy-{name}", "c", "AVAILABLE", NOW, 50, name)
    last = (
        None if drilled_days_ago is None else marks.LastDrill("passed", NOW - timedelta(days=drilled_days_ago), "", "")
    )
    return key, Copies.first(facts, marks.Record(None, last, None))


def test_turns_go_to_never_drilled_volumes_first_then_the_oldest_drill() -> None:
    volumes = dict(
        [
            _copies("a", drilled_days_ago=1),
            _copies("b", drilled_days_ago=9),
            _copies("c", drilled_days_ago=None),
            _copies("d", drilled_days_ago=None),
        ]
    )
    busy = {VolumeKey("us-ashburn-1", BackupKind.VOLUME, "d")}

    chosen, waiting = next_turns(volumes, busy, slots=2)

    assert [key.volume_id for key, _ in chosen] == ["c", "b"]
    assert waiting == 1
    assert next_turns(volumes, set(), slots=0) == ([], 4)
