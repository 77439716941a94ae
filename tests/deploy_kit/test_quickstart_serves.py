"""The README's quickstart, executed: what its script created is all the function may do, and it is enough.

conftest.py runs the README's own `quickstart` command line (placeholders filled), and its
script in bash with the real oci CLI and fn against the control plane; the script's last step,
the check, reaches the function itself. Here the emulator enforces exactly the statements and
the dynamic group the script created (404 NotAuthorizedOrNotFound for anything else), and the
function runs with exactly the configuration the script set, plus the test-only endpoint keys:
- the check answers ready, and a tagged backup in the backups compartment is copied with the
  configured key, marked; an untagged one is not copied, by the event path or by the sweep the
  script scheduled;
- without any one statement, an answer names what is missing: the check, the copy, or the
  expiry pass. The statements the emulator cannot observe (Block Volume's own use of the key, the
  Events service's and the schedules' invocations) are listed as such.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam
from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.control_plane import enforce_recorded_iam
from local_runtime.fdk_process import FunctionProcess
from tests.deploy_kit.conftest import BACKUPS, ENDPOINT_KEYS, KEY, QUICKSTART, Scenario, Served
from tests.helpers import DESTINATION_REGION, NOW, SOURCE_REGION, event_for, new_compartment, seed_copy

pytestmark = pytest.mark.timeout(900)  # the session's first run may install oci-cli (about a minute)
TAG = {"dr-copy": "true"}  # the README's --tag
CHECK = samples.load("check.json")

# Who answers when a statement is missing, and why nobody can for some. Statements whose effect the
# emulator cannot observe: it is not Block Volume (which uses the key on the copy's behalf), and no
# Events service or Resource Scheduler runs here to invoke the function.
UNOBSERVABLE = {
    "Allow service blockstorage ": "Block Volume's own use of the key, which the emulator cannot see",
    "Allow service cloudEvents ": "the Events service's invocations of the function; no Events service runs here",
    "Allow any-user ": "the schedules' invocations of the function; no Resource Scheduler runs here",
}


def _printed_statements() -> list[str]:
    """Every statement the README's quickstart script creates, as printed (${...} are filled when it runs)."""
    script = deploy.render(QUICKSTART)
    files = re.findall(r'cat > "\$WORK/([\w-]+\.json)" <<EOF\n(.*?)\nEOF', script, re.S)
    assert [name for name, _ in files] == ["policy.json", "schedules-policy.json"]
    return [statement for _, body in files for statement in json.loads(body)]


STATEMENTS = _printed_statements()


def _label(statement: str) -> str:
    """`use volume-backups VOLUME_BACKUP_COPY`, `service blockstorage use keys`, ..."""
    subject, _, rest = statement.removeprefix("Allow ").partition(" to ")
    verb_and_type = rest.split(" in ")[0]
    permission = re.search(r"request\.permission = '(\w+)'", statement)
    label = verb_and_type + (f" {permission[1]}" if permission else "")
    return label if subject.startswith("dynamic-group ") else f"{subject} {label}"


def _recorded(quickstart: Scenario, printed: str) -> str:
    """The statement as the run created it: the printed one with its shell variables filled."""
    pattern = re.escape(printed)
    pattern = re.sub(r"\\\$\\\{\w+\\\}", ".+?", pattern)
    found = [s for policy in quickstart.plane.policies() for s in policy.statements if re.fullmatch(pattern, s)]
    assert len(found) == 1, (printed, found)
    return found[0]


def _permissions(statement: str) -> set[str]:
    """What the statement grants the function, by the names an answer would use."""
    narrowed = re.search(r"request\.permission = '(\w+)'", statement)
    if narrowed:
        return {narrowed[1]}
    if " key-delegate " in statement:
        return {"key-delegate"}
    verb, resource = statement.split(" to ")[1].split(" in ")[0].split()
    grants = [iam.INSPECT_COMPARTMENTS, *(g for kind in iam.GRANTS.values() for g in (*kind.find, *kind.copy))]
    return {p for g in grants if (g.verb, g.resource_type) == (verb, resource) for p in g.permissions}


