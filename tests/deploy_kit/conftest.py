"""The printed setup scripts, run once per session in real bash, side by side, against the control plane.

Each runs as an operator runs it (local_runtime/control_plane): bash, oci-cli itself as `oci`
against a stateful stand-in of OCI's control plane, and `fn` with the fn CLI's own syntax against
the same functions. Each oci command starts the real CLI (a second or two), so the runs are made
once, in parallel threads, each against a control plane of its own, and every test reads them.

The quickstart is the README's own command line, its placeholders filled with the values below,
run by the deploy kit in a process of its own. Its `fn invoke` reaches the function itself, behind
the real fdk socket, with exactly the configuration the script set (plus the test-only endpoint
keys), its resource principal that of the function the dynamic group names, against the session's
emulator enforcing the IAM the script created (Served): so the script's last step, the check,
answers for real. The other scenarios' invocations answer a canned `ready`.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backup_copier.deploy_kit import cli as deploy
from blockstorage_emulator import Emulator
from local_runtime.control_plane import (
    ControlPlane,
    FnCli,
    FnInvocation,
    Invoker,
    ScriptRun,
    Sent,
    enforce_recorded_iam,
    workstation,
)
from local_runtime.credentials import DEFAULT_TENANCY_ID, ResourcePrincipal, issue_resource_principal
from local_runtime.fdk_process import FunctionProcess
from local_runtime.oci_cli import Call, oci_cli, read_calls
from tests.helpers import PROJECT_ROOT, SOURCE_REGION, reset_emulator

# The emulator's tenancy, so that the statements `in tenancy` the script creates are the emulator's.
TENANCY = DEFAULT_TENANCY_ID
APP = "APP"  # the README's application name
FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaaexamplebackupcopierfunction"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafunctionsexamplecompartment"
TOPIC = deploy.EXAMPLE_TOPIC
KEY = deploy.EXAMPLE_KMS_KEY  # in iad
BACKUPS = deploy.EXAMPLE_BACKUP_COMPARTMENT
# The README's placeholders, and what the test puts in their place.
PLACEHOLDERS = {
    "<tenancy-ocid>": TENANCY,
    "<backups-compartment-ocid>": BACKUPS,
    "<destination-key-ocid>": KEY,
    "<topic-ocid>": TOPIC,
}
# What `fn invoke` answers in the scenarios no function runs behind.
READY = json.dumps({"outcome": "ready", "reason": "all 13 checks passed; no copy was made", "checks": []})
# The keys only a test sets: where the emulator answers instead of OCI.
ENDPOINT_KEYS = ("BLOCKSTORAGE_ENDPOINT", "METRICS_ENDPOINT", "IDENTITY_ENDPOINT")


def readme_quickstart() -> tuple[list[str], list[str]]:
    """The README's `quickstart` command line as words, placeholders filled: (the program, its arguments)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    found = re.search(
        r"^\.venv/bin/python -m backup_copier\.deploy_kit quickstart .*?> setup\.sh$", readme, re.M | re.S
    )
    assert found, "the README shows no `.venv/bin/python -m backup_copier.deploy_kit quickstart ... > setup.sh`"
    words = shlex.split(found[0].replace("\\\n", " ").removesuffix("> setup.sh"))
    filled = [PLACEHOLDERS.get(word, word) for word in words]
    assert not [word for word in filled if word.startswith("<")], filled
    return filled[:3], filled[3:]


QUICKSTART = readme_quickstart()[1]
TENANCY_SETUP = [
    "tenancy-setup",
    "--app",
    APP,
    "--tenancy",
    TENANCY,
    "--source-region",
    "phx",
    "--destination",
    "iad,eu-frankfurt-1",
    "--kms-key",
    KEY,
    "--topic",
    TOPIC,
    "--home-region",
    "us-ashburn-1",
    # The tenancy-wide setup also runs restore drills (docs/drills.md): their policy, schedule and alarms.
    "--drills",
    "on",
]


