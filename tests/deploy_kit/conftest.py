"""The printed setup scripts, run once per session in real bash (setup_run.py), side by side.

Each oci command starts the real CLI (about a second), so the runs the tests read are made once,
in parallel threads, each against a cloud and an fn of its own, and every test reads the results.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backup_copier.deploy_kit import cli as deploy
from local_runtime.oci_cli import oci_cli
from tests.deploy_kit.setup_run import APP, TENANCY, Call, Cloud, FnState, ScriptRun, Sent, read_calls, workstation

TOPIC = deploy.EXAMPLE_TOPIC
KEY = deploy.EXAMPLE_KMS_KEY  # in iad
BACKUPS = deploy.EXAMPLE_BACKUP_COMPARTMENT
OTHER_BACKUPS = "ocid1.compartment.oc1..aaaaaaaaotherbackupscompartmentexample"
QUICKSTART = [
    "quickstart",
    "--app",
    APP,
    "--tenancy",
    TENANCY,
    "--source-region",
    "us-phoenix-1",
    "--destination",
    "us-ashburn-1",
    "--compartment",
    BACKUPS,
    "--kms-key",
    KEY,
    "--tag",
    "dr-copy=true",
    "--topic",
    TOPIC,
]
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


@dataclass
class Scenario:
    """Runs of one script, with the cloud and fn they changed, and what the cloud held after each run."""

    runs: list[ScriptRun] = field(default_factory=list)
    cloud: Cloud = field(default_factory=Cloud)
    fn: FnState = field(default_factory=FnState)
    held: list[dict[str, Any]] = field(default_factory=list)
    calls: list[list[Call]] = field(default_factory=list)
    # The requests each run sent.
    sent: list[list[Sent]] = field(default_factory=list)

    def writes(self, run: int) -> list[Sent]:
        return [sent for sent in self.sent[run] if sent.method in ("POST", "PUT")]


def _play(oci: Path, folder: Path, scripts: list[str], scenario: Scenario) -> Scenario:
    with workstation(folder, oci, scenario.cloud, scenario.fn) as shell:
        for script in scripts:
            before = len(scenario.cloud.sent)
            run = shell.run(script)
            scenario.sent.append(scenario.cloud.sent[before:])
            scenario.runs.append(run)
            scenario.held.append(copy.deepcopy(scenario.cloud.resources))
            scenario.calls.append(read_calls(oci, run.oci_calls))
    return scenario


def _seeded_group(cloud: Cloud) -> Cloud:
    """A tenancy whose dynamic group backup-copier matches another function already."""
    cloud.resources["dynamicGroups"]["ocid1.dynamicgroup.oc1..existing"] = {
        "id": "ocid1.dynamicgroup.oc1..existing",
        "compartmentId": TENANCY,
        "name": "backup-copier",
        "matchingRule": "ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.fra.aaaaaaaaanother'}",
        "lifecycleState": "ACTIVE",
    }
    return cloud


def _other_region_function() -> FnState:
    fn = FnState()
    fn.function()["id"] = "ocid1.fnfunc.oc1.iad.aaaaaaaaexamplebackupcopierfunction"
    return fn


SCENARIOS: dict[str, Callable[[], tuple[list[list[str]], Scenario]]] = {
    # The quickstart as the README runs it, then again.
    "quickstart": lambda: ([QUICKSTART, QUICKSTART], Scenario()),
    "tenancy-setup": lambda: ([TENANCY_SETUP], Scenario()),
    # No region answers as the home region: the first capture is empty.
    "no home region": lambda: ([QUICKSTART], Scenario(cloud=Cloud(home_region=None))),
    "function in another region": lambda: ([QUICKSTART], Scenario(fn=_other_region_function())),
    "group of another function": lambda: ([QUICKSTART], Scenario(cloud=_seeded_group(Cloud()))),
}


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Scenario]]:
    oci = oci_cli()
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures: dict[str, Future[Scenario]] = {}
        for name, make in SCENARIOS.items():
            argvs, scenario = make()
            scripts = [deploy.render(argv) for argv in argvs]
            folder = tmp_path_factory.mktemp(name.replace(" ", "-"))
            futures[name] = pool.submit(_play, oci, folder, scripts, scenario)
        yield {name: future.result() for name, future in futures.items()}
