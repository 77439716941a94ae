"""`tenancy-setup`: the whole tenancy-wide setup, in order, as `oci` commands an operator copies.

One Events rule in the root compartment, policies at tenancy level, three Resource Scheduler
schedules whose bodies name the tenancy with "subtree": true, and alarms that watch every
compartment. Every part is rendered by the code the other subcommands use (iam.py,
recovery_point.py, cli.py's rule condition), so this page of commands cannot drift from them.

The option names are oci-cli's own (3.95.1; Oracle's CLI reference, cited above each command);
tests/deploy_kit/test_tenancy_setup.py runs the printed text in bash with the real CLI against a
local server that records each request, and holds every command against the CLI's `--help`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..shared.metrics import use_metrics_statement
from . import iam, recovery_point

CLI_DOC = "https://docs.oracle.com/en-us/iaas/tools/oci-cli/latest/oci_cli_docs/cmdref"
SCHEDULING_FUNCTIONS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsschedulingfunctions-about.htm"
SCHEDULER_POLICIES_DOC = "https://docs.oracle.com/iaas/Content/resource-scheduler/references/example_policies.htm"
INVOKE_ACCESS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsrestrictinguseraccess.htm"
MONITORING_POLICY_DOC = "https://docs.oracle.com/en-us/iaas/Content/Identity/Reference/monitoringpolicyreference.htm"
FILTER_EVENTS_DOC = "https://docs.oracle.com/iaas/Content/Events/Concepts/filterevents.htm"

# The statements go through files (oci-cli's file:// for a COMPLEX TYPE): one statement a line.
POLICY_FILE = "backup-copier-policy.json"
SCHEDULES_POLICY_FILE = "backup-copier-schedules-policy.json"
# The sweep every hour at :17 (docs/sweep.md), the report at :23 (recovery_point.REPORT_CRON),
# the expiry pass once a day at 03:47: half an hour after a sweep, so the newest copies it
# keeps have had time to become AVAILABLE, and away from the top of the hour when backup
# policies start (docs/retention.md, "Scheduling: two schedules").
SWEEP_CRON = "17 * * * *"
EXPIRY_CRON = "47 3 * * *"


@dataclass(frozen=True)
class Schedule:
    action: str
    display_name: str
    cron: str
    why: str
    # The shell variable that keeps the new schedule's OCID for the policy that lets it invoke.
    variable: str


SCHEDULES = (
    Schedule("reconcile", "backup-copier-sweep", SWEEP_CRON, "hourly: copies the events missed", "SWEEP_SCHEDULE"),
    Schedule(
        "expire", "backup-copier-expiry", EXPIRY_CRON, "daily: deletes marked copies past expiry", "EXPIRY_SCHEDULE"
    ),
    Schedule(
        "report",
        "backup-copier-report",
        recovery_point.REPORT_CRON,
        "hourly: posts every volume's recovery point",
        "REPORT_SCHEDULE",
    ),
)


@dataclass(frozen=True)
class Command:
    """One `oci` command: its subcommand path and options, in the order printed."""

    path: tuple[str, ...]
    options: tuple[tuple[str, str | None], ...]
    # Set: the command prints the new resource's OCID into this shell variable.
    capture: str | None = None

    def render(self) -> str:
        parts = [f"oci {' '.join(self.path)}"]
        for name, value in self.options:
            parts.append(name if value is None else f"{name} {_quoted(value)}")
        text = " \\\n  ".join(parts)
        return f"{self.capture}=$({text})" if self.capture else text


@dataclass(frozen=True)
class JsonFile:
    """A JSON document written by a here-document, for a `file://` option: one statement a line, readable."""

    name: str
    document: object
    # Shell variables the document names ($NAME), which the shell expands; with none, nothing expands.
    expands: tuple[str, ...] = ()

    def render(self) -> str:
        text = json.dumps(self.document, indent=2)
        if not self.expands:
            return f"cat > {self.name} <<'EOF'\n{text}\nEOF"
        if set(re.findall(r"\$(\w+)", text)) - set(self.expands) or "`" in text or "\\" in text:
            raise ValueError(f"{self.name} would expand more than {self.expands}")
        return f"cat > {self.name} <<EOF\n{text}\nEOF"


def _quoted(value: str) -> str:
    """As a shell word; double quotes rather than shlex's '"'"' when only single quotes need quoting."""
    if "'" in value and not set(value) & set('"$`\\!'):
        return f'"{value}"'
    return shlex.quote(value)


@dataclass(frozen=True)
class Step:
    title: str
    comments: tuple[str, ...]
    commands: tuple[JsonFile | Command, ...]
    # Commands another part of the kit renders already (the alarms), printed as they are.
    text: str = ""

    def render(self, number: int) -> str:
        lines = [f"# {number}. {self.title}", *(f"#   {comment}" for comment in self.comments)]
        return "\n".join(
            [*lines, *(command.render() for command in self.commands), *([self.text] if self.text else [])]
        )


