"""A key one slip away from ours is refused, naming the key meant; every other key is left alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backup_copier.shared.errors import InvalidSetting
from backup_copier.shared.outcomes import setting_fix, verdict_for
from backup_copier.shared.setting_names import KnownKeys, distance, edit_distance
from backup_copier.shared.settings import PER_REGION_KEYS, SETTING_KEYS, Settings, load_settings
from blockstorage_emulator import Emulator
from tests.helpers import DESTINATION_REGION, FunctionFactory, event_for

BASE = {"DESTINATION_REGION": "us-ashburn-1"}
# What the container's environment holds besides the configuration (Fn's and OCI's variables, the
# image's own), and keys another function of the same application may well have.
NOT_OURS = (
    "FN_FN_ID",
    "FN_APP_ID",
    "FN_FN_NAME",
    "FN_APP_NAME",
    "FN_MEMORY",
    "FN_TYPE",
    "FN_LISTENER",
    "FN_FORMAT",
    "OCI_RESOURCE_PRINCIPAL_VERSION",
    "OCI_RESOURCE_PRINCIPAL_RPST",
    "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM",
    "OCI_RESOURCE_PRINCIPAL_REGION",
    "OCI_REGION_METADATA",
    "OCI_TRACING_ENABLED",
    "OCI_TRACE_COLLECTOR_URL",
    "PYTHONPATH",
    "PATH",
    "HOME",
    "HOSTNAME",
    "LANG",
    "LC_ALL",
    "PWD",
    "SHLVL",
    "TERM",
    "DATABASE_URL",
    "LOG_LEVEL",
    "REGION",
    "OCI_REGION",
    "DEBUG",
    "TIMEOUT",
    "API_KEY",
    "DRY",
    "ENDPOINT",
    "NAMESPACE",
    "COMPARTMENT_ID",
    "RESOURCE_COMPARTMENT_ID",
    "TENANCY_OCID",
    "BUCKET_NAME",
    "VAULT_ID",
    "SECRET_OCID",
    "TOPIC_OCID",
    "STREAM_OCID",
    "DB_PASSWORD",
    "MAX_RETRIES",
    "RETENTION_DAYS",
    "BATCH_SIZE",
    "METRICS_PORT",
)


def _refusal(environment: dict[str, str]) -> InvalidSetting:
    with pytest.raises(InvalidSetting) as raised:
        load_settings(environment)
    return raised.value


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        # Underscores (or case) changed.
        ("DRYRUN", "DRY_RUN"),
        ("dry_run", "DRY_RUN"),
        ("MAXCONCURRENCY", "MAX_CONCURRENCY"),
        ("KMS_KEYID_US_ASHBURN_1", "KMS_KEY_ID_US_ASHBURN_1"),
        # A final S added or removed.
        ("REQUIRED_FREEFORM_TAGS", "REQUIRED_FREEFORM_TAG"),
        ("DRY_RUNS", "DRY_RUN"),
        ("METRIC", "METRICS"),
        ("SOURCE_COMPARTMENT_ID", "SOURCE_COMPARTMENT_IDS"),
        ("DESTINATION_REGIONS", "DESTINATION_REGION"),
        # A small edit distance, scaled to the key's length.
        ("MAX_CONCURENCY", "MAX_CONCURRENCY"),
        ("DYR_RUN", "DRY_RUN"),
        ("METRICS_NAMESPCE", "METRICS_NAMESPACE"),
        ("COPY_RETENTION_DAY_US_ASHBURN_1", "COPY_RETENTION_DAYS_US_ASHBURN_1"),
        # A per-region prefix misspelt or bare, then a region: the destination's key.
        ("KMS_KEYID_IAD", "KMS_KEY_ID_US_ASHBURN_1"),
        ("KMS_KEY_ID", "KMS_KEY_ID_US_ASHBURN_1"),
    ],
)
def test_a_near_miss_is_refused_naming_the_key_meant(typed: str, meant: str) -> None:
    error = _refusal({**BASE, typed: "true"})

    assert (error.key, error.meant) == (typed, meant)
    assert error.message == f"{typed}: not a setting of this function; did you mean {meant}?"


@pytest.mark.parametrize(
    ("typed", "destinations", "meant"),
    [
        # Issue 24: the fix for this key told the operator to set it again.
        ("COPY_RETENTION_DAYS_US_ASHBURN", "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1"),
        ("COPY_RETENTION_DAYS_US_ASHBURM_1", "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1"),
        ("KMS_KEY_ID_IAD", "iad", "KMS_KEY_ID_US_ASHBURN_1"),
        ("KMS_KEY_ID_us_ashburn_1", "iad", "KMS_KEY_ID_US_ASHBURN_1"),
        # Of several destinations, the closest, not the first.
        ("COPY_RETENTION_DAYS_EU_FRANKFURT", "iad,fra", "COPY_RETENTION_DAYS_EU_FRANKFURT_1"),
    ],
)
def test_a_region_key_naming_no_destination_names_the_destinations_key(
    typed: str, destinations: str, meant: str
) -> None:
    error = _refusal({"DESTINATION_REGION": destinations, typed: "30"})

    assert (error.key, error.meant) == (typed, meant)
    assert error.message.startswith(f"{typed}: no destination region matches it (expected one of [")
    assert error.message.endswith(f"]); did you mean {meant}?")


def test_the_fix_sets_the_key_meant_and_never_the_misspelt_one() -> None:
    error = _refusal({**BASE, "COPY_RETENTION_DAYS_US_ASHBURN": "30"})

    fix = setting_fix(error)
    assert fix.startswith("fn config function <app> <function> COPY_RETENTION_DAYS_US_ASHBURN_1 <value>;")
    assert "fn config function <app> <function> COPY_RETENTION_DAYS_US_ASHBURN " not in fix
    # The misspelt key must go, or the function goes on refusing: only a delete names it.
    assert "fn delete config function <app> <function> COPY_RETENTION_DAYS_US_ASHBURN " in fix
    assert "fn delete config app <app> COPY_RETENTION_DAYS_US_ASHBURN," in fix
    verdict = verdict_for(error)
    assert (verdict.outcome.value, verdict.reason_code) == ("failed", "InvalidSetting")
    assert verdict.reason == f"{error.message} Fix it with: {fix}"


def test_a_region_that_is_not_a_destination_is_fixed_in_destination_region() -> None:
    for key in ("COPY_RETENTION_DAYS_EU_FRANKFURT_1", "KMS_KEY_ID_FRA"):
        error = _refusal({**BASE, key: "30"})

        assert error.key == key
        assert error.meant is None
        assert error.message == (
            f"{key}: eu-frankfurt-1 is not a destination region (DESTINATION_REGION is us-ashburn-1); "
            "add it to DESTINATION_REGION, or remove this key"
        )
        assert setting_fix(error) == "fn config function <app> <function> DESTINATION_REGION <value>"


def test_a_bad_value_of_our_own_key_is_fixed_in_that_key() -> None:
    error = _refusal({**BASE, "DRY_RUN": "maybe"})
    assert error.meant is None
    assert setting_fix(error) == "fn config function <app> <function> DRY_RUN <value>"


@pytest.mark.parametrize("key", NOT_OURS)
def test_keys_unlike_ours_are_left_alone(key: str) -> None:
    load_settings({**BASE, key: "x"})
    assert KnownKeys(SETTING_KEYS, ("KMS_KEY_ID_", "COPY_RETENTION_DAYS_"), ("us-ashburn-1",)).near_miss(key) is None


def test_a_whole_container_environment_reads() -> None:
    settings = load_settings({**BASE, **{key: "x" for key in NOT_OURS}, "DRY_RUN": "true"})
    assert settings.dry_run


@pytest.mark.parametrize("key", sorted(SETTING_KEYS))
def test_every_key_of_the_model_is_guarded(key: str) -> None:
    """The keys come from the model: a setting added later is guarded with no list to update."""
    slips = {key + "S" if not key.endswith("S") else key[:-1], key.lower()}
    if "_" in key:
        slips.add(key.replace("_", ""))
    for slip in slips:
        error = _refusal({**BASE, slip: "1"})
        assert (error.key, error.meant) == (slip, key)


def test_every_field_is_a_key_or_a_registered_family_of_keys() -> None:
    families = [family.field for family in PER_REGION_KEYS]
    for name, field in Settings.model_fields.items():
        assert (field.alias in SETTING_KEYS) != (name in families), name
    assert len(set(families)) == len(families)


def test_settings_still_to_come_are_guarded_the_same_way() -> None:
    known = KnownKeys(
        frozenset({"DRILL_TIMEOUT_MINUTES", "COMPUTE_ENDPOINT"}), ("DRILL_AVAILABILITY_DOMAIN_",), ("us-ashburn-1",)
    )
    assert known.near_miss("DRILL_TIMEOUT_MINUTE") == "DRILL_TIMEOUT_MINUTES"
    assert known.near_miss("COMPUTE_ENDPIONT") == "COMPUTE_ENDPOINT"
    assert known.near_miss("DRILL_AVAILABILITYDOMAIN_IAD") == "DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1"
    assert known.near_miss("DRILL_AVAILABILITY_DOMAIN_IAD") is None  # spelt right: its region is checked
    assert known.region_key_meant("DRILL_AVAILABILITY_DOMAIN_IAD", "DRILL_AVAILABILITY_DOMAIN_") == (
        "DRILL_AVAILABILITY_DOMAIN_US_ASHBURN_1"
    )


def test_without_destinations_a_region_key_is_named_by_its_pattern() -> None:
    error = _refusal({"DESTINATION_REGION": "atlantis", "KMS_KEY_ID": "x"})
    assert (error.key, error.meant) == ("KMS_KEY_ID", "KMS_KEY_ID_<REGION>")


@pytest.mark.parametrize(
    ("typed", "known", "edits"),
    [
        ("", "", 0),
        ("DRYRUN", "DRYRUN", 0),
        ("DRYRUM", "DRYRUN", 1),  # substituted
        ("DRYRUNN", "DRYRUN", 1),  # inserted
        ("DRYRN", "DRYRUN", 1),  # deleted
        ("DYRRUN", "DRYRUN", 1),  # neighbours swapped
        ("KITTEN", "SITTING", 3),
        ("", "ABC", 3),
    ],
)
def test_edit_distance(typed: str, known: str, edits: int) -> None:
    assert edit_distance(typed, known) == edits
    assert edit_distance(known, typed) == edits


def test_edit_distance_stops_past_its_limit() -> None:
    assert edit_distance("OCIRESOURCEPRINCIPALRPST", "DESTINATIONREGION", limit=2) == 3
    assert edit_distance("MAXCONCURENCY", "MAXCONCURRENCY", limit=2) == 1


@pytest.mark.parametrize(
    ("typed", "known", "near"),
    [
        ("FANOUX", "FAN_OUT", 1),  # 6 letters: one edit
        ("FANOXX", "FAN_OUT", None),
        ("MAX_CONKURENCY", "MAX_CONCURRENCY", 2),  # 14 letters: two edits
        ("MAX_KONKURENCY", "MAX_CONCURRENCY", None),
        ("MAX-CONCURRENCY", "MAX_CONCURRENCY", 0),
        ("TIMEOUT", "FAN_OUT", None),
        ("REGION", "DESTINATION_REGION", None),
    ],
)
def test_edits_allowed_grow_with_the_keys_length(typed: str, known: str, near: int | None) -> None:
    assert distance(typed, known) == near


# Through the fdk socket: the function refuses to run (the check's item: tests/deploy_kit/test_preflight.py).


def test_dryrun_misspelt_fails_every_invocation_and_copies_nothing(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")

    answer = function(DRYRUN="true").invoke(event_for("volume", backup["id"]))

    assert answer.status == 502
    body = answer.json()
    assert (body["outcome"], body["reasonCode"]) == ("failed", "InvalidSetting")
    assert body["reason"].startswith(
        "DRYRUN: not a setting of this function; did you mean DRY_RUN? "
        "Fix it with: fn config function <app> <function> DRY_RUN <value>;"
    )
    assert not [r for r in emulator.requests if r.operation == "copy"]
    assert emulator.copies_of(backup["id"], DESTINATION_REGION) == []


def test_a_body_field_is_never_offered_as_a_setting(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    """A fix names a key of ours or none: destinationRegions is the body's, rejected as such."""
    backup = new_backup("volume")

    body = function().invoke({"backupId": backup["id"], "destinationRegions": ["phx"]}).json()

    assert (body["outcome"], body["reasonCode"]) == ("rejected", "InvalidRequest")
    assert (
        body["reason"]
        == "destinationRegions: us-phoenix-1 is the backup's own region; a copy must go to another region"
    )
    assert not [r for r in emulator.requests if r.operation == "copy"]