def _kind(statement: str) -> str:
    for resource, kind in (("boot-volume-backups", "boot_volume"), ("volume-group-backups", "volume_group")):
        if f" {resource} " in statement:
            return kind
    return "volume"


@pytest.fixture
def function(quickstart: Scenario, served: Served) -> FunctionProcess:
    """The function with exactly the recorded configuration (plus the endpoint keys), reused across tests."""
    return served.process(quickstart.function()["config"])


def _copy_tagged(emulator: Emulator, process: FunctionProcess, kind: str = "volume") -> dict[str, Any]:
    backup = emulator.add_backup(kind, SOURCE_REGION, BACKUPS, freeform_tags=TAG, display_name=f"tagged-{kind}")
    answer = process.invoke(event_for(kind, backup["id"], compartmentId=BACKUPS, freeFormTags=TAG))
    body: dict[str, Any] = answer.json()
    return body


def test_the_script_s_own_check_reached_the_function_and_answered_ready(quickstart: Scenario, served: Served) -> None:
    config = quickstart.function()["config"]
    assert not set(ENDPOINT_KEYS) & set(config)
    environment = served.environment(config)
    assert {k: v for k, v in environment.items() if not k.startswith("OCI_RESOURCE_PRINCIPAL_")} == {
        **config,
        **{key: environment[key] for key in ENDPOINT_KEYS},
    }
    for run in quickstart.runs:
        [printed] = [line for line in run.stdout.splitlines() if line.startswith("{")]
        answer = json.loads(printed)
        assert answer["outcome"] == "ready", [c for c in answer["checks"] if not c["ok"]]
        checked = {c["name"]: c for c in answer["checks"]}["compartments checked"]
        assert checked["detail"] == f"{BACKUPS}: SOURCE_COMPARTMENT_IDS, the compartments the function copies from"


def test_under_the_recorded_iam_the_check_is_ready_and_nothing_else_is_allowed(
    quickstart: Scenario, emulator: Emulator, function: FunctionProcess
) -> None:
    enforce_recorded_iam(emulator, quickstart.plane)

    assert function.invoke(CHECK).json()["outcome"] == "ready"
    # The same function, asked about a compartment the policy does not name, is refused there.
    elsewhere = function.invoke({**CHECK, "compartmentIds": [new_compartment()]}).json()
    assert elsewhere["outcome"] == "not_ready"
    assert "404 NotAuthorizedOrNotFound" in json.dumps(elsewhere["checks"])


def test_a_tagged_backup_is_copied_with_the_configured_key_and_marked(
    quickstart: Scenario, emulator: Emulator, function: FunctionProcess
) -> None:
    enforce_recorded_iam(emulator, quickstart.plane)

    body = _copy_tagged(emulator, function)

    assert body["outcome"] == "copied", body
    [copy] = body["copies"]
    assert (copy["destinationRegion"], copy["marked"]) == (DESTINATION_REGION, True)
    assert emulator.backup(copy["copyId"])["kmsKeyId"] == KEY


def test_an_untagged_backup_is_not_copied_by_the_event_or_the_scheduled_sweep(
    quickstart: Scenario, emulator: Emulator, function: FunctionProcess
) -> None:
    enforce_recorded_iam(emulator, quickstart.plane)
    untagged = emulator.add_backup("volume", SOURCE_REGION, BACKUPS, display_name="untagged")

    event = function.invoke(event_for("volume", untagged["id"], compartmentId=BACKUPS, freeFormTags={})).json()
    sweep_body = quickstart.plane.schedule_bodies()["backup-copier-sweep"]
    sweep = function.invoke(sweep_body).json()

    assert (event["outcome"], event["reasonCode"]) == ("skipped", "TagNotPresent")
    assert sweep_body == {"action": "reconcile", "compartmentId": BACKUPS}
    assert sweep["outcome"] in ("copied", "already_copied"), sweep
    assert sweep["skippedByReason"]["TagNotPresent"] >= 1
    assert emulator.copies_of(untagged["id"]) == []


