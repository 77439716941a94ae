"""`tenancy-setup`: the printed text run in bash by the real oci CLI, against a local recording server.

The text runs as an operator would paste it, in a real bash. `oci` on its PATH is oci-cli
3.95.1 itself, from its own cached virtual environment (local_runtime/oci_cli.py, shared with
the code-only deployment's test), given a generated API key and `--endpoint` a local HTTP server
that records each request and answers with an OCID. So the test sees what the shell hands the
CLI (quoting, here-documents, the schedule OCIDs `--query data.id --raw-output` put into the
last policy) and what the CLI makes of it: the JSON bodies it would send to OCI. Each command is
also held against `oci <command> --help`: the subcommands exist, every option is one the command
(or the CLI itself) takes, with a value exactly when it takes one and one of its choices when it
has choices, and every [required] option is given. Every body a schedule sends goes through the
function's own parser.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam, tenancy_setup
from backup_copier.dispatch import parse_request
from backup_copier.expire.request import ExpireRequest
from backup_copier.report.request import ReportRequest
from backup_copier.shared.errors import InvalidRequest
from backup_copier.shared.metrics import RPO_HOURS, VOLUMES_BREACHING
from backup_copier.sweep.request import ReconcileRequest
from local_runtime.oci_cli import cli_help, cli_problems, oci_cli

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancyexampletenancy"
FUNCTION = deploy.EXAMPLE_FUNCTION_ID  # in phx
FUNCTION_COMPARTMENT = deploy.EXAMPLE_FUNCTION_COMPARTMENT
TOPIC = "ocid1.onstopic.oc1.phx.aaaaaaaaexampletopicexampletopic"
KEY = deploy.EXAMPLE_KMS_KEY  # in iad
OPTIONS = {
    "--tenancy": TENANCY,
    "--function-id": FUNCTION,
    "--function-compartment": FUNCTION_COMPARTMENT,
    "--source-region": "us-phoenix-1",
    "--destination": "iad,eu-frankfurt-1",
    "--topic": TOPIC,
    "--kms-key": KEY,
}
REQUESTS = {"reconcile": ReconcileRequest, "expire": ExpireRequest, "report": ReportRequest}
# What `oci` runs: records its arguments, one JSON list a line, then the real CLI against the recording server.
_WRAPPER = """#!/bin/sh
{python} -c 'import json, os, sys; open(os.environ["OCI_CALLS"], "a").write(json.dumps(sys.argv[1:]) + "\\n")' "$@"
exec {oci} --config-file {config} --endpoint {endpoint} "$@"
"""


@dataclass(frozen=True)
class Sent:
    """One request the real CLI sent: its path and JSON body."""

    path: str
    body: dict[str, Any]


class _Recorder(BaseHTTPRequestHandler):
    sent: list[Sent]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.sent.append(Sent(self.path, body))
        # A schedule's OCID made from its name, so the test can find it in the policy the shell wrote.
        name = str(body.get("displayName", "resource")).replace("-", "")
        answer = json.dumps({"id": f"ocid1.resourceschedule.oc1.phx.{name}"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Call:
    path: tuple[str, ...]
    options: dict[str, str | None]


@pytest.fixture(scope="module")
def oci() -> Path:
    return oci_cli()


def _argv(**changes: str | None) -> list[str]:
    options = {**OPTIONS, **changes}
    return ["tenancy-setup", *[part for name, value in options.items() if value is not None for part in (name, value)]]


@dataclass(frozen=True)
class Run:
    arguments: list[list[str]]  # each oci command's arguments, as the shell handed them over
    sent: list[Sent]  # each request the real CLI made of them
    folder: Path


def _api_key(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = folder / "key.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    config = folder / "config"
    config.write_text(
        "[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaaexampleuser\n"
        "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\n"
        f"key_file={pem}\ntenancy={TENANCY}\nregion=us-phoenix-1\n"
    )
    pem.chmod(0o600)
    config.chmod(0o600)
    return config


@pytest.fixture(scope="module")
def ran(oci: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The printed text run by bash in an empty folder, `oci` being the real CLI sending to a local server."""
    folder = tmp_path_factory.mktemp("tenancy-setup")
    sent: list[Sent] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Recorder", (_Recorder,), {"sent": sent}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bin_folder = folder / "bin"
        bin_folder.mkdir()
        wrapper = bin_folder / "oci"
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        wrapper.write_text(_WRAPPER.format(python=sys.executable, oci=oci, config=_api_key(folder), endpoint=endpoint))
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        script = folder / "setup.sh"
        script.write_text(deploy.render(_argv()))
        environment = {
            **os.environ,
            "PATH": f"{bin_folder}:{os.environ['PATH']}",
            "OCI_CALLS": str(folder / "calls"),
            "SUPPRESS_LABEL_WARNING": "True",
        }
        done = subprocess.run(
            ["bash", "-eu", str(script)], cwd=folder, env=environment, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        arguments = [json.loads(line) for line in (folder / "calls").read_text().splitlines()]
        yield Run(arguments, sent, folder)
    finally:
        server.shutdown()
        server.server_close()


def _command_path(arguments: list[str]) -> tuple[str, ...]:
    """`iam policy create` of `iam policy create --name ...`."""
    return tuple(itertools.takewhile(lambda word: not word.startswith("-"), arguments))


def _parse(oci: Path, arguments: list[str]) -> Call:
    """Arguments as oci-cli reads them: the subcommands, then options, a value after each that takes one."""
    path = _command_path(arguments)
    _, known = cli_help(oci, path)
    global_options = cli_help(oci, ())[1]
    options: dict[str, str | None] = {}
    rest = arguments[len(path) :]
    while rest:
        name = rest.pop(0)
        option = known.get(name) or global_options.get(name)
        assert option is not None, f"oci {' '.join(path)} takes no {name}"
        options[name] = rest.pop(0) if option.takes_value else None
    return Call(path, options)


@pytest.fixture(scope="module")
def calls(oci: Path, ran: Run) -> list[Call]:
    # Each help takes the CLI's second or two to start: read them side by side, once.
    paths = {(), *(_command_path(arguments) for arguments in ran.arguments)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda path: cli_help(oci, path), paths))
    return [_parse(oci, arguments) for arguments in ran.arguments]


