"""Parsing the body: every way it can be wrong is a rejection that names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backup_copier.dispatch import MAX_BODY_BYTES, parse_request
from backup_copier.shared.errors import InvalidRequest
from backup_copier.shared.kinds import BackupKind
from backup_copier.shared.metrics import UNSPLIT, PostingSlot
from backup_copier.shared.request import ActionRequest, Budget
from local_runtime import samples
from tests.helpers import DELETE, mutated

VOLUME_EVENT = samples.load("volume-backup-completed.json")


def _with(path: str, value: Any) -> bytes:
    return mutated(VOLUME_EVENT, path, value)


_DELETE = DELETE


def _rejected(body: bytes) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(body)
    return caught.value


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("volume-backup-completed.json", BackupKind.VOLUME),
        ("boot-volume-backup-completed.json", BackupKind.BOOT_VOLUME),
        ("volume-group-backup-completed.json", BackupKind.VOLUME_GROUP),
    ],
)
def test_each_sample_event_parses_to_its_kind(name: str, kind: BackupKind) -> None:
    document = samples.load(name)
    request = parse_request(json.dumps(document).encode())
    assert request.spec.kind is kind
    assert request.backup_id.value == document["data"]["resourceId"]
    assert request.event_id == document["eventID"]
    assert request.backup_id.region == "us-phoenix-1"
    assert not request.backup_failed


def test_failed_backup_event_is_marked() -> None:
    request = parse_request(json.dumps(samples.load("volume-backup-failed.json")).encode())
    assert request.backup_failed


def test_unknown_extra_fields_are_allowed() -> None:
    request = parse_request(_with("data.somethingNew", {"x": 1}))
    assert request.spec.kind is BackupKind.VOLUME


def test_manual_request() -> None:
    request = parse_request(json.dumps(samples.load("manual-copy.json")).encode())
    assert request.origin == "manual"
    assert request.destination_regions == ("us-ashburn-1",)


def test_manual_request_accepts_short_region_codes() -> None:
    body = {"backupId": VOLUME_EVENT["data"]["resourceId"], "destinationRegions": ["iad", "fra"]}
    assert parse_request(json.dumps(body).encode()).destination_regions == ("us-ashburn-1", "eu-frankfurt-1")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"   ", "body"),
        (b"not json", "body"),
        (b"\xff\xfe{}", "body"),
        (b"[1, 2]", "body"),
        (b"42", "body"),
        (b'"a string"', "body"),
        (b"{}", "body"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"a": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}', "body"),
        (b'{"action": "explode"}', "action"),
    ],
)
def test_malformed_bodies_name_the_body(body: bytes, field: str) -> None:
    assert _rejected(body).field == field


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("eventType", "com.oraclecloud.blockvolumes.createvolumebackup.begin", "eventType"),
        ("eventType", "com.oraclecloud.computeapi.launchinstance.end", "eventType"),
        ("eventType", 7, "eventType"),
        ("eventID", _DELETE, "eventID"),
        ("eventID", 12, "eventID"),
        ("eventID", "id with spaces", "eventID"),
        ("data", _DELETE, "data"),
        ("data", "a string", "data"),
        ("data.resourceId", _DELETE, "data.resourceId"),
        ("data.resourceId", 123, "data.resourceId"),
        ("data.resourceId", ["ocid1.volumebackup.oc1.phx.aaaa"], "data.resourceId"),
        ("data.compartmentId", _DELETE, "data.compartmentId"),
        ("data.compartmentId", "ocid1.volume.oc1.phx.aaaaaaaa", "data.compartmentId"),
        ("data.freeFormTags", {"team": 5}, "data.freeFormTags.team"),
        ("data.freeFormTags", ["a"], "data.freeFormTags"),
        ("data.additionalDetails", "x", "data.additionalDetails"),
    ],
)
def test_bad_event_fields_are_named(path: str, value: Any, field: str) -> None:
    assert _rejected(_with(path, value)).field == field


GOOD = VOLUME_EVENT["data"]["resourceId"]


@pytest.mark.parametrize(
    "resource_id",
    [
        GOOD.replace("volumebackup", "bootvolumebackup"),  # another kind than the event type names
        GOOD.replace("volumebackup", "instance"),
        GOOD.replace(".oc1.", ".oc999."),  # unknown realm
        GOOD.replace(".oc1.", ".oc2."),  # realm does not match the region
        GOOD.replace(".phx.", ".."),  # no region
        GOOD + "/../../volumes",
        GOOD.replace(".phx.", ".phx/"),
        GOOD + "%2F",
        GOOD + " ",
        " " + GOOD,
        GOOD + "\n",
        GOOD[:40] + "\x00" + GOOD[41:],
        GOOD.upper(),
        "ocid1.volumebackup",
        "",
        GOOD + "a" * 300,
    ],
)
def test_hostile_resource_ids_are_rejected(resource_id: str) -> None:
    error = _rejected(_with("data.resourceId", resource_id))
    assert error.field == "data.resourceId"
    assert error.code == "InvalidOcid"


def test_manual_request_refuses_unknown_fields() -> None:
    error = _rejected(json.dumps({"backupId": GOOD, "destinationRegion": "iad"}).encode())
    assert error.field == "destinationRegion"


def test_manual_request_checks_regions() -> None:
    error = _rejected(json.dumps({"backupId": GOOD, "destinationRegions": ["mars-north-1x"]}).encode())
    assert error.field == "destinationRegions"


def test_manual_request_checks_the_ocid() -> None:
    error = _rejected(json.dumps({"backupId": "ocid1.volume.oc1.phx.aaaaaaaa"}).encode())
    assert error.field == "backupId"


# A fan-out's child (issue 22, findings 3 and 4): its body is just a body, held to every rule
# an operator's is; it covers exactly its batch, and only its share of a limit may be 0.

CHILD_OF = "01J9ZQ8V7K3M5N6P8R9S0T1V2W"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaatenancyfanoutof"
BATCH = ["ocid1.compartment.oc1..aaaaaaaafanoutofbatch"]


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({"compartmentId": TENANCY, "subtree": True}, "subtree"),
        ({"compartmentIds": BATCH, "subtree": False}, "subtree"),
        ({"compartmentId": BATCH[0]}, "compartmentId"),
        ({}, "compartmentIds"),
    ],
)
@pytest.mark.parametrize("action", ["reconcile", "expire", "report"])
def test_a_body_with_fan_out_of_takes_only_compartment_ids(action: str, scope: dict[str, Any], field: str) -> None:
    error = _rejected(json.dumps({"action": action, **scope, "fanOutOf": CHILD_OF}).encode())

    assert (error.field, error.code) == (field, "InvalidFanOutOf")
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(("action", "field"), [("reconcile", "maxCopies"), ("expire", "maxDeletes")])
def test_a_share_of_nothing_is_a_childs_never_an_operators(action: str, field: str) -> None:
    operator = {"action": action, "compartmentIds": BATCH, field: 0}

    error = _rejected(json.dumps(operator).encode())
    assert (error.field, str(error)) == (field, f"{field}: Input should be greater than or equal to 1")

    child = parse_request(json.dumps({**operator, "fanOutOf": CHILD_OF}).encode())
    assert isinstance(child, ActionRequest) and child.budget == Budget(field, 0)
    assert child.fan_out_of == CHILD_OF


# The function's calls to Monitoring are the tenancy's (issue 23): a coordinator gives each child a
# slot of them, and a body, which anyone allowed to invoke can send, can only slow a run down.


@pytest.mark.parametrize("action", ["reconcile", "expire", "report", "drill", "check"])
def test_a_metrics_slot_is_a_childs_only(action: str) -> None:
    error = _rejected(
        json.dumps({"action": action, "compartmentIds": BATCH, "metricsSlot": {"slot": 0, "of": 1}}).encode()
    )

    assert (error.field, error.code) == ("metricsSlot", "InvalidFanOutOf")
    assert "only a fan-out's child carries it, next to fanOutOf" in str(error)


@pytest.mark.parametrize("action", ["reconcile", "report"])
def test_a_child_posts_in_its_slot_and_without_one_at_the_functions_own_rate(action: str) -> None:
    child = {"action": action, "compartmentIds": BATCH, "fanOutOf": CHILD_OF}

    with_slot = parse_request(json.dumps({**child, "metricsSlot": {"slot": 3, "of": 11}}).encode())
    without = parse_request(json.dumps(child).encode())
    operator = parse_request(json.dumps({"action": action, "compartmentIds": BATCH}).encode())

    assert with_slot.metrics_slot == PostingSlot(3, 11)
    assert without.metrics_slot == operator.metrics_slot == PostingSlot(0, 1) == UNSPLIT


@pytest.mark.parametrize(
    ("slot", "field"),
    [
        (None, "metricsSlot"),
        ([0, 2], "metricsSlot"),
        ({"slot": 0}, "metricsSlot"),
        ({"slot": 0, "of": 2, "rate": 50}, "metricsSlot"),
        ({"slot": 0, "of": 0}, "metricsSlot.of"),
        ({"slot": 0, "of": True}, "metricsSlot.of"),
        ({"slot": 0, "of": 2.0}, "metricsSlot.of"),
        ({"slot": 0, "of": 10**400}, "metricsSlot.of"),
        ({"slot": 2, "of": 2}, "metricsSlot.slot"),
        ({"slot": -1, "of": 2}, "metricsSlot.slot"),
        ({"slot": "1", "of": 2}, "metricsSlot.slot"),
    ],
)
def test_a_bad_metrics_slot_is_named(slot: object, field: str) -> None:
    body = {"action": "report", "compartmentIds": BATCH, "fanOutOf": CHILD_OF, "metricsSlot": slot}

    error = _rejected(json.dumps(body).encode())

    assert (error.field, error.code) == (field, "InvalidFanOutOf")
