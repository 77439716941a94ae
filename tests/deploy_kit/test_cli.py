"""The deploy kit: deploy/ is what the command prints, and it matches what the function accepts."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path

import pytest

from backup_copier.copy.copier import CopyRequest
from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam
from backup_copier.dispatch import parse_request
from backup_copier.shared.errors import InvalidRequest, InvalidSetting
from backup_copier.shared.kinds import BEGIN_EVENT_TYPES, BY_EVENT_TYPE, SPECS, BackupKind
from backup_copier.shared.settings import load_settings
from local_runtime import samples
from tests.helpers import PROJECT_ROOT

DEPLOY_DIR = PROJECT_ROOT / "deploy"
COMPARTMENT = deploy.EXAMPLE_BACKUP_COMPARTMENT


@pytest.mark.parametrize("name", sorted(deploy.EXAMPLE))
def test_checked_in_file_is_what_the_command_prints(name: str) -> None:
    assert (DEPLOY_DIR / name).read_text() == deploy.render(deploy.EXAMPLE[name]), (
        f"deploy/{name} is stale: run python -m backup_copier.deploy_kit example deploy"
    )


def test_deploy_folder_holds_only_generated_files() -> None:
    assert sorted(path.name for path in DEPLOY_DIR.iterdir()) == sorted(deploy.EXAMPLE)


def test_rule_matches_exactly_the_event_types_the_function_accepts() -> None:
    condition = deploy.rule_condition()
    assert condition == {"eventType": sorted(BY_EVENT_TYPE)}
    for event_type in condition["eventType"]:
        event = copy.deepcopy(samples.load("volume-backup-completed.json"))
        event["eventType"] = event_type
        event["data"]["resourceId"] = event["data"]["resourceId"].replace(
            "volumebackup", BY_EVENT_TYPE[event_type].ocid_type
        )
        assert isinstance(parse_request(json.dumps(event).encode()), CopyRequest)
    for event_type in BEGIN_EVENT_TYPES:
        event = dict(samples.load("volume-backup-completed.json"), eventType=event_type)
        with pytest.raises(InvalidRequest):
            parse_request(json.dumps(event).encode())


def test_rule_filters_as_the_settings_filter() -> None:
    condition = deploy.rule_condition([COMPARTMENT], "dr-copy=true")
    assert condition["data"] == {"compartmentId": [COMPARTMENT], "freeFormTags": {"dr-copy": "true"}}
    # A bare key, as REQUIRED_FREEFORM_TAG=dr-copy: the tag present with any value.
    assert deploy.rule_condition(required_tag="dr-copy")["data"] == {"freeFormTags": {"dr-copy": "*"}}
    # The sample events carry the tag and compartment the example rule asks for.
    data = samples.load("volume-backup-completed.json")["data"]
    example = json.loads((DEPLOY_DIR / "rule-condition.json").read_text())["data"]
    assert data["compartmentId"] in example["compartmentId"]
    assert all(data["freeFormTags"][key] == value for key, value in example["freeFormTags"].items())


@pytest.mark.parametrize("tag", ["=true", " "])
def test_rule_refuses_a_tag_without_key(tag: str) -> None:
    with pytest.raises(InvalidRequest):
        deploy.rule_condition(required_tag=tag)


def test_every_backup_kind_has_documented_grants() -> None:
    assert set(iam.GRANTS) == set(BackupKind) == set(SPECS)
    for kind, grants in iam.GRANTS.items():
        assert grants.find, kind
        assert grants.create, kind
        for grant in (*grants.find, *grants.copy, *grants.create):
            assert grant.source.startswith("https://docs.oracle.com/"), grant
            assert grant.permissions, grant


def test_policy_names_every_permission_with_its_source() -> None:
    text = (DEPLOY_DIR / "policies.txt").read_text()
    statements = json.loads((DEPLOY_DIR / "policies.json").read_text())
    assert [line for line in text.splitlines() if line.startswith("Allow ")] == statements
    for grants in iam.GRANTS.values():
        for grant in (*grants.find, *grants.copy, *grants.create):
            assert f"{', '.join(grant.permissions)} for {grant.why}; {grant.source}" in text
            if grant.unconfirmed:
                assert f"UNCONFIRMED: {grant.unconfirmed}" in text
    assert "where all {request.permission = 'VOLUME_BACKUP_COPY', request.region = 'phx'}" in text
    assert "where all {request.permission = 'VOLUME_BACKUP_CREATE', request.region = 'iad'}" in text
    assert f"target.key.id = '{deploy.EXAMPLE_KMS_KEY}'" in text


def test_several_destinations_share_one_statement_per_grant() -> None:
    argv = [
        "policies",
        "--source-region",
        "phx",
        "--destination",
        "iad,eu-frankfurt-1",
        "--function-compartment",
        deploy.EXAMPLE_FUNCTION_COMPARTMENT,
        "--json",
    ]
    statements = json.loads(deploy.render(argv))
    assert (
        "Allow dynamic-group backup-copier to manage volume-backups in tenancy where all "
        "{request.permission = 'VOLUME_BACKUP_CREATE', any {request.region = 'iad', request.region = 'fra'}}"
    ) in statements
    assert not any("key-delegate" in line for line in statements)


def test_kms_key_is_validated_as_the_function_validates_it() -> None:
    argv = [
        *deploy.EXAMPLE["policies.txt"][:3],
        "--destination",
        "eu-frankfurt-1",
        "--kms-key",
        deploy.EXAMPLE_KMS_KEY,
        "--function-compartment",
        deploy.EXAMPLE_FUNCTION_COMPARTMENT,
    ]
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(argv)
    with pytest.raises(InvalidSetting) as same:
        load_settings({"DESTINATION_REGION": "eu-frankfurt-1", "KMS_KEY_ID_US_ASHBURN_1": deploy.EXAMPLE_KMS_KEY})
    # The function's own sentence, said about the option that gave the key.
    assert raised.value.field == "--kms-key"
    assert raised.value.message == "--kms-key: " + same.value.message.removeprefix("KMS_KEY_ID_US_ASHBURN_1: ")


def test_dynamic_group_rule_for_a_compartment() -> None:
    printed = deploy.render(["dynamic-group", "--function-compartment", deploy.EXAMPLE_FUNCTION_COMPARTMENT])
    assert printed == (
        f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{deploy.EXAMPLE_FUNCTION_COMPARTMENT}'}}\n"
    )


def test_cli_reports_a_bad_value_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["rule-condition", "--compartment", "ocid1.volume.oc1..aaaa"]) == 2
    assert "error: --compartment: expected an OCID of kind" in capsys.readouterr().err


def test_example_regenerates_the_folder(tmp_path: Path) -> None:
    deploy.write_example(tmp_path)
    for name in deploy.EXAMPLE:
        assert (tmp_path / name).read_text() == (DEPLOY_DIR / name).read_text()


# The placeholders the docs use, and a value of the right kind for each.
_PLACEHOLDERS = {
    "<app>": "APP",
    "<function-ocid>": deploy.EXAMPLE_FUNCTION_ID,
    "<backups-compartment-ocid>": deploy.EXAMPLE_BACKUP_COMPARTMENT,
    "<functions-compartment-ocid>": deploy.EXAMPLE_FUNCTION_COMPARTMENT,
    "<destination-key-ocid>": deploy.EXAMPLE_KMS_KEY,
    "<topic-ocid>": "ocid1.onstopic.oc1.phx.aaaaaaaaexampletopicexampletopic",
    "<application-ocid>": "ocid1.fnapp.oc1.phx.aaaaaaaaexamplebackupcopierapplication",
    "<tenancy-ocid>": "ocid1.tenancy.oc1..aaaaaaaaexampletenancyexampletenancy",
}
# Up to the end of the line (continuations followed), a `)` closing `$(...)`, or a redirection.
_DOCUMENTED_COMMAND = re.compile(r"python -m backup_copier\.deploy_kit ((?:[^\n)\\]|\\\n)+)")


def _documented_commands() -> list[tuple[str, list[str]]]:
    found = []
    for page in (
        PROJECT_ROOT / "README.md",
        *(PROJECT_ROOT / "docs" / name for name in ("deploying.md", "recovery-point.md")),
    ):
        for block in re.findall(r"^```sh\n(.*?)^```", page.read_text(), re.S | re.M):
            for match in _DOCUMENTED_COMMAND.finditer(block):
                text = match.group(1).replace("\\\n", " ").split(" > ")[0]
                if "..." in text:
                    continue  # an abbreviation of the command above it
                for placeholder, value in _PLACEHOLDERS.items():
                    text = text.replace(placeholder, value)
                found.append((page.name, shlex.split(text, comments=True)))
    return found


DOCUMENTED = _documented_commands()


def test_the_docs_show_every_deploy_kit_command() -> None:
    assert {argv[0] for _, argv in DOCUMENTED} >= {
        "quickstart",
        "dynamic-group",
        "policies",
        "rule-condition",
        "metrics-policy",
        "report-schedule",
        "alarms",
        "code-only",
        "tenancy-setup",
    }


@pytest.fixture
def in_a_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder where `make archive` has run: the archive the examples name is there."""
    monkeypatch.chdir(tmp_path)
    archive = tmp_path / deploy.EXAMPLE_ARCHIVE
    archive.parent.mkdir()
    archive.write_bytes(b"PK")
    return tmp_path