@pytest.mark.timeout(900)  # the first run on a machine installs oci-cli (about a minute)
def test_every_command_is_one_the_real_cli_takes(oci: Path, calls: list[Call]) -> None:
    for call in calls:
        assert cli_problems(oci, call.path, call.options) == []
        assert len(call.options) >= 4, call  # the help was read: a command with no options would prove nothing


def test_the_steps_come_in_order(calls: list[Call]) -> None:
    assert [" ".join(call.path) for call in calls] == [
        "iam dynamic-group create",
        "iam policy create",
        "events rule create",
        *["resource-scheduler schedule create"] * 3,
        "iam policy create",
        *["monitoring alarm create"] * 3,  # one per destination region, then the absence alarm
    ]


def test_the_cli_sent_one_request_per_command(ran: Run) -> None:
    assert [sent.path for sent in ran.sent] == [
        "/20160918/dynamicGroups",
        "/20160918/policies",
        "/20181201/rules",
        *["/20240430/schedules"] * 3,
        "/20160918/policies",
        *["/20180401/alarms"] * 3,
    ]


def test_the_dynamic_group_matches_the_function(ran: Run) -> None:
    group = ran.sent[0].body
    assert (group["compartmentId"], group["name"]) == (TENANCY, iam.DEFAULT_DYNAMIC_GROUP)
    assert group["matchingRule"] == iam.dynamic_group_rule(function_id=FUNCTION)


def test_the_policy_is_the_kit_s_at_tenancy_level_with_compartments_and_metrics(ran: Run) -> None:
    policy = ran.sent[1].body
    assert policy["compartmentId"] == TENANCY
    kit = json.loads(
        deploy.render(
            [
                "policies",
                "--source-region",
                "phx",
                "--destination",
                "iad,fra",
                "--kms-key",
                KEY,
                "--function-compartment",
                FUNCTION_COMPARTMENT,
                "--json",
            ]
        )
    )
    metrics = (
        "Allow dynamic-group backup-copier to use metrics in tenancy where target.metrics.namespace = 'backup_copier'"
    )
    assert policy["statements"] == [*kit, metrics]
    assert "Allow dynamic-group backup-copier to inspect compartments in tenancy" in policy["statements"]
    # Everything the function does, it may do in every compartment; only the Events service is narrowed.
    narrowed = [line for line in policy["statements"] if " in tenancy" not in line]
    assert narrowed == [iam.events_statement(FUNCTION_COMPARTMENT)]


def test_one_events_rule_in_the_root_compartment(ran: Run, calls: list[Call]) -> None:
    rule = ran.sent[2].body
    assert (rule["compartmentId"], rule["isEnabled"]) == (TENANCY, True)
    # No compartment filter: the root compartment's rule covers every compartment below it.
    assert json.loads(rule["condition"]) == deploy.rule_condition()
    assert rule["actions"] == {"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": FUNCTION}]}
    assert calls[2].options["--region"] == "us-phoenix-1"