def test_an_unmarked_copy_is_counted_where_the_recorded_alarm_reads(
    quickstart: Scenario, emulator: Emulator, function: FunctionProcess
) -> None:
    update = _recorded(quickstart, next(s for s in STATEMENTS if "'VOLUME_BACKUP_UPDATE'" in s))
    enforce_recorded_iam(emulator, quickstart.plane, leave_out=[update])

    body = _copy_tagged(emulator, function)

    [copy] = body["copies"]
    assert (body["outcome"], copy["marked"], body["metricsPosted"]) == ("copied", False, 1)
    alarm = quickstart.plane.named("alarms", "backup-copier: copies that could not be marked")
    metric, statistic = re.fullmatch(r"(\w+)\[1h\]\.(\w+)\(\) > 0", alarm["query"]).groups()  # type: ignore[union-attr]
    [posted] = [m for m in emulator.posted_metrics() if m.name == metric]
    assert (posted.namespace, posted.compartment_id, posted.dimensions) == (
        alarm["namespace"],
        alarm["metricCompartmentId"],
        {"destinationRegion": DESTINATION_REGION},
    )
    # A count per invocation, which the alarm sums over the hour.
    assert (statistic, [point["value"] for point in posted.datapoints]) == ("sum", [1.0])


@pytest.mark.parametrize("printed", STATEMENTS, ids=[_label(s) for s in STATEMENTS])
def test_without_any_one_statement_an_answer_names_what_is_missing(
    printed: str, quickstart: Scenario, emulator: Emulator, function: FunctionProcess
) -> None:
    statement = _recorded(quickstart, printed)
    enforce_recorded_iam(emulator, quickstart.plane, leave_out=[statement])
    grant, permissions, kind = statement.split(" where ")[0], _permissions(statement), _kind(statement)
    answers: dict[str, dict[str, Any]] = {}

    def check() -> bool:
        answers["check"] = function.invoke(CHECK).json()
        return any(grant in c.get("fix", "") for c in answers["check"]["checks"] if not c["ok"])

    def copy() -> bool:
        answers["copy"] = _copy_tagged(emulator, function, kind)
        said = " ".join(c.get("reason", "") + c.get("markReason", "") for c in answers["copy"]["copies"])
        return any(permission in said for permission in permissions)

    def expire() -> bool:
        resource = f"ocid1.{kind.replace('_', '')}.oc1.phx.{new_compartment()[-32:]}"
        seed_copy(emulator, BACKUPS, kind, hours_ago=80, expires=NOW - timedelta(days=1), volume_id=resource)
        seed_copy(emulator, BACKUPS, kind, hours_ago=40, volume_id=resource)  # the newest, always kept
        answers["expire"] = function.invoke(quickstart.plane.schedule_bodies()["backup-copier-expiry"]).json()
        return any(permission in json.dumps(answers["expire"].get("failed", [])) for permission in permissions)

    named_by = next((name for name, probe in (("check", check), ("copy", copy), ("expire", expire)) if probe()), None)

    unobservable = next((why for subject, why in UNOBSERVABLE.items() if statement.startswith(subject)), None)
    if unobservable:
        # Listed, not skipped: nothing the emulator sees changes without it.
        assert named_by is None, f"{statement}: unobservable ({unobservable}), yet the {named_by} named it"
        assert (answers["check"]["outcome"], answers["copy"]["outcome"]) == ("ready", "copied")
        assert answers["expire"]["outcome"] == "expired", answers["expire"]
        # The deletion recorded on its source, in the source region (retention.md, "An expiry is final").
        assert answers["expire"]["recordFailures"] == 0, answers["expire"]
        return
    expected = (
        "expire"
        if "_DELETE'" in statement
        else "check"
        if re.search(r" to (inspect|use metrics) ", statement)
        else "copy"
    )
    assert named_by == expected, (statement, expected, named_by, answers)
