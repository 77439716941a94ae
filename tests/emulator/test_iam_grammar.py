"""The emulator's IAM grammar: every statement the deploy kit writes parses; what it cannot evaluate is refused."""

from __future__ import annotations

import json

import pytest

from backup_copier.deploy_kit import cli as deploy
from blockstorage_emulator.iam import PolicySyntaxError, parse_matching_rule, parse_statement
from blockstorage_emulator.iam.grammar import AllOf, AnyOf, Comparison, Location, Subject
from tests.helpers import PROJECT_ROOT

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaabackups"
FUNCTIONS = "ocid1.compartment.oc1..aaaaaaaafunctions"
KEY = "ocid1.key.oc1.iad.bbpsaxx6aaeug.abuwcljsexamplekeyexamplekeyexamplekey"


def _kit_statements() -> list[str]:
    """Everything the kit prints for IAM: the policies (fan-out and key included) and the metrics grant."""
    common = ["--function-compartment", FUNCTIONS, "--json"]
    policies = ["policies", "--source-region", "phx", "--destination", "iad,fra", "--compartment", COMPARTMENT]
    statements = json.loads(deploy.render([*policies, "--kms-key", KEY, "--fan-out", *common]))
    statements += json.loads(deploy.render(["metrics-policy", "--compartment", COMPARTMENT, "--json"]))
    return statements


def _worked_example() -> list[str]:
    lines = (PROJECT_ROOT / "deploy" / "policies.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("text", [*_kit_statements(), *_worked_example()])
def test_every_statement_the_kit_writes_parses(text: str) -> None:
    statement = parse_statement(text)
    assert statement.text == text
    assert statement.subjects
    assert (statement.verb is None) == bool(statement.permissions)


def test_a_statement_s_parts() -> None:
    statement = parse_statement(
        "Allow dynamic-group backup-copier to use volume-backups in compartment id "
        f"{COMPARTMENT} where all {{request.permission = 'VOLUME_BACKUP_COPY', request.region = 'phx'}}"
    )
    assert statement.subjects == (Subject("dynamic-group", "backup-copier"),)
    assert (statement.verb, statement.resource_type) == ("use", "volume-backups")
    assert statement.location == Location("compartment-id", COMPARTMENT)
    assert statement.condition == AllOf(
        (
            Comparison("request.permission", negated=False, value="VOLUME_BACKUP_COPY", is_pattern=False),
            Comparison("request.region", negated=False, value="phx", is_pattern=False),
        )
    )


def test_keywords_verbs_and_types_ignore_case_values_keep_theirs() -> None:
    statement = parse_statement(
        "allow Dynamic-Group dg TO Manage Volume-Backups IN Tenancy WHERE ANY {request.region='PHX'}"
    )
    assert (statement.verb, statement.resource_type) == ("manage", "volume-backups")
    assert statement.condition == AnyOf((Comparison("request.region", False, "PHX", False),))


def test_a_permission_list_names_permissions_not_a_verb() -> None:
    statement = parse_statement("Allow any-user to {VOLUME_BACKUP_READ, volume_backup_copy} in tenancy")
    assert statement.subjects == (Subject("any-user", None),)
    assert (statement.verb, statement.permissions) == (None, ("VOLUME_BACKUP_READ", "VOLUME_BACKUP_COPY"))


def test_several_subjects_a_compartment_path_nested_conditions_and_patterns() -> None:
    statement = parse_statement(
        "Allow group Admins, dynamic-group dg, service blockstorage to read metrics in compartment Prod:Backups "
        "where all {target.metrics.namespace != /oci_*/, any {request.principal.id = 'a', request.principal.id = 'b'}}"
    )
    assert [subject.kind for subject in statement.subjects] == ["group", "dynamic-group", "service"]
    assert statement.location == Location("compartment-path", "Prod:Backups")
    assert isinstance(statement.condition, AllOf)
    first, second = statement.condition.conditions
    assert first == Comparison("target.metrics.namespace", negated=True, value="oci_*", is_pattern=True)
    assert isinstance(second, AnyOf) and len(second.conditions) == 2


def test_tag_conditions_name_a_namespace_and_a_key() -> None:
    statement = parse_statement(
        "Allow any-user to manage volume-backups in tenancy where target.resource.tag.Ops.Owner = 'dr'"
    )
    assert statement.condition == Comparison("target.resource.tag.ops.owner", False, "dr", False)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Endorse group A to manage volume-backups in tenancy", "only Allow"),
        ("Allow dynamic-group id ocid1.dynamicgroup.oc1..aaaa to read metrics in tenancy", "by OCID"),
        ("Allow dynamic-group 'Default'/'dg' to read metrics in tenancy", "cannot read"),
        ("Allow dynamic-group 'Default' to read metrics in tenancy", "identity-domain"),
        (
            "Allow dynamic-group dg to read metrics in tenancy where request.utc-timestamp before '2020-01-01Z'",
            "request.utc-timestamp",
        ),
        ("Allow dynamic-group dg to read metrics in tenancy where target.bucket.name = 'b'", "target.bucket.name"),
        ("Allow dynamic-group dg to read metrics in tenancy where target.metrics.namespace = ns", "single quotes"),
        ("Allow dynamic-group dg to read metrics in tenancy where target.metrics.namespace in ('a')", "only = and !="),
        ("Allow dynamic-group dg to read metrics in tenancy extra", "where"),
        ("Allow dynamic-group dg to read metrics", "ends where"),
        ("Allow dynamic-group dg to peek metrics in tenancy", "inspect or read or use or manage"),
        ("Allow dynamic-group dg to read metrics in compartment id ocid1.volume.oc1..aaaa", "not a compartment OCID"),
        ("Allow dynamic-group dg to {VOLUME-READ} in tenancy", "not a permission name"),
        ("Allow dynamic-group dg to read metrics in tenancy where all {request.region = 'phx'", "ends where"),
    ],
)
def test_what_the_emulator_cannot_evaluate_is_refused_naming_the_statement(text: str, why: str) -> None:
    with pytest.raises(PolicySyntaxError) as raised:
        parse_statement(text)
    assert text in str(raised.value)
    assert why in str(raised.value)


def test_the_kit_s_matching_rules_parse() -> None:
    for rule in (
        deploy.render(["dynamic-group", "--function-id", "ocid1.fnfunc.oc1.phx.aaaaaaaaexample"]).strip(),
        deploy.render(["dynamic-group", "--function-compartment", FUNCTIONS]).strip(),
    ):
        condition = parse_matching_rule(rule)
        assert isinstance(condition, AllOf)
        assert condition.conditions[0] == Comparison("resource.type", False, "fnfunc", False)


def test_a_matching_rule_may_be_a_single_condition_or_any() -> None:
    assert parse_matching_rule("resource.compartment.id = 'c'") == Comparison(
        "resource.compartment.id", False, "c", False
    )
    assert isinstance(parse_matching_rule("Any {instance.id = 'i', resource.id != 'r'}"), AnyOf)


@pytest.mark.parametrize(
    "rule", ["tag.ops.team.value = 'dr'", "request.region = 'phx'", "ALL {resource.type = 'fnfunc'", "resource.id 'x'"]
)
def test_a_matching_rule_the_emulator_cannot_evaluate_is_refused(rule: str) -> None:
    with pytest.raises(PolicySyntaxError, match="matching rule"):
        parse_matching_rule(rule)