def run_the_readme_command() -> str:
    """The script, as the README's command prints it: the deploy kit run for real, in a process of its own."""
    program, arguments = readme_quickstart()
    assert program == [".venv/bin/python", "-m", "backup_copier.deploy_kit"]
    done = subprocess.run(
        [sys.executable, "-m", "backup_copier.deploy_kit", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@dataclass
class Served:
    """The function as a setup script configured it: the real fdk socket, the function's own resource
    principal, and the emulator enforcing the IAM the script created; one process per configuration."""

    emulator: Emulator
    principal: ResourcePrincipal
    processes: dict[str, FunctionProcess] = field(default_factory=dict)

    def environment(self, config: Mapping[str, str]) -> dict[str, str]:
        """Exactly `config`, plus the test-only endpoint keys and the resource principal OCI would provide."""
        endpoints = {
            "BLOCKSTORAGE_ENDPOINT": self.emulator.endpoint_template,
            "METRICS_ENDPOINT": self.emulator.metrics_endpoint_template,
            "IDENTITY_ENDPOINT": self.emulator.identity_endpoint_template,
        }
        return {**self.principal.environment(), **config, **endpoints}

    def process(self, config: Mapping[str, str]) -> FunctionProcess:
        environment = self.environment(config)
        key = json.dumps(environment, sort_keys=True)
        process = self.processes.get(key)
        if process is None or not process.alive():
            process = self.processes[key] = FunctionProcess(environment).start()
        return process

    def invoker(self, plane: ControlPlane) -> Invoker:
        """What answers `fn invoke`: the function with the configuration the control plane holds now,
        under the IAM the control plane holds now."""

        def invoke(call: FnInvocation) -> tuple[int, str, bytes]:
            enforce_recorded_iam(self.emulator, plane)
            answer = self.process(plane.function(call.function_id)["config"]).invoke(call.body)
            return answer.status, answer.headers.get("content-type", "application/json"), answer.body

        return invoke


@pytest.fixture(scope="session")
def served(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    principal = issue_resource_principal(
        tmp_path_factory.mktemp("quickstart-rp"),
        SOURCE_REGION,
        compartment_id=FUNCTION_COMPARTMENT,
        resource_id=FUNCTION_ID,
    )
    emulator.trust(principal.token, principal.public_key_pem)
    emulator.add_kms_key("us-ashburn-1", KEY)
    running = Served(emulator, principal)
    yield running
    for process in running.processes.values():
        process.stop()


@dataclass
class Scenario:
    """Runs of one script, with the control plane and fn they changed, and what it held after each run."""

    plane: ControlPlane
    fn: FnCli
    runs: list[ScriptRun] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    calls: list[list[Call]] = field(default_factory=list)
    # The requests each run sent.
    sent: list[list[Sent]] = field(default_factory=list)

    def writes(self, run: int) -> list[Sent]:
        return [sent for sent in self.sent[run] if sent.method in ("POST", "PUT")]

    def function(self) -> dict[str, Any]:
        [function_id] = self.plane.functions
        return self.plane.function(function_id)

    def fn_words(self) -> list[list[str]]:
        """Each fn command's words, oldest first."""
        return [list(run.argv) for run in self.fn.runs]


def _plane(home_region: str | None = "us-ashburn-1", function_id: str = FUNCTION_ID) -> ControlPlane:
    """A tenancy where the function is deployed in the application APP, with OCI's default timeout (30 s),
    which the script must raise by a command of its own."""
    plane = ControlPlane(TENANCY, home_region=home_region)
    plane.add_function(function_id, application=APP, compartment_id=FUNCTION_COMPARTMENT, timeout_in_seconds=30)
    return plane


def _canned(plane: ControlPlane, answer: str = READY) -> Scenario:
    return Scenario(plane, FnCli(plane, invoker=lambda call: (200, "application/json", answer.encode())))


def _seeded_group(plane: ControlPlane) -> ControlPlane:
    """A tenancy whose dynamic group backup-copier matches another function already."""
    plane.resources["dynamicGroups"]["ocid1.dynamicgroup.oc1..existing"] = {
        "id": "ocid1.dynamicgroup.oc1..existing",
        "compartmentId": TENANCY,
        "name": "backup-copier",
        "matchingRule": "ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.fra.aaaaaaaaanother'}",
        "lifecycleState": "ACTIVE",
    }
    return plane


def _play(oci: Path, folder: Path, scripts: list[str], scenario: Scenario) -> Scenario:
    with workstation(folder, oci, scenario.plane, scenario.fn) as shell:
        for script in scripts:
            before = len(scenario.plane.sent)
            run = shell.run(script)
            scenario.sent.append(scenario.plane.sent[before:])
            scenario.runs.append(run)
            scenario.held.append(copy.deepcopy(scenario.plane.resources))
            scenario.calls.append(read_calls(oci, run.oci_calls))
    return scenario


def _served(served: Served) -> Scenario:
    plane = _plane()
    return Scenario(plane, FnCli(plane, invoker=served.invoker(plane)))


# Each scenario: the scripts to run, in order, and the world they run in.
SCENARIOS: dict[str, Callable[[Served], tuple[list[str], Scenario]]] = {
    # The README's quickstart, then again: the function behind fn invoke is the real one.
    "quickstart": lambda served: ([run_the_readme_command()] * 2, _served(served)),
    "tenancy-setup": lambda served: ([deploy.render(TENANCY_SETUP)], _canned(_plane())),
    # No region answers as the home region: the first capture is empty.
    "no home region": lambda served: ([deploy.render(QUICKSTART)], _canned(_plane(home_region=None))),
    "function in another region": lambda served: (
        [deploy.render(QUICKSTART)],
        _canned(_plane(function_id="ocid1.fnfunc.oc1.iad.aaaaaaaaexamplebackupcopierfunction")),
    ),
    "group of another function": lambda served: ([deploy.render(QUICKSTART)], _canned(_seeded_group(_plane()))),
}


@pytest.fixture(scope="session")
def scenarios(
    tmp_path_factory: pytest.TempPathFactory, served: Served, emulator: Emulator
) -> Iterator[dict[str, Scenario]]:
    oci = oci_cli()
    # Set up whenever the first test that needs it runs: whatever an earlier test left in the emulator goes.
    reset_emulator(emulator)
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures: dict[str, Future[Scenario]] = {}
        for name, make in SCENARIOS.items():
            scripts, scenario = make(served)
            folder = tmp_path_factory.mktemp(name.replace(" ", "-"))
            futures[name] = pool.submit(_play, oci, folder, scripts, scenario)
        done = {name: future.result() for name, future in futures.items()}
    # The quickstart's check left the emulator enforcing its IAM: every other test starts without.
    emulator.allow_all()
    yield done


@pytest.fixture(scope="session")
def quickstart(scenarios: dict[str, Scenario]) -> Scenario:
    """The README's quickstart, run twice; each run went through."""
    scenario = scenarios["quickstart"]
    for run in scenario.runs:
        assert run.returncode == 0, run.stderr
    return scenario