@pytest.mark.parametrize(("page", "argv"), DOCUMENTED, ids=[f"{page}:{argv[0]}" for page, argv in DOCUMENTED])
def test_documented_command_runs_as_written(
    page: str, argv: list[str], capsys: pytest.CaptureFixture[str], in_a_clone: Path
) -> None:
    assert not any(part.startswith("<") for part in argv), f"{page}: a placeholder this test does not know: {argv}"
    assert deploy.main(argv) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip()


def test_expiry_may_delete_only_in_the_destination_regions_and_mark_in_both() -> None:
    argv = ["policies", "--source-region", "phx", "--destination", "iad", "--function-compartment"]
    statements = json.loads(deploy.render([*argv, deploy.EXAMPLE_FUNCTION_COMPARTMENT, "--json"]))
    deletes = [line for line in statements if "_DELETE'" in line]
    updates = [line for line in statements if "_UPDATE'" in line]
    kinds = ("VOLUME_BACKUP", "BOOT_VOLUME_BACKUP", "VOLUME_GROUP_BACKUP")
    assert sorted(line.split("'")[1] for line in deletes) == sorted(f"{kind}_DELETE" for kind in kinds)
    assert sorted(line.split("'")[1] for line in updates) == sorted(f"{kind}_UPDATE" for kind in kinds)
    # Deleting is narrowed to the destination: a source backup can never be deleted under this policy.
    assert all(line.endswith("request.region = 'iad'}") for line in deletes)
    assert all("any {request.region = 'phx', request.region = 'iad'}" in line for line in updates)
    text = deploy.render([*argv, deploy.EXAMPLE_FUNCTION_COMPARTMENT])
    assert "IAM conditions cannot test freeform tags" in text
    assert "target.resource.tag" in text


