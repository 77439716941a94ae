"""Records read from a list page's bytes: the API's field names, strict types, and a bad item named, not fatal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from oci.core import models as core_models
from oci.identity import models as identity_models

from backup_copier.backups.records import (
    RECORDS,
    BootVolumeBackupRecord,
    CompartmentRecord,
    PageReader,
    UnreadablePage,
    VolumeBackupRecord,
    VolumeGroupBackupRecord,
)
from backup_copier.shared.kinds import SPECS

VOLUME_BACKUP_ID = "ocid1.volumebackup.oc1.iad.aaaaaaaa1"
GOOD: dict[str, Any] = {
    "id": VOLUME_BACKUP_ID,
    "lifecycleState": "AVAILABLE",
    "timeCreated": "2026-11-26T12:00:00.123Z",
    "compartmentId": "ocid1.compartment.oc1..aaaaaaaa1",
    "displayName": "nightly",
    "freeformTags": {"team": "payments"},
    "volumeId": "ocid1.volume.oc1.iad.aaaaaaaa1",
    "sizeInGBs": 50,
}
READER = PageReader(VolumeBackupRecord)


def page(*items: Any) -> bytes:
    return json.dumps(list(items)).encode()


@pytest.mark.parametrize(
    ("record", "model"),
    [
        (VolumeBackupRecord, core_models.VolumeBackup),
        (BootVolumeBackupRecord, core_models.BootVolumeBackup),
        (VolumeGroupBackupRecord, core_models.VolumeGroupBackup),
        (CompartmentRecord, identity_models.Compartment),
    ],
)
def test_every_field_has_the_sdk_models_name_and_json_key(record: type, model: type) -> None:
    """A record stands in for the SDK's model: the same attribute names, read from the same keys."""
    fields = PageReader(record).fields()
    assert {name: model().attribute_map.get(name) for name in fields} == fields


def test_each_kind_has_the_attributes_its_spec_names() -> None:
    for kind, spec in SPECS.items():
        fields = PageReader(RECORDS[kind]).fields()
        assert spec.source_attribute in fields and spec.resource_attribute in fields, kind


def test_a_good_page_reads_whole_with_aware_timestamps() -> None:
    records, problems = READER.read(page(GOOD, dict(GOOD, id="ocid1.volumebackup.oc1.iad.aaaaaaaa2")))
    assert problems == []
    assert [record.id for record in records] == [VOLUME_BACKUP_ID, "ocid1.volumebackup.oc1.iad.aaaaaaaa2"]
    assert records[0].time_created == datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)
    assert records[0].freeform_tags == {"team": "payments"}
    assert records[0].source_volume_backup_id is None and records[0].expiration_time is None


def test_a_state_the_sdk_does_not_know_is_kept_as_sent() -> None:
    records, problems = READER.read(page(dict(GOOD, lifecycleState="COMMITTED")))
    assert problems == [] and records[0].lifecycle_state == "COMMITTED"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": None}, "id: "),
        ({"id": "../../volumeBackups"}, "id: not an OCID (got '../../volumeBackups')"),
        ({"timeCreated": "2026-13-45T00:00:00Z"}, "timeCreated: Input should be a valid datetime"),
        ({"timeCreated": "2026-11-26T12:00:00"}, "timeCreated: Input should have timezone info"),
        ({"timeCreated": 1764158400}, "timeCreated: "),
        ({"lifecycleState": None}, "lifecycleState: "),
        ({"freeformTags": {"n": 5}}, "freeformTags.n: Input should be a valid string"),
        ({"isRetentionLockEnabled": "true"}, "isRetentionLockEnabled: Input should be a valid boolean"),
    ],
)
def test_a_bad_item_is_named_and_the_others_are_kept(change: dict[str, Any], problem: str) -> None:
    bad = dict(GOOD, **change)
    neighbour = dict(GOOD, id="ocid1.volumebackup.oc1.iad.aaaaaaaa2")
    records, problems = READER.read(page(GOOD, bad, neighbour))
    assert [record.id for record in records] == [VOLUME_BACKUP_ID, "ocid1.volumebackup.oc1.iad.aaaaaaaa2"]
    assert len(problems) == 1 and problems[0].position == 1
    assert problems[0].problem.startswith(problem), problems[0].problem
    assert problems[0].item_id == (bad["id"] if isinstance(bad["id"], str) else None)


def test_an_item_without_an_id_or_not_an_object_is_named_by_its_position() -> None:
    missing = {key: value for key, value in GOOD.items() if key != "id"}
    records, problems = READER.read(page(missing, 7, GOOD))
    assert [record.id for record in records] == [VOLUME_BACKUP_ID]
    assert [(problem.position, problem.item_id) for problem in problems] == [(0, None), (1, None)]
    assert problems[0].problem == "id: Field required"


def test_a_bad_value_is_quoted_in_ascii_and_cut() -> None:
    _, problems = READER.read(page(dict(GOOD, timeCreated="\x1b[31m" + "x" * 100)))
    assert "\\x1b[31m" in problems[0].problem and "\x1b" not in problems[0].problem
    assert problems[0].problem.endswith("…')")


def test_the_records_of_a_page_with_a_bad_item_equal_the_fast_reads() -> None:
    """The item-by-item path validates as the whole-page path does: same records, same types."""
    fast, _ = READER.read(page(GOOD))
    slow, _ = READER.read(page(GOOD, dict(GOOD, id=None)))
    assert slow == fast


@pytest.mark.parametrize("body", [b"<html>busy</html>", b'{"items": []}', b"[1, 2"])
def test_a_body_that_is_not_an_array_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadablePage):
        READER.read(body)


def test_an_empty_page_is_no_records() -> None:
    assert READER.read(b"[]") == ([], [])