def _cli(path: str) -> str:
    return f"{CLI_DOC}/{path}.html"


def dynamic_group_step(tenancy_id: str, function_id: str, dynamic_group: str) -> Step:
    return Step(
        "The dynamic group: the function's resource principal",
        (
            "The function signs its requests as itself; the policies below grant this group, which matches "
            f"this one function ({iam.FUNCTIONS_ACCESS_DOC}).",
            _cli("iam/dynamic-group/create"),
        ),
        (
            Command(
                ("iam", "dynamic-group", "create"),
                (
                    ("--compartment-id", tenancy_id),
                    ("--name", dynamic_group),
                    ("--description", "backup-copier function"),
                    ("--matching-rule", iam.dynamic_group_rule(function_id=function_id)),
                ),
            ),
        ),
    )


def policy_step(
    tenancy_id: str,
    sections: Sequence[iam.Section],
    namespace: str,
    dynamic_group: str,
    regenerate: str,
) -> Step:
    """The function's policy in the tenancy: the kit's sections (all `in tenancy`), and METRIC_WRITE everywhere."""
    metrics = use_metrics_statement(None, namespace, dynamic_group)
    statements = [line for section in sections for line in section.statements] + [metrics]
    return Step(
        "The function's policy, at tenancy level",
        (
            "One policy in the root compartment: every statement is 'in tenancy', so it covers every compartment, "
            "those created later too.",
            *(f"- {section.title}" for section in sections),
            "- Post the report's and the sweep's metrics into every volume's own compartment "
            f"(use metrics in tenancy, narrowed to the namespace '{namespace}'; "
            f"{recovery_point.PUBLISHING_METRICS_DOC})",
            "Each statement, with the permissions it grants and Oracle's page behind them:",
            f"  {regenerate}",
            _cli("iam/policy/create"),
        ),
        (
            JsonFile(POLICY_FILE, statements),
            Command(
                ("iam", "policy", "create"),
                (
                    ("--compartment-id", tenancy_id),
                    ("--name", "backup-copier"),
                    ("--description", "backup-copier: copy, mark, expire and report Block Volume backups tenancy-wide"),
                    ("--statements", f"file://{POLICY_FILE}"),
                ),
            ),
        ),
    )


def events_rule_step(tenancy_id: str, function_id: str, region: str, condition: dict[str, object]) -> Step:
    """One rule in the root compartment: a rule covers its compartment and every compartment below it."""
    actions = {"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": function_id}]}
    return Step(
        "The Events rule, in the root compartment",
        (
            "A rule covers its compartment and the compartments below it, so one rule in the root compartment "
            f"sends every completed backup of the tenancy to the function ({FILTER_EVENTS_DOC}). "
            "Rules are regional: this one is in the backups' region, with the function.",
            "The condition is the three backup-completed (.end) event types the function accepts.",
            _cli("events/rule/create"),
        ),
        (
            Command(
                ("events", "rule", "create"),
                (
                    ("--region", region),
                    ("--compartment-id", tenancy_id),
                    ("--display-name", "backup-copier"),
                    ("--description", "backup-copier: every completed Block Volume backup of the tenancy"),
                    ("--is-enabled", "true"),
                    ("--condition", json.dumps(condition)),
                    ("--actions", json.dumps(actions)),
                ),
            ),
        ),
    )


def schedule_steps(function_id: str, function_compartment_id: str, tenancy_id: str, region: str) -> tuple[Step, Step]:
    """The three schedules, each starting the function with its action over the whole tenancy; then their policy."""
    commands = []
    for schedule in SCHEDULES:
        resources = recovery_point.report_schedule_resources(
            function_id, tenancy_id, subtree=True, action=schedule.action
        )
        commands.append(
            Command(
                ("resource-scheduler", "schedule", "create"),
                (
                    ("--region", region),
                    ("--compartment-id", function_compartment_id),
                    ("--display-name", schedule.display_name),
                    ("--description", f"backup-copier {schedule.action}, whole tenancy: {schedule.why}"),
                    ("--action", "START_RESOURCE"),
                    ("--recurrence-type", "CRON"),
                    ("--recurrence-details", schedule.cron),
                    ("--resources", json.dumps(resources)),
                    ("--query", "data.id"),
                    ("--raw-output", None),
                ),
                capture=schedule.variable,
            )
        )
    schedules = Step(
        "Three Resource Scheduler schedules: the sweep, the expiry pass and the report, each over the whole tenancy",
        (
            "Each starts the function (START_RESOURCE) with its body as the BODY parameter "
            f'({SCHEDULING_FUNCTIONS_DOC}); the body names the tenancy with "subtree": true, '
            "so a compartment created next month is covered without a change.",
            *(f"{s.display_name}: '{s.cron}', {s.why}" for s in SCHEDULES),
            "Whoever runs these needs 'manage resource-schedule-family' "
            f"({SCHEDULER_POLICIES_DOC}); each OCID is kept in a shell variable for the next step.",
            "A tenancy-wide run needs time: give the function its full timeout (300 s), see docs/tenancy-wide.md.",
            _cli("resource-scheduler/schedule/create"),
        ),
        tuple(commands),
    )
    ids = ", ".join(f"request.principal.id='${s.variable}'" for s in SCHEDULES)
    statement = (
        f"Allow any-user to use fn-invocation in compartment id {function_compartment_id} "
        f"where all {{request.principal.type='resourceschedule', any {{{ids}}}}}"
    )
    invoke = Step(
        "Let these three schedules, and nothing else, invoke the function",
        (
            f"A schedule may do nothing until a policy lets it ({SCHEDULER_POLICIES_DOC}); "
            f"use fn-invocation is the verb that invokes ({INVOKE_ACCESS_DOC}).",
            "Run it in the same shell as the step above: the here-document puts in the schedules' OCIDs it kept.",
            _cli("iam/policy/create"),
        ),
        (
            JsonFile(SCHEDULES_POLICY_FILE, [statement], expands=tuple(s.variable for s in SCHEDULES)),
            Command(
                ("iam", "policy", "create"),
                (
                    ("--compartment-id", function_compartment_id),
                    ("--name", "backup-copier-schedules"),
                    ("--description", "backup-copier: its three schedules invoke it"),
                    ("--statements", f"file://{SCHEDULES_POLICY_FILE}"),
                ),
            ),
        ),
    )
    return schedules, invoke