SUBCOMMANDS = {
    action.dest: parser
    for group in deploy.parser()._subparsers._group_actions  # type: ignore[union-attr]
    for action in group._choices_actions  # type: ignore[attr-defined]
    for parser in [group.choices[action.dest]]  # type: ignore[attr-defined]
}


def test_every_subcommand_is_listed() -> None:
    assert set(SUBCOMMANDS) == {
        "quickstart",
        "tenancy-setup",
        "rule-condition",
        "policies",
        "dynamic-group",
        "example",
        "metrics-policy",
        "report-schedule",
        "alarms",
        "fan-out",
        "code-only",
    }


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_option_is_described(name: str) -> None:
    for action in SUBCOMMANDS[name]._actions:
        assert action.help, f"{name} {'/'.join(action.option_strings) or action.dest} has no help text"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_help_ends_with_an_example_that_runs_as_written(
    name: str, capsys: pytest.CaptureFixture[str], in_a_clone: Path
) -> None:
    text = SUBCOMMANDS[name].format_help()
    assert "\nexample:\n" in text
    example = text.split("\nexample:\n", 1)[1]
    words = shlex.split(example.replace("\\\n", " "))
    assert words[:3] == [".venv/bin/python", "-m", "backup_copier.deploy_kit"]
    assert words[3] == name
    assert deploy.main(words[3:]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip()


_SOURCE_IS_DESTINATION = {
    "policies": [*deploy.EXAMPLE_POLICIES[:3], "--destination", "iad,phx", *deploy.EXAMPLE_POLICIES[9:]],
    "quickstart": [*deploy.EXAMPLE_QUICKSTART[:7], "--destination", "us-phoenix-1", *deploy.EXAMPLE_QUICKSTART[9:]],
    "tenancy-setup": [
        "tenancy-setup",
        *deploy.EXAMPLE_QUICKSTART[1:7],
        "--destination",
        "iad,us-phoenix-1",
        "--topic",
        deploy.EXAMPLE_TOPIC,
    ],
    # The application's region (its OCID's) is where the function and the backups are.
    "code-only": [
        "code-only",
        "--application-id",
        deploy.EXAMPLE_APPLICATION,
        "--archive",
        deploy.EXAMPLE_ARCHIVE,
        "--destination",
        "phx",
    ],
}


@pytest.mark.parametrize("name", sorted(_SOURCE_IS_DESTINATION))
def test_a_destination_that_is_the_source_region_is_refused_by_every_subcommand(
    name: str, capsys: pytest.CaptureFixture[str], in_a_clone: Path
) -> None:
    # Before: policies printed a delete grant in the source region (request.region = 'phx') for this input.
    argv = _SOURCE_IS_DESTINATION[name]
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(argv)
    assert raised.value.field == "--destination"
    assert raised.value.message.startswith("--destination: us-phoenix-1 is ")
    assert deploy.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: --destination: us-phoenix-1 is ") and "copies go to other regions" in err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (
            ["policies", "--source-region", "atlantis", "--destination", "iad", "--function-compartment", COMPARTMENT],
            "--source-region",
        ),
        (
            ["policies", "--source-region", "phx", "--destination", "atlantis", "--function-compartment", COMPARTMENT],
            "--destination",
        ),
        (
            ["alarms", "--compartment", COMPARTMENT, "--destination", "mars-1", "--topic", deploy.EXAMPLE_TOPIC],
            "--destination",
        ),
        ([*deploy.EXAMPLE_QUICKSTART, "--home-region", "atlantis"], "--home-region"),
    ],
)
def test_a_region_error_names_its_option(argv: list[str], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {option}: ")
