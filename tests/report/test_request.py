"""The report's body: the sample parses, and every bad field is rejected by name, through the fdk socket, before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backup_copier.dispatch import parse_request
from backup_copier.report.request import DEFAULT_SINCE_HOURS, ReportRequest
from backup_copier.shared.kinds import BackupKind
from blockstorage_emulator import Emulator
from local_runtime import samples
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, FunctionFactory, new_compartment


def test_sample_body_parses() -> None:
    request = parse_request(json.dumps(samples.load("report.json")).encode())
    assert isinstance(request, ReportRequest)
    assert [spec.kind for spec in request.specs] == list(BackupKind)
    assert request.since_hours == DEFAULT_SINCE_HOURS
    assert request.destination_regions is None


def test_kinds_follow_the_table_and_regions_are_normalised() -> None:
    body = {"action": "report", "compartmentId": new_compartment(), "kinds": ["volume_group", "volume"]}
    request = parse_request(json.dumps({**body, "destinationRegions": ["iad", "eu-frankfurt-1"]}).encode())
    assert isinstance(request, ReportRequest)
    assert [spec.kind for spec in request.specs] == [BackupKind.VOLUME, BackupKind.VOLUME_GROUP]
    assert request.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")


@pytest.mark.parametrize(
    ("fields", "field", "code", "says"),
    [
        ({"compartmentID": "x"}, "compartmentID", "InvalidField", "is not a field of this request"),
        ({"rpoTargetHours": 12}, "rpoTargetHours", "InvalidField", "is not a field of this request"),
        ({"compartmentId": None}, "compartmentId", "InvalidRequest", "is required"),
        (
            {"compartmentId": "ocid1.volume.oc1.phx." + "a" * 60},
            "compartmentId",
            "InvalidOcid",
            "expected an OCID of kind",
        ),
        ({"compartmentId": "ocid1.compartment.oc1../../x"}, "compartmentId", "InvalidOcid", "not a well-formed OCID"),
        ({"kinds": ["volume", "boot"]}, "kinds.1", "InvalidField", "Input should be"),
        ({"kinds": []}, "kinds", "InvalidField", "at least 1"),
        ({"kinds": "volume"}, "kinds", "InvalidField", "list"),
        ({"sinceHours": 0}, "sinceHours", "InvalidField", "greater than 0"),
        ({"sinceHours": -24}, "sinceHours", "InvalidField", "greater than 0"),
        ({"sinceHours": 366 * 24 + 1}, "sinceHours", "InvalidField", "less than or equal to 8784"),
        ({"sinceHours": "720"}, "sinceHours", "InvalidField", "number"),
        ({"destinationRegions": ["atlantis"]}, "destinationRegions", "InvalidRequest", "'atlantis' is not a region"),
        ({"destinationRegions": "us-ashburn-1"}, "destinationRegions", "InvalidField", "list"),
        ({"destinationRegions": []}, "destinationRegions", "InvalidRequest", "at least one"),
    ],
)
def test_bad_field_is_rejected_by_name_and_nothing_is_sent(
    emulator: Emulator, function: FunctionFactory, fields: dict[str, Any], field: str, code: str, says: str
) -> None:
    body = {"action": "report", "compartmentId": new_compartment(), **fields}

    answer = function().invoke(body)

    assert answer.status == 502
    result = answer.json()
    assert (result["outcome"], result["reasonCode"]) == ("rejected", code)
    assert result["reason"].startswith(f"{field}: "), result["reason"]
    assert says in result["reason"], result["reason"]
    assert emulator.requests == []


def test_the_source_region_is_no_destination(emulator: Emulator, function: FunctionFactory) -> None:
    body = {"action": "report", "compartmentId": new_compartment(), "destinationRegions": [SOURCE_REGION]}

    result = function().invoke(body).json()

    assert result["outcome"] == "rejected"
    assert result["reason"].startswith("destinationRegions: us-phoenix-1 is the region the report reads from")
    assert emulator.requests == []


def test_a_bad_setting_fails_naming_the_key(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function(RPO_TARGET_HOURS="a day").invoke({"action": "report", "compartmentId": new_compartment()})

    assert answer.status == 502
    result = answer.json()
    assert (result["outcome"], result["reasonCode"]) == ("failed", "InvalidSetting")
    assert result["reason"].startswith("RPO_TARGET_HOURS: ")
    assert DESTINATION_REGION not in result["reason"]
    assert emulator.requests == []