def alarms_step(alarm_commands: str, namespace: str, alarm_compartment_id: str) -> Step:
    """The alarms on the tenancy with --metric-compartment-id-in-subtree, and what their creator needs."""
    return Step(
        "The alarms, watching every compartment of the tenancy",
        (
            "A tenancy-wide report posts each volume's metrics into the volume's own compartment; with "
            "--metric-compartment-id-in-subtree true on the tenancy one alarm sees them all.",
            "Whoever creates them needs, in a policy of the tenancy: CreateAlarm needs ALARM_CREATE where the alarm "
            f"lives and METRIC_READ in the metric compartment and namespace ({MONITORING_POLICY_DOC}), and a subtree "
            "alarm 'requires the user to have tenancy-level permissions' (the SDK's CreateAlarmDetails):",
            f"  Allow group <alarm-creators> to manage alarms in compartment id {alarm_compartment_id}",
            f"  Allow group <alarm-creators> to read metrics in tenancy where target.metrics.namespace = '{namespace}'",
            "UNCONFIRMED: whether a grant narrowed to the namespace counts as 'tenancy-level' for a subtree alarm; if "
            "the create is refused, drop the where clause.",
        ),
        (),
        text=alarm_commands.rstrip("\n"),
    )


def render(steps: Sequence[Step], argv: Sequence[str]) -> str:
    head = [
        "# The tenancy-wide setup of backup-copier (docs/deploying.md#tenancy-wide-setup), generated by:",
        "#   python -m backup_copier.deploy_kit " + " ".join(shlex.quote(part) for part in argv),
        "# Run the steps in order, in one bash shell: step 5 uses the schedule OCIDs step 4 keeps.",
        "# Then run the preflight check: fn invoke <app> backup-copier < events/check.json",
    ]
    return "\n\n".join(["\n".join(head), *(step.render(n) for n, step in enumerate(steps, 1))]) + "\n"


def setup(
    *,
    tenancy_id: str,
    function_id: str,
    function_compartment_id: str,
    source_region: str,
    destination_regions: tuple[str, ...],
    kms_key_ids: Sequence[str],
    topic_id: str,
    namespace: str,
    condition: dict[str, object],
    argv: Sequence[str],
    dynamic_group: str = iam.DEFAULT_DYNAMIC_GROUP,
) -> str:
    """The six steps, from values cli.py has validated."""
    sections = iam.policy(
        source_region=source_region,
        destination_regions=destination_regions,
        compartment_ids=(),
        kms_key_ids=kms_key_ids,
        function_compartment_id=function_compartment_id,
        dynamic_group=dynamic_group,
    )
    regenerate = " ".join(
        ["python -m backup_copier.deploy_kit policies --source-region", source_region]
        + ["--destination", ",".join(destination_regions)]
        + [part for key in kms_key_ids for part in ("--kms-key", key)]
        + ["--function-compartment", function_compartment_id]
    )
    alarm_commands = recovery_point.alarm_commands(
        recovery_point.alarms(destination_regions),
        namespace,
        tenancy_id,
        function_compartment_id,
        topic_id,
        subtree=True,
        region=source_region,
    )
    steps = [
        dynamic_group_step(tenancy_id, function_id, dynamic_group),
        policy_step(tenancy_id, sections, namespace, dynamic_group, regenerate),
        events_rule_step(tenancy_id, function_id, source_region, condition),
        *schedule_steps(function_id, function_compartment_id, tenancy_id, source_region),
        alarms_step(alarm_commands, namespace, function_compartment_id),
    ]
    return render(steps, argv)
