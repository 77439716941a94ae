"""The code-only deployment commands, held against the real oci CLI's help.

oci-cli runs from a virtual environment of its own (local_runtime/oci_cli.py: built once when
missing, then cached), so the SDK version it pins never touches the function's. Each printed
command's subcommands must exist; each option must be one the command (or the CLI itself)
takes, with a value exactly when it takes one and one of its choices when it has choices;
and every option the CLI marks [required] must be given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import code_only
from backup_copier.shared.errors import InvalidRequest
from local_runtime.archive import build as archive_build
from local_runtime.archive import run as archive_run
from local_runtime.oci_cli import cli_problems, oci_cli
from tests.helpers import PROJECT_ROOT

APPLICATION = "ocid1.fnapp.oc1.phx.aaaaaaaaexamplebackupcopierapplication"
ARCHIVE = "dist/backup-copier-0.0.1-py3.11-x86.zip"


@pytest.fixture(scope="module")
def oci() -> Path:
    return oci_cli()


@pytest.fixture(autouse=True)
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """make archive's ZIP where the commands name it (its content is not read: only that it is there)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ARCHIVE
    path.parent.mkdir()
    path.write_bytes(b"PK")
    return path


def _commands(**overrides: str) -> list[code_only.Command]:
    arguments = {"application_id": APPLICATION, "archive": ARCHIVE, "destination": "us-ashburn-1", **overrides}
    return [command for step in code_only.deployment(**arguments) for command in step.commands]


def test_the_steps_are_find_the_runtime_create_from_the_archive_and_update() -> None:
    paths = [" ".join(command.path) for command in _commands()]
    assert paths == [
        "fn runtime list",
        "fn runtime-version list",
        "fn function create archive-function direct-archive fn-update-runtime-config",
        "fn function update archive-function",
    ]


@pytest.mark.timeout(900)  # the first run on a machine installs oci-cli (about a minute)
@pytest.mark.parametrize("given", [{}, {"runtime": "python311", "function_id": "ocid1.fnfunc.oc1.phx.aaaaaaaaexample"}])
def test_every_command_is_one_the_real_cli_takes(oci: Path, given: dict[str, str]) -> None:
    for command in _commands(**given):
        assert cli_problems(oci, command.path, command.options) == []


def test_the_printed_text_is_those_commands(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["code-only", "--application-id", APPLICATION, "--archive", ARCHIVE, "--destination", "iad"]
    assert deploy.main(argv) == 0
    printed = capsys.readouterr().out
    for command in _commands(destination="iad"):
        assert command.render() in printed
    assert "--handler func.handler" in printed
    assert '--config \'{"DESTINATION_REGION": "us-ashburn-1"}\'' in printed  # validated, and normalised


def test_it_deploys_what_the_image_deploys_and_what_the_archive_serves() -> None:
    func_yaml = dict(
        line.split(": ", 1) for line in (PROJECT_ROOT / "func.yaml").read_text().splitlines() if ": " in line
    )
    assert (int(func_yaml["memory"]), int(func_yaml["timeout"])) == (code_only.MEMORY_MB, code_only.TIMEOUT_SECONDS)
    assert code_only.HANDLER == archive_run.HANDLER  # the handler tests/archive start the archive with
    assert code_only.DIRECT_UPLOAD_LIMIT == archive_build.DIRECT_UPLOAD_LIMIT


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"application_id": "ocid1.compartment.oc1..aaaa"}, InvalidRequest, "--application-id: expected an OCID"),
        ({"archive": "dist/function.zip"}, InvalidRequest, "--archive: expected dist/backup-copier-<version>"),
        ({"destination": "atlantis"}, InvalidRequest, "--destination: "),
        ({"config": ["lower=1"]}, InvalidRequest, "--config: 'lower=1': expected KEY=VALUE"),
        (
            {"config": ["SOURCE_COMPARTMENT_IDS=ocid1.volume.oc1..aaaa"]},
            InvalidRequest,
            "--config: SOURCE_COMPARTMENT_IDS: ",
        ),
        ({"destination": "us-phoenix-1"}, InvalidRequest, "--destination: us-phoenix-1 is the application's region"),
        ({"archive": "dist/backup-copier-9.9.9-py3.11-x86.zip"}, InvalidRequest, "--archive: no such file: dist/"),
    ],
)
def test_a_bad_value_is_named_and_nothing_is_printed(
    override: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"application_id": APPLICATION, "archive": ARCHIVE, "destination": "iad", **override}
    with pytest.raises(error) as raised:
        code_only.deployment(**arguments)  # type: ignore[arg-type]
    assert str(raised.value.message).startswith(message)  # type: ignore[attr-defined]


def test_a_missing_archive_is_an_error_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["code-only", "--application-id", APPLICATION, "--archive", "dist/backup-copier-9.9.9-py3.11-x86.zip"]
    assert deploy.main([*argv, "--destination", "iad"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "error: --archive: no such file: dist/backup-copier-9.9.9-py3.11-x86.zip; make archive writes it\n",
    )


def test_an_archive_over_the_direct_upload_is_sent_to_object_storage(archive: Path) -> None:
    with archive.open("wb") as stream:
        stream.truncate(code_only.DIRECT_UPLOAD_LIMIT + 1)
    with pytest.raises(InvalidRequest, match="over the 25 MB a direct upload takes: upload it to Object Storage"):
        code_only.deployment(application_id=APPLICATION, archive=str(archive), destination="iad")