@pytest.mark.parametrize("position", [0, 1, 2])
def test_each_schedule_s_body_is_a_tenancy_wide_request_the_function_accepts(
    ran: Run, calls: list[Call], position: int
) -> None:
    schedule = ran.sent[3 + position].body
    expected = tenancy_setup.SCHEDULES[position]
    assert (schedule["action"], schedule["recurrenceType"]) == ("START_RESOURCE", "CRON")
    assert (schedule["compartmentId"], schedule["displayName"]) == (FUNCTION_COMPARTMENT, expected.display_name)
    assert calls[3 + position].options["--region"] == "us-phoenix-1"
    [resource] = schedule["resources"]
    assert resource["id"] == FUNCTION
    [parameter] = resource["parameters"]
    assert parameter["parameterType"] == "BODY"
    assert parameter["value"] == {"action": expected.action, "compartmentId": TENANCY, "subtree": True}
    request = parse_request(json.dumps(parameter["value"]).encode())
    assert isinstance(request, REQUESTS[expected.action])
    assert isinstance(request, ReconcileRequest | ExpireRequest | ReportRequest)
    assert request.scope.compartment_ids == (TENANCY,)
    assert request.scope.is_tenancy


def test_the_sweep_and_report_run_hourly_and_the_expiry_daily(ran: Run) -> None:
    crons = {sent.body["displayName"]: sent.body["recurrenceDetails"].split() for sent in ran.sent[3:6]}
    minute, hour, *rest = crons["backup-copier-sweep"]
    assert (minute.isdigit(), hour, rest) == (True, "*", ["*", "*", "*"])
    minute, hour, *rest = crons["backup-copier-report"]
    assert (minute.isdigit(), hour, rest) == (True, "*", ["*", "*", "*"])
    minute, hour, *rest = crons["backup-copier-expiry"]
    assert (minute.isdigit(), hour.isdigit(), rest) == (True, True, ["*", "*", "*"])


def test_only_the_three_schedules_may_invoke_the_function(ran: Run) -> None:
    policy = ran.sent[6].body
    assert policy["compartmentId"] == FUNCTION_COMPARTMENT
    # The OCIDs the server answered the schedule commands with, through --query data.id and the shell.
    ids = ", ".join(
        f"request.principal.id='ocid1.resourceschedule.oc1.phx.{name}'"
        for name in ("backupcopiersweep", "backupcopierexpiry", "backupcopierreport")
    )
    assert policy["statements"] == [
        f"Allow any-user to use fn-invocation in compartment id {FUNCTION_COMPARTMENT} "
        f"where all {{request.principal.type='resourceschedule', any {{{ids}}}}}"
    ]


def test_the_alarms_watch_every_compartment_of_the_tenancy(ran: Run, calls: list[Call]) -> None:
    alarms = [sent.body for sent in ran.sent[7:]]
    for alarm in alarms:
        assert (alarm["metricCompartmentId"], alarm["metricCompartmentIdInSubtree"]) == (TENANCY, True)
        assert alarm["compartmentId"] == FUNCTION_COMPARTMENT
        assert alarm["destinations"] == [TOPIC]
        assert alarm["namespace"] == "backup_copier"
    assert [call.options["--region"] for call in calls[7:]] == ["us-phoenix-1"] * 3
    queries = [alarm["query"] for alarm in alarms]
    assert [q.split("[")[0] for q in queries] == [RPO_HOURS, RPO_HOURS, VOLUMES_BREACHING]
    assert 'destinationRegion = "us-ashburn-1"' in queries[0]
    assert 'destinationRegion = "eu-frankfurt-1"' in queries[1]


def test_the_alarm_creators_iam_is_printed() -> None:
    printed = deploy.render(_argv())
    assert f"Allow group <alarm-creators> to manage alarms in compartment id {FUNCTION_COMPARTMENT}" in printed
    assert "Allow group <alarm-creators> to read metrics in tenancy" in printed
    assert "requires the user to have tenancy-level permissions" in printed


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--tenancy", FUNCTION_COMPARTMENT),
        ("--function-id", "ocid1.volume.oc1.phx.aaaaaaaaexample"),
        ("--function-id", "ocid1.fnfunc.oc1.iad.aaaaaaaaexample"),  # not in the source region
        ("--function-compartment", "ocid1.volume.oc1..aaaa"),
        ("--source-region", "atlantis"),
        ("--source-region", "phx,iad"),
        ("--destination", "atlantis"),
        ("--destination", "iad,phx"),  # the source region
        ("--topic", FUNCTION_COMPARTMENT),
        ("--kms-key", "ocid1.key.oc1.ap-tokyo-1.bbpsaxx6aaeug.abuwcljsexamplekey"),  # not a destination's
        ("--kms-key", "ocid1.volume.oc1.iad.aaaa"),
        ("--namespace", "oci_copies"),
    ],
)
def test_every_bad_option_is_named_and_nothing_is_printed(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(_argv(**{option: value}))
    assert raised.value.field == option
    assert deploy.main(_argv(**{option: value})) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {option}: ")


def test_the_optional_options_can_be_left_out() -> None:
    printed = deploy.render(_argv(**{"--kms-key": None}))
    assert "key-delegate" not in printed
    assert "target.metrics.namespace = 'dr_copies'" in deploy.render(_argv(**{"--namespace": "dr_copies"}))
