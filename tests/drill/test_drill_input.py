"""Bad input and settings for the drill: each named, nothing sent; and where the drill restores."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backup_copier import dispatch
from backup_copier.drill.request import DrillRequest
from backup_copier.drill.restore import NoAvailabilityDomain, Restorer
from backup_copier.drill.rotation import CopyFacts, VolumeKey
from backup_copier.shared.clients import BlockStorageClients, IdentityClients, resource_principal_signer
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.errors import InvalidSetting
from backup_copier.shared.kinds import SPECS, BackupKind
from backup_copier.shared.retries import AttemptLog
from backup_copier.shared.settings import load_settings
from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION, NOW, SOURCE_REGION, FunctionFactory, new_compartment, seed_copy

from .support import FUNCTION_ID, drill_function

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaadrillinput"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"maxRestores": 0}, "maxRestores"),
        ({"maxRestores": 11}, "maxRestores"),
        ({"maxRestores": "2"}, "maxRestores"),
        ({"dryRun": "yes"}, "dryRun"),
        ({"destinationRegions": ["mars-1"]}, "destinationRegions"),
        ({"destinationRegions": [SOURCE_REGION]}, "destinationRegions"),
        ({"compartmentId": "ocid1.volume.oc1..aaaa"}, "compartmentId"),
        ({"compartmentId": None, "compartmentIds": []}, "compartmentIds"),
        ({"subtree": "yes"}, "subtree"),
        ({"maxRestore": 2}, "maxRestore"),
        ({"fanOutOf": "01J0000000000000000000TEST", "compartmentIds": [COMPARTMENT]}, "fanOutOf"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_sent(
    emulator: Emulator, function: FunctionFactory, fields: dict[str, Any], named: str
) -> None:
    body = {
        key: value
        for key, value in {"action": "drill", "compartmentId": COMPARTMENT, **fields}.items()
        if value is not None
    }

    answer = drill_function(emulator, function).invoke(body)

    result = answer.json()
    assert (answer.status, result["outcome"]) == (502, "rejected")
    assert result["reason"].startswith(f"{named}"), result["reason"]
    assert emulator.requests == []


def test_without_its_own_ocid_the_drill_sends_nothing(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function().invoke({"action": "drill", "compartmentId": new_compartment()})

    result = answer.json()
    assert (answer.status, result["outcome"], result["reasonCode"]) == (502, "failed", "OwnFunctionUnknown")
    assert "FN_FN_ID is not set, so a drill cannot mark what it restores" in result["reason"]
    assert emulator.requests == []


def test_a_drill_is_never_fanned_out_it_always_runs_in_place() -> None:
    body = {"action": "drill", "compartmentId": "ocid1.tenancy.oc1..aaaaaaaatenancy", "subtree": True}

    assert isinstance(dispatch.request_for(json.dumps(body).encode()), DrillRequest)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"DRILL_TIMEOUT_MINUTES": "5"}, "DRILL_TIMEOUT_MINUTES"),
        ({"DRILL_TIMEOUT_MINUTES": "two hours"}, "DRILL_TIMEOUT_MINUTES"),
        ({"DRILL_TIMEOUT_MINUTE": "120"}, "DRILL_TIMEOUT_MINUTE"),
        ({"DRILL_AVAILABILITY_DOMAIN_EU_FRANKFURT_1": "AD-1"}, "DRILL_AVAILABILITY_DOMAIN_EU_FRANKFURT_1"),
        ({"DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1": "AD 1; rm"}, "DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1"),
        ({"DRILL_AVAILABILITY_DOMAIN_IAD": "AD-1"}, "DRILL_AVAILABILITY_DOMAIN_IAD"),
        ({"COMPUTE_ENDPOINT": "not a url"}, "COMPUTE_ENDPOINT"),
    ],
)
def test_a_bad_drill_setting_is_named(environ: dict[str, str], key: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        load_settings({"DESTINATION_REGION": DESTINATION_REGION, **environ})

    assert raised.value.key == key


def _restorer(
    emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch, **environ: str
) -> Restorer:
    for name, value in principal.environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        {
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
            "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
            **environ,
        }
    )
    signer = resource_principal_signer()
    invocation = Invocation("01J0000000000000000000TEST", Deadline(30), AttemptLog())
    return Restorer(
        settings, BlockStorageClients(settings, signer), IdentityClients(settings, signer), invocation, FUNCTION_ID
    )


def test_the_availability_domain_is_the_regions_first_unless_a_setting_names_another(
    emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, _ = emulator.availability_domains(DESTINATION_REGION)
    compartment = new_compartment()

    assert _restorer(emulator, principal, monkeypatch).availability_domain(DESTINATION_REGION, compartment) == first
    for named in (second, second.partition(":")[2].lower()):
        chosen = _restorer(emulator, principal, monkeypatch, DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1=named)
        assert chosen.availability_domain(DESTINATION_REGION, compartment) == second
    missing = _restorer(emulator, principal, monkeypatch, DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1="US-ASHBURN-AD-9")
    with pytest.raises(NoAvailabilityDomain) as raised:
        missing.availability_domain(DESTINATION_REGION, compartment)
    assert raised.value.message.startswith("DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1: 'US-ASHBURN-AD-9' is none of")


def test_a_volume_is_restored_with_its_regions_key_so_the_drill_proves_the_key_decrypts(
    emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch
) -> None:
    compartment = new_compartment()
    key = emulator.add_kms_key(DESTINATION_REGION)
    copy = seed_copy(emulator, compartment, "volume")[1]
    facts = CopyFacts.of(_Model(copy), SPECS[BackupKind.VOLUME], DESTINATION_REGION)
    restorer = _restorer(emulator, principal, monkeypatch, KMS_KEY_ID_US_ASHBURN_1=key)

    entry = restorer.start(VolumeKey(DESTINATION_REGION, BackupKind.VOLUME, copy["volumeId"]), facts, NOW)

    assert entry.state == "started" and entry.restored is not None
    assert emulator.volume(entry.restored)["kmsKeyId"] == key


class _Model:
    """An emulator backup's JSON seen through the SDK model's attribute names."""

    def __init__(self, backup: dict[str, Any]) -> None:
        self.id, self.compartment_id, self.lifecycle_state = backup["id"], backup["compartmentId"], "AVAILABLE"
        self.time_created, self.size_in_gbs, self.display_name = NOW, backup["sizeInGBs"], backup["displayName"]
