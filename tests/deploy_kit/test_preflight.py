"""{"action": "check"} through the fdk socket: one test per item that can fail, none makes a copy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from backup_copier.deploy_kit import iam
from backup_copier.shared.kinds import SPECS, BackupKind
from backup_copier.shared.metrics import use_metrics_statement
from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.credentials import DEFAULT_COMPARTMENT_ID
from tests.helpers import COMPARTMENT_ID, DESTINATION_REGION, SOURCE_REGION, FunctionFactory

CHECK = {"action": "check"}
NO_RESOURCE_PRINCIPAL = {
    "OCI_RESOURCE_PRINCIPAL_VERSION": None,
    "OCI_RESOURCE_PRINCIPAL_RPST": None,
    "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": None,
    "OCI_RESOURCE_PRINCIPAL_REGION": None,
}


def _checks(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in body["checks"]}


def _failing(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [check for check in body["checks"] if not check["ok"]]


def _label(kind: BackupKind) -> str:
    return kind.value.replace("_", " ")


def test_ready_deployment_makes_no_copy(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function().invoke(samples.load("check.json"))

    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["outcome"] == "ready"
    assert body["reasonCode"] == "Ready"
    assert body["sourceRegion"] == SOURCE_REGION
    checks = _checks(body)
    assert all(check["ok"] for check in checks.values()), _failing(body)
    for role, region in (("source", SOURCE_REGION), ("destination", DESTINATION_REGION)):
        for kind in BackupKind:
            detail = checks[f"{role} {region}: read {_label(kind)} backups"]["detail"]
            assert DEFAULT_COMPARTMENT_ID in detail
            assert "SOURCE_COMPARTMENT_IDS is not set" in detail
    listed = {(r.region, r.kind) for r in emulator.requests if r.operation == "list"}
    assert listed == {(region, kind.value) for region in (SOURCE_REGION, DESTINATION_REGION) for kind in BackupKind}
    assert not [r for r in emulator.requests if r.operation == "copy"]
    [line] = [line for line in function().log_lines() if line.get("callId") and line["outcome"] == "ready"][-1:]
    assert line["checks"] == body["checks"]


def test_named_compartments_are_listed_and_a_backup_read(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("boot_volume")
    body = function().invoke({**CHECK, "compartmentIds": [COMPARTMENT_ID]}).json()

    assert body["outcome"] == "ready", _failing(body)
    assert {r.query.get("compartmentId") for r in emulator.requests if r.operation == "list"} == {COMPARTMENT_ID}
    # The list is newest first, so the backup just made is the one read (other tests leave theirs).
    gets = [r for r in emulator.requests if r.operation == "get" and r.kind == "boot_volume"]
    assert [r.path.rsplit("/", 1)[1] for r in gets if r.region == SOURCE_REGION] == [backup["id"]]


def test_invalid_settings_name_the_key_and_the_command(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function(DESTINATION_REGION="atlantis").invoke(CHECK)

    assert answer.status == 502
    body = answer.json()
    assert body["outcome"] == "not_ready"
    [failing] = _failing(body)
    assert failing["name"] == "settings"
    assert failing["detail"].startswith("DESTINATION_REGION: 'atlantis' is not a region name")
    assert failing["fix"] == "fn config function <app> <function> DESTINATION_REGION <value>"
    # The other checks still ran and said what they could.
    assert _checks(body)["resource principal"]["ok"]
    assert emulator.requests == []


def test_a_misspelt_key_is_a_failing_settings_item(emulator: Emulator, function: FunctionFactory) -> None:
    # Issue 22: DRYRUN=true copied for real while the check said the settings were valid.
    body = function(DRYRUN="true").invoke(CHECK).json()

    assert body["outcome"] == "not_ready"
    [item] = _failing(body)
    assert item["name"] == "settings"
    assert item["detail"] == "DRYRUN: not a setting of this function; did you mean DRY_RUN?"
    assert item["fix"].startswith("fn config function <app> <function> DRY_RUN <value>; and remove DRYRUN: ")
    assert "fn config function <app> <function> DRYRUN " not in item["fix"]
    # The check and the answer say the same: one sentence (outcomes.setting_fix), whose region-key
    # case (issue 24: COPY_RETENTION_DAYS_US_ASHBURN) tests/shared/test_setting_names.py covers.


def test_missing_resource_principal_is_a_failing_check(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function(**NO_RESOURCE_PRINCIPAL).invoke(CHECK)

    assert answer.status == 502
    body = answer.json()
    [failing] = _failing(body)
    assert failing["name"] == "resource principal"
    assert "resource principal unavailable" in failing["detail"]
    assert "OCI_RESOURCE_PRINCIPAL_VERSION" in failing["fix"]
    assert _checks(body)["settings"]["ok"]


@pytest.mark.parametrize("kind", list(BackupKind))
@pytest.mark.parametrize(("role", "region"), [("source", SOURCE_REGION), ("destination", DESTINATION_REGION)])
def test_denied_list_names_the_missing_statement(
    kind: BackupKind, role: str, region: str, emulator: Emulator, function: FunctionFactory
) -> None:
    emulator.deny("list", region=region, kind=kind.value)
    answer = function().invoke(CHECK)

    assert answer.status == 502
    [failing] = _failing(answer.json())
    assert failing["name"] == f"{role} {region}: read {_label(kind)} backups"
    assert "404 NotAuthorizedOrNotFound" in failing["detail"]
    heading, *statements = failing["fix"].splitlines()
    assert statements == iam.find_statements(SPECS[kind], region, DEFAULT_COMPARTMENT_ID)
    assert statements[0].startswith("Allow dynamic-group backup-copier to inspect ")
    assert f"request.region = '{iam.region_key(region)}'" in statements[0]
    # Issue 24: the fix said nothing of granting on the function's own compartment, which may hold no backup.
    assert heading.startswith(
        f"For compartment {DEFAULT_COMPARTMENT_ID}, the function's own compartment, in {region} (the {role} region). "
        "It was checked because SOURCE_COMPARTMENT_IDS is not set; if your backups are in other compartments, set "
        "SOURCE_COMPARTMENT_IDS to them"
    )


def test_denied_read_of_a_backup_is_found(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    new_backup("volume")
    emulator.deny("get", region=SOURCE_REGION, kind="volume")
    body = function().invoke({**CHECK, "compartmentIds": [COMPARTMENT_ID]}).json()

    [failing] = _failing(body)
    assert failing["name"] == f"source {SOURCE_REGION}: read volume backups"
    assert failing["detail"].startswith(f"GetVolumeBackup in {SOURCE_REGION}, compartment {COMPARTMENT_ID}: 404")
    assert "VOLUME_BACKUP_INSPECT and VOLUME_INSPECT" in failing["detail"]
    assert f"compartment id {COMPARTMENT_ID}" in failing["fix"]


def test_unreachable_region_is_reported_once(function: FunctionFactory) -> None:
    # Nothing listens on port 1: every request is refused, as from a subnet with no route to OCI.
    # Metrics off: Monitoring's own route is the next test's.
    answer = function(BLOCKSTORAGE_ENDPOINT="http://127.0.0.1:1/{region}", METRICS="off").invoke(
        CHECK, deadline_seconds=4
    )

    assert answer.status == 502
    failing = _failing(answer.json())
    assert [check["name"] for check in failing] == [
        f"source {SOURCE_REGION}: read volume backups",
        f"destination {DESTINATION_REGION}: read volume backups",
    ]
    assert all("service gateway" in check["fix"] for check in failing)


def test_unreachable_monitoring_names_the_route(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function(METRICS_ENDPOINT="http://127.0.0.1:1/{region}").invoke(CHECK, deadline_seconds=10)

    assert answer.status == 502
    [failing] = _failing(answer.json())
    assert failing["name"] == f"metrics {SOURCE_REGION}: post to namespace backup_copier"
    assert "could not reach the telemetry-ingestion endpoint" in failing["detail"]
    assert "service gateway" in failing["fix"]


def test_destination_in_own_region_is_a_failing_check(emulator: Emulator, function: FunctionFactory) -> None:
    body = function(DESTINATION_REGION=f"{SOURCE_REGION},{DESTINATION_REGION}").invoke(CHECK).json()

    [failing] = _failing(body)
    assert failing["name"] == "destination regions"
    assert "DESTINATION_REGION" in failing["fix"]


def test_kms_key_is_checked_as_far_as_it_can_be(emulator: Emulator, function: FunctionFactory) -> None:
    key = emulator.add_kms_key(DESTINATION_REGION)
    body = function(KMS_KEY_ID_US_ASHBURN_1=key).invoke(CHECK).json()

    assert body["outcome"] == "ready"
    check = _checks(body)[f"KMS key for {DESTINATION_REGION}"]
    assert check["ok"] is True
    assert check["verified"] is False
    assert "not verified" in check["detail"]
    for statement in iam.kms_statements(key):
        assert statement in check["detail"]


def test_unknown_field_is_rejected(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function().invoke({**CHECK, "compartments": []})
    assert answer.status == 502
    body = answer.json()
    assert body["outcome"] == "rejected"
    assert body["reasonCode"] == "InvalidField"
    assert emulator.requests == []


def test_retention_is_reported_with_what_the_expiry_pass_will_do(emulator: Emulator, function: FunctionFactory) -> None:
    default = _checks(function().invoke(CHECK).json())["retention"]
    assert default["ok"] and default["verified"] is False
    assert "copies of manual backups never expire (set COPY_RETENTION_DAYS" in default["detail"]
    assert "newest 1 AVAILABLE copy of each volume" in default["detail"]

    configured = _checks(function(COPY_RETENTION_DAYS="14", KEEP_LAST_COPIES="3", DRY_RUN="on").invoke(CHECK).json())
    detail = configured["retention"]["detail"]
    assert "expire 14 days after their source was made" in detail
    assert "newest 3 AVAILABLE copies" in detail
    assert "DRY_RUN is on: it deletes nothing" in detail
    assert not [r for r in emulator.requests if r.operation in ("update", "delete")]


# Metrics: the check posts one datapoint no alarm watches, because only a post proves the grant.


def test_metrics_can_be_posted(emulator: Emulator, function: FunctionFactory) -> None:
    body = function().invoke({**CHECK, "compartmentIds": [COMPARTMENT_ID]}).json()

    check = _checks(body)[f"metrics {SOURCE_REGION}: post to namespace backup_copier"]
    assert check["ok"] is True
    assert COMPARTMENT_ID in check["detail"]
    [posted] = emulator.posted_metrics(COMPARTMENT_ID)
    assert (posted.name, posted.namespace, posted.dimensions) == (
        "preflight_check",
        "backup_copier",
        {"check": "metrics"},
    )


def test_a_missing_metrics_grant_names_the_statement(emulator: Emulator, function: FunctionFactory) -> None:
    emulator.deny("post_metrics")

    answer = function(METRICS_NAMESPACE="dr_copies").invoke(CHECK)

    assert answer.status == 502
    [failing] = _failing(answer.json())
    assert failing["name"] == f"metrics {SOURCE_REGION}: post to namespace dr_copies"
    assert "NotAuthorizedOrNotFound" in failing["detail"]
    heading, statement = failing["fix"].splitlines()
    assert statement == use_metrics_statement(DEFAULT_COMPARTMENT_ID, "dr_copies", iam.DEFAULT_DYNAMIC_GROUP)
    assert heading.startswith(
        f"For compartment {DEFAULT_COMPARTMENT_ID}, the function's own compartment, in {SOURCE_REGION}"
    )
    # Issue 24, finding 8: the detail and the fix name the same dynamic group.
    assert (
        f"the dynamic group {iam.DEFAULT_DYNAMIC_GROUP} lacks METRIC_WRITE for the namespace dr_copies"
        in (failing["detail"])
    )
    assert "<function dynamic group>" not in json.dumps(answer.json())


def test_metrics_off_needs_no_grant(emulator: Emulator, function: FunctionFactory) -> None:
    emulator.deny("post_metrics")

    body = function(METRICS="off").invoke(CHECK).json()

    assert body["outcome"] == "ready"
    assert _checks(body)["metrics"]["detail"].startswith("METRICS is off")
    assert not [r for r in emulator.requests if r.operation == "post_metrics"]


def test_retention_shows_each_destination_regions_rule(emulator: Emulator, function: FunctionFactory) -> None:
    settings = {
        "DESTINATION_REGION": f"{DESTINATION_REGION},eu-frankfurt-1,ap-tokyo-1",
        "COPY_RETENTION_DAYS": "14",
        "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "90",
        "COPY_RETENTION_DAYS_AP_TOKYO_1": "never",
    }
    detail = _checks(function(**settings).invoke(CHECK).json())["retention"]["detail"]

    assert (
        f"into {DESTINATION_REGION}, copies of policy backups expire with their source, and copies of manual "
        "backups expire 14 days after their source was made; "
        "into eu-frankfurt-1, every copy expires 90 days after its source was made (COPY_RETENTION_DAYS_EU_FRANKFURT_1), "
        "whatever its source's own expiry; "
        "into ap-tokyo-1, every copy is kept for ever (COPY_RETENTION_DAYS_AP_TOKYO_1=never)"
    ) in detail
