"""Every hostile or malformed body: rejected, the field named, 502, nothing sent, still serving."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime import samples
from tests.helpers import DELETE, FunctionFactory, event_for, mutated
from tests.reliability.conftest import deliver

EVENT = samples.load("volume-backup-completed.json")
GOOD_ID = EVENT["data"]["resourceId"]


def _event(path: str, value: Any) -> bytes:
    return mutated(EVENT, path, value)


_DELETE = DELETE

CATALOGUE: list[tuple[str, bytes, str]] = [
    ("empty body", b"", "body"),
    ("not JSON", b"{eventType: nope", "body"),
    ("invalid UTF-8", b'{"eventType": "\xff\xfe"}', "body"),
    ("JSON array", b"[]", "body"),
    ("JSON scalar", b"3.14", "body"),
    ("JSON null", b"null", "body"),
    ("several megabytes", b'{"eventType": "' + b"A" * 5_000_000 + b'"}', "body"),
    ("deeply nested", b'{"data": ' * 50_000 + b"1" + b"}" * 50_000, "body"),
    ("no known shape", b'{"hello": "world"}', "body"),
    ("unknown event type", _event("eventType", "com.oraclecloud.objectstorage.createobject"), "eventType"),
    (".begin event", _event("eventType", "com.oraclecloud.blockvolumes.createvolumebackup.begin"), "eventType"),
    ("eventType not a string", _event("eventType", ["a"]), "eventType"),
    ("eventID missing", _event("eventID", _DELETE), "eventID"),
    ("eventID an object", _event("eventID", {"a": 1}), "eventID"),
    ("data missing", _event("data", _DELETE), "data"),
    ("data an array", _event("data", []), "data"),
    ("resourceId missing", _event("data.resourceId", _DELETE), "data.resourceId"),
    ("resourceId a number", _event("data.resourceId", 7), "data.resourceId"),
    ("resourceId null", _event("data.resourceId", None), "data.resourceId"),
    ("compartmentId missing", _event("data.compartmentId", _DELETE), "data.compartmentId"),
    ("compartmentId a bool", _event("data.compartmentId", True), "data.compartmentId"),
    ("wrong kind of OCID", _event("data.resourceId", GOOD_ID.replace("volumebackup", "volume")), "data.resourceId"),
    (
        "other backup kind",
        _event("data.resourceId", GOOD_ID.replace("volumebackup", "bootvolumebackup")),
        "data.resourceId",
    ),
    ("unknown realm", _event("data.resourceId", GOOD_ID.replace(".oc1.", ".oc77.")), "data.resourceId"),
    ("realm not the region's", _event("data.resourceId", GOOD_ID.replace(".oc1.", ".oc2.")), "data.resourceId"),
    ("slash", _event("data.resourceId", GOOD_ID + "/actions/copy"), "data.resourceId"),
    ("dot dot", _event("data.resourceId", GOOD_ID.replace(".phx.", ".phx..")), "data.resourceId"),
    ("path traversal", _event("data.resourceId", "../../" + GOOD_ID), "data.resourceId"),
    ("percent-encoded slash", _event("data.resourceId", GOOD_ID[:-3] + "%2F"), "data.resourceId"),
    ("space", _event("data.resourceId", GOOD_ID + " "), "data.resourceId"),
    ("tab", _event("data.resourceId", GOOD_ID.replace(".phx.", ".phx\t.")), "data.resourceId"),
    ("newline", _event("data.resourceId", GOOD_ID + "\nX-Injected: 1"), "data.resourceId"),
    ("NUL", _event("data.resourceId", GOOD_ID[:30] + "\x00" + GOOD_ID[30:]), "data.resourceId"),
    ("escape", _event("data.resourceId", GOOD_ID + "\x1b[31m"), "data.resourceId"),
    ("unicode look-alike", _event("data.resourceId", GOOD_ID.replace("a", "а", 1)), "data.resourceId"),
    ("tag value a number", _event("data.freeFormTags", {"dr-copy": 1}), "data.freeFormTags.dr-copy"),
    ("tags a string", _event("data.freeFormTags", "dr-copy"), "data.freeFormTags"),
    ("defined tags not nested", _event("data.definedTags", {"ns": "v"}), "data.definedTags.ns"),
    ("manual: wrong type", json.dumps({"backupId": 5}).encode(), "backupId"),
    ("manual: typo'd field", json.dumps({"backupId": GOOD_ID, "dryrun": True}).encode(), "dryrun"),
    (
        "manual: bad region",
        json.dumps({"backupId": GOOD_ID, "destinationRegions": ["../x"]}).encode(),
        "destinationRegions",
    ),
    ("unknown action", json.dumps({"action": "rm -rf"}).encode(), "action"),
]


@pytest.mark.parametrize(("name", "body", "field"), CATALOGUE, ids=[entry[0] for entry in CATALOGUE])
def test_hostile_input_is_rejected_and_nothing_is_sent(
    name: str,
    body: bytes,
    field: str,
    emulator: Emulator,
    function: FunctionFactory,
    new_backup: Callable[..., dict[str, Any]],
) -> None:
    process = function()
    answer, result = deliver(process, body, hostile=True)
    assert answer.status == 502
    assert result["outcome"] == "rejected"
    assert result["reason"].startswith(f"{field}:"), result["reason"]
    assert emulator.requests == []
    assert "\n" not in result["reason"] and "\x00" not in result["reason"]
    backup = new_backup("volume")
    _, valid = deliver(process, event_for("volume", backup["id"]))
    assert valid["outcome"] == "copied"


BAD_SETTINGS = [
    ({"DESTINATION_REGION": None}, "DESTINATION_REGION"),
    ({"DESTINATION_REGION": "not a region"}, "DESTINATION_REGION"),
    ({"DESTINATION_REGION": "us-phoenix-1"}, "DESTINATION_REGION"),
    ({"KMS_KEY_ID_US_ASHBURN_1": "ocid1.volume.oc1.iad.aaaaaaaaaaaa"}, "KMS_KEY_ID_US_ASHBURN_1"),
    ({"BLOCKSTORAGE_ENDPOINT": "not a url"}, "BLOCKSTORAGE_ENDPOINT"),
]


@pytest.mark.parametrize(
    ("settings", "key"), BAD_SETTINGS, ids=[key + str(i) for i, (_, key) in enumerate(BAD_SETTINGS)]
)
def test_bad_setting_is_named_and_nothing_is_sent(
    settings: dict[str, Any], key: str, emulator: Emulator, function: FunctionFactory
) -> None:
    answer, result = deliver(function(**settings), samples.load("volume-backup-completed.json"), hostile=True)
    assert answer.status == 502
    assert result["outcome"] == "failed"
    assert result["reasonCode"] == "InvalidSetting"
    assert result["reason"].startswith(f"{key}:")
    assert f"fn config function <app> <function> {key}" in result["reason"]
    assert emulator.requests == []
