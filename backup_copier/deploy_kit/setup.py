"""The whole setup of one deployment as one bash script: `quickstart` and `tenancy-setup`.

A deployment serves one source region. From one set of validated inputs (options.py) the script
configures the function (`fn config function`, its timeout), creates or updates its dynamic
group, its policy, the Events rule, the three Resource Scheduler schedules (four with restore
drills, --drills on) and the policy that lets them invoke it, and the alarms, then runs the preflight check. Every piece is rendered by
the code the single-purpose subcommands use (iam.py, recovery_point.py, cli.py's rule
condition), and the configuration is the function's own settings, validated by shared/settings.py:
so the keys the function reads, the statements that grant them and the rule's filter agree by
construction.

The scope is either a list of compartments (quickstart: SOURCE_COMPARTMENT_IDS, the rule's
compartment filter, the policy's `in compartment id ...`) or the whole tenancy (tenancy-setup:
no filter, `in tenancy`, schedules with "subtree": true, alarms on the tenancy's subtree).

Commands are oci-cli 3.95.1's and the fn CLI's (0.6.x, fnproject/cli: `fn config function <app>
<function> <key> <value>`, `fn unset config function <app> <function> <key>`, `fn inspect
function <app> <function> [property]`, `fn update function <app> <function> --timeout <s>`,
`fn invoke <app> <function>`). tests/deploy_kit/ runs the printed script in bash with the real
oci CLI against a recording server and an fn that accepts only that syntax, twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..shared.metrics import use_metrics_statement
from ..shared.settings import kms_key_setting
from . import drill, iam, recovery_point
from .script import (
    Capture,
    Command,
    JsonFile,
    Line,
    Named,
    Raw,
    Run,
    Script,
    Step,
    Upsert,
    Var,
    Word,
    command_line,
    expand_json,
    expand_text,
    oci,
    word,
)

FUNCTION_NAME = "backup-copier"  # func.yaml's name
# OCI Functions' longest synchronous timeout. Schedules invoke the function detached (Oracle, "Invoking
# Functions": "functions that you schedule are always invoked with Detached"), and a detached run gets
# detachedModeTimeoutInSeconds, which defaults to this one.
TIMEOUT_SECONDS = 300
CLI_DOC = "https://docs.oracle.com/en-us/iaas/tools/oci-cli/latest/oci_cli_docs/cmdref"
SCHEDULING_FUNCTIONS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsschedulingfunctions-about.htm"
SCHEDULER_POLICIES_DOC = "https://docs.oracle.com/iaas/Content/resource-scheduler/references/example_policies.htm"
INVOKE_ACCESS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsrestrictinguseraccess.htm"
MONITORING_POLICY_DOC = "https://docs.oracle.com/en-us/iaas/Content/Identity/Reference/monitoringpolicyreference.htm"
FILTER_EVENTS_DOC = "https://docs.oracle.com/iaas/Content/Events/Concepts/filterevents.htm"
TIMEOUT_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionscustomizing.htm"
REGIONS_DOC = "https://docs.oracle.com/iaas/Content/Identity/regions/managingregions.htm"
# The sweep every hour at :17 (docs/sweep.md), the report at :23 (recovery_point.REPORT_CRON),
# the expiry pass once a day at 03:47: half an hour after a sweep, so the newest copies it keeps
# have had time to become AVAILABLE, and away from the top of the hour when backup policies start
# (docs/retention.md, "Scheduling: two schedules").
SWEEP_CRON = "17 * * * *"
EXPIRY_CRON = "47 3 * * *"
CHECK_BODY = json.dumps({"action": "check"})
# With restore drills, the check also proves the drill's reads (deploy_kit/drill.py).
DRILL_CHECK_BODY = json.dumps({"action": "check", "drill": True})
POLICY_NAME = "backup-copier"
SCHEDULES_POLICY_NAME = "backup-copier-schedules"
RULE_NAME = "backup-copier"
DYNAMIC_GROUPS = Named("iam dynamic-group", "--name", "--dynamic-group-id", update_renames=False)
POLICIES = Named("iam policy", "--name", "--policy-id", update_renames=False)
RULES = Named("events rule", "--display-name", "--rule-id")
SCHEDULE_KIND = Named("resource-scheduler schedule", "--display-name", "--schedule-id", listed_in="data.items")
ALARMS = Named("monitoring alarm", "--display-name", "--alarm-id")
# A policy update replaces the statements; without --version-date "" it keeps the old version date.
POLICY_UPDATE = (("--version-date", ""),)


@dataclass(frozen=True)
class Schedule:
    action: str
    display_name: str
    cron: str
    why: str
    # The shell variable that keeps the schedule's OCID for the policy that lets it invoke.
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
# With --drills on: every 15 minutes, a drill pass (docs/drills.md).
DRILL_SCHEDULE = Schedule(
    "drill", "backup-copier-drill", drill.DRILL_CRON, "every 15 minutes: restore drills of the copies", "DRILL_SCHEDULE"
)


@dataclass(frozen=True)
class Deployment:
    """What options.py validated: everything the script is generated from."""

    app: str
    tenancy_id: str
    source_region: str
    destination_regions: tuple[str, ...]
    # Destination region -> its Vault key, for the regions that have one.
    kms_key_ids: dict[str, str]
    # Empty: the whole tenancy (tenancy-setup).
    compartment_ids: tuple[str, ...]
    required_tag: str | None
    metrics: bool
    namespace: str
    topic_id: str
    home_region: str | None
    rpo_target_hours: float
    dynamic_group: str = iam.DEFAULT_DYNAMIC_GROUP
    # Restore drills (--drills on): their statements, their schedule, their alarms and their check.
    drills: bool = False
    drill_age_hours: float = drill.DEFAULT_DRILL_AGE_HOURS

    @property
    def tenancy_wide(self) -> bool:
        return not self.compartment_ids

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        return (*SCHEDULES, DRILL_SCHEDULE) if self.drills else SCHEDULES

    @property
    def check_body(self) -> str:
        return DRILL_CHECK_BODY if self.drills else CHECK_BODY

    def configuration(self) -> list[tuple[str, str | None]]:
        """The function's keys this setup decides, in order; None unsets a key, so a rerun leaves no stale value."""
        keys: list[tuple[str, str | None]] = [("DESTINATION_REGION", ",".join(self.destination_regions))]
        keys.append(("SOURCE_COMPARTMENT_IDS", ",".join(self.compartment_ids) or None))
        keys += [(kms_key_setting(region), self.kms_key_ids.get(region)) for region in self.destination_regions]
        keys.append(("REQUIRED_FREEFORM_TAG", self.required_tag))
        keys.append(("METRICS", "on" if self.metrics else "off"))
        if self.metrics:
            keys.append(("METRICS_NAMESPACE", self.namespace))
        return keys

    def settings(self) -> dict[str, str]:
        """The configuration as the function reads it: the keys set, without the ones unset."""
        return {key: value for key, value in self.configuration() if value is not None}


APP = Var("APP")
TENANCY = Var("TENANCY")
SOURCE = Var("SOURCE_REGION")
HOME = Var("HOME_REGION")
FUNCTION = Var("FUNCTION_ID")
FUNCTION_COMPARTMENT = Var("FUNCTION_COMPARTMENT")
# Placeholders in statements and rules that the script fills in: ${FUNCTION_ID}, ${FUNCTION_COMPARTMENT}.
FUNCTION_ID_TEXT = "${FUNCTION_ID}"
FUNCTION_COMPARTMENT_TEXT = "${FUNCTION_COMPARTMENT}"


def _cli(path: str) -> str:
    return f"{CLI_DOC}/{path}.html"


def _fn(verb: str, *arguments: str | Var, options: tuple[tuple[str, str | None], ...] = ()) -> Command:
    """`fn <verb> function <app> backup-copier ...`."""
    words = verb.split()
    return Command(("fn", *words, "function"), options, (APP, FUNCTION_NAME, *arguments))


def read_step(deployment: Deployment) -> Step:
    """The values every later step needs: the home region, the function's OCID and its compartment."""
    region_codes = sorted({deployment.source_region, iam.region_key(deployment.source_region)})
    lines: list[Line] = []
    if deployment.home_region is None:
        lines.append(
            Capture(
                "HOME_REGION",
                "the tenancy's home region",
                "+([a-z])-*-+([0-9])",
                oci(
                    "iam region-subscription list",
                    ("--region", SOURCE),
                    ("--tenancy-id", TENANCY),
                    ("--query", 'data[?"is-home-region"]."region-name" | [0]'),
                    ("--raw-output", None),
                ),
            )
        )
    lines += [
        Capture(
            "FUNCTION_ID",
            f"the OCID of {FUNCTION_NAME} in the application {deployment.app}",
            f"ocid1.fnfunc.*.@({'|'.join(region_codes)}).*",
            _fn("inspect", "id"),
        ),
        Capture(
            "FUNCTION_COMPARTMENT",
            "the function's compartment",
            "ocid1.@(compartment|tenancy).*",
            oci(
                "fn function get",
                ("--region", SOURCE),
                ("--function-id", FUNCTION),
                ("--query", 'data."compartment-id"'),
                ("--raw-output", None),
            ),
        ),
        Raw('say "function $FUNCTION_ID, in compartment $FUNCTION_COMPARTMENT; IAM in $HOME_REGION"'),
    ]
    return Step(
        "Read the function's OCID and compartment, and the tenancy's home region",
        (
            "fn inspect reads the function from the fn CLI's current context, which must be for "
            f"{deployment.source_region}: the OCID must be of that region, or the script stops.",
            f"IAM changes are accepted only in the home region ({REGIONS_DOC}): every oci iam command below "
            'says --region "$HOME_REGION"; region-subscription list is a read any region answers.',
        ),
        tuple(lines),
    )


def configure_step(deployment: Deployment) -> Step:
    lines: list[Line] = []
    for key, value in deployment.configuration():
        if value is None:
            lines.append(Run(_fn("unset config", key)))
        else:
            lines.append(Run(_fn("config", key, value)))
    lines.append(
        Run(
            _fn("update", options=(("--timeout", str(TIMEOUT_SECONDS)),)),
            done=f"timeout {TIMEOUT_SECONDS} s",
            quiet=True,
        )
    )
    return Step(
        "Configure the function: the keys below agree with the policy and the rule by construction",
        (
            "Each is validated as the function validates it before this script was printed; a key this setup "
            "does not use is unset, so a rerun with other options leaves nothing stale.",
            f"The timeout: a sweep, expiry pass or report uses the time it is given; {TIMEOUT_SECONDS} s is the "
            f"most OCI Functions allows ({TIMEOUT_DOC}). fn deploy sets func.yaml's timeout again: run this "
            "script again after each fn deploy.",
        ),
        tuple(lines),
    )


def dynamic_group_step(deployment: Deployment) -> Step:
    rule = expand_text(iam.dynamic_group_rule(function_id=FUNCTION_ID_TEXT), "FUNCTION_ID")
    guard = (
        Capture(
            "EXISTING_RULE",
            f"the matching rule of the dynamic group {deployment.dynamic_group}",
            "*",
            oci(
                "iam dynamic-group get",
                ("--region", HOME),
                ("--dynamic-group-id", Var("DYNAMIC_GROUP_ID")),
                ("--query", 'data."matching-rule"'),
                ("--raw-output", None),
            ),
        ),
        Raw(
            '[[ $EXISTING_RULE == *"$FUNCTION_ID"* ]] || fail '
            + expand_text(
                f"the dynamic group {deployment.dynamic_group} matches ${{EXISTING_RULE}}, not this function "
                "(${FUNCTION_ID}). One deployment serves one source region and one function: if that function is "
                "gone (deleted, or created again), delete the group or change its rule, then run this script again.",
                "EXISTING_RULE",
                "FUNCTION_ID",
            ).render()
        ),
    )
    return Step(
        f"The dynamic group {deployment.dynamic_group}: the function's resource principal",
        (
            "The function signs its requests as itself; the policy below grants this group, which matches this one "
            f"function ({iam.FUNCTIONS_ACCESS_DOC}). A group that matches another function is not taken over.",
            _cli("iam/dynamic-group/create"),
        ),
        (
            DYNAMIC_GROUPS.upsert(
                f"the dynamic group {deployment.dynamic_group}",
                "DYNAMIC_GROUP_ID",
                region=HOME,
                compartment=TENANCY,
                name=deployment.dynamic_group,
                options=(("--description", "backup-copier function"), ("--matching-rule", rule)),
                before_update=guard,
            ),
        ),
    )


def _policy(name: str, variable: str, compartment: Var, statements: JsonFile, description: str) -> Upsert:
    """A policy in the home region, its statements from a file written just before."""
    return POLICIES.upsert(
        f"the policy {name}",
        variable,
        region=HOME,
        compartment=compartment,
        name=name,
        options=(("--description", description), ("--statements", statements.url)),
        update_only=POLICY_UPDATE,
    )


def policy_statements(deployment: Deployment) -> tuple[list[iam.Section], list[str]]:
    """The kit's sections for this scope, and the metrics grant: what the function's policy holds."""
    sections = iam.policy(
        source_region=deployment.source_region,
        destination_regions=deployment.destination_regions,
        compartment_ids=deployment.compartment_ids,
        kms_key_ids=[deployment.kms_key_ids[r] for r in deployment.destination_regions if r in deployment.kms_key_ids],
        function_compartment_id=FUNCTION_COMPARTMENT_TEXT,
        dynamic_group=deployment.dynamic_group,
    )
    if deployment.drills:
        sections.append(
            drill.section(deployment.destination_regions, deployment.compartment_ids, deployment.dynamic_group)
        )
    metrics = []
    if deployment.metrics:
        scopes: Sequence[str | None] = deployment.compartment_ids or (None,)
        metrics = [use_metrics_statement(c, deployment.namespace, deployment.dynamic_group) for c in scopes]
    return sections, metrics


def policy_step(deployment: Deployment, argv_policies: str) -> Step:
    sections, metrics = policy_statements(deployment)
    statements = [line for section in sections for line in section.statements] + metrics
    policy_file = JsonFile("policy.json", statements, expands=("FUNCTION_COMPARTMENT",))
    where = "every compartment of the tenancy" if deployment.tenancy_wide else "the backups' compartments"
    metrics_comment = (
        [
            f"- Post the report's and the sweep's metrics into {where} (use metrics, narrowed to the namespace "
            f"'{deployment.namespace}'; {recovery_point.PUBLISHING_METRICS_DOC})"
        ]
        if metrics
        else ["- No metrics grant: METRICS is off"]
    )
    description = "backup-copier: copy, mark, expire and report Block Volume backups"
    return Step(
        f"The function's policy, {POLICY_NAME}, in the root compartment",
        (
            *(f"- {section.title}" for section in sections),
            *metrics_comment,
            "Each statement with the permissions it grants and Oracle's page behind them:",
            f"  {argv_policies}",
            _cli("iam/policy/create"),
        ),
        (
            policy_file,
            _policy(POLICY_NAME, "POLICY_ID", TENANCY, policy_file, description),
        ),
    )


def events_rule_step(deployment: Deployment, condition: dict[str, object]) -> Step:
    """One rule in the root compartment: a rule covers its compartment and every compartment below it."""
    actions = expand_json({"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": FUNCTION}]})
    description = "backup-copier: completed Block Volume backups"
    options = (
        ("--description", description),
        ("--is-enabled", "true"),
        ("--condition", json.dumps(condition)),
        ("--actions", actions),
    )
    filtered = (
        "no filter: every completed backup of the tenancy"
        if deployment.tenancy_wide
        else "filtered by the values SOURCE_COMPARTMENT_IDS"
        + (" and REQUIRED_FREEFORM_TAG" if deployment.required_tag else "")
        + " filter by"
    )
    return Step(
        "The Events rule, in the root compartment",
        (
            f"A rule covers its compartment and the compartments below it ({FILTER_EVENTS_DOC}); its condition is "
            f"the three backup-completed (.end) event types the function accepts, {filtered}.",
            "Rules are regional: this one is in the backups' region, with the function.",
            _cli("events/rule/create"),
        ),
        (
            RULES.upsert(
                f"the Events rule {RULE_NAME}",
                "RULE_ID",
                region=SOURCE,
                compartment=TENANCY,
                name=RULE_NAME,
                options=options,
            ),
        ),
    )


def schedule_steps(deployment: Deployment) -> tuple[Step, Step]:
    """The schedules (three, four with drills), each starting the function with its action over the scope; then
    their policy."""
    scope: str | tuple[str, ...] = deployment.tenancy_id if deployment.tenancy_wide else deployment.compartment_ids
    upserts = []
    schedules_made = deployment.schedules
    for schedule in schedules_made:
        resources = recovery_point.report_schedule_resources(
            FUNCTION, scope, subtree=deployment.tenancy_wide, action=schedule.action
        )
        upserts.append(
            SCHEDULE_KIND.upsert(
                f"the schedule {schedule.display_name}",
                schedule.variable,
                region=SOURCE,
                compartment=FUNCTION_COMPARTMENT,
                name=schedule.display_name,
                options=(
                    ("--description", f"backup-copier {schedule.action}: {schedule.why}"),
                    ("--action", "START_RESOURCE"),
                    ("--recurrence-type", "CRON"),
                    ("--recurrence-details", schedule.cron),
                    ("--resources", expand_json(resources)),
                ),
                keep_created_id="ocid1.resourceschedule.*",
            )
        )
    body = (
        'the body names the tenancy with "subtree": true, so a compartment created next month is covered'
        if deployment.tenancy_wide
        else "the body names the backups' compartments, as SOURCE_COMPARTMENT_IDS does"
    )
    count = "Four" if deployment.drills else "Three"
    schedules = Step(
        f"{count} Resource Scheduler schedules: the sweep, the expiry pass and the report"
        + (", and the restore drills" if deployment.drills else ""),
        (
            f"Each starts the function (START_RESOURCE) with its body as the BODY parameter ({SCHEDULING_FUNCTIONS_DOC}); "
            f"{body}.",
            *(f"{s.display_name}: '{s.cron}', {s.why}" for s in schedules_made),
            f"Whoever runs this needs 'manage resource-schedule-family' ({SCHEDULER_POLICIES_DOC}).",
            _cli("resource-scheduler/schedule/create"),
        ),
        tuple(upserts),
    )
    ids = ", ".join(f"request.principal.id='${{{s.variable}}}'" for s in schedules_made)
    statement = (
        f"Allow any-user to use fn-invocation in compartment id {FUNCTION_COMPARTMENT_TEXT} "
        f"where all {{request.principal.type='resourceschedule', any {{{ids}}}}}"
    )
    policy_file = JsonFile(
        "schedules-policy.json", [statement], expands=("FUNCTION_COMPARTMENT", *(s.variable for s in schedules_made))
    )
    description = f"backup-copier: its {count.lower()} schedules invoke it"
    invoke = Step(
        f"Let these {count.lower()} schedules, and nothing else, invoke the function: the policy {SCHEDULES_POLICY_NAME}",
        (
            f"A schedule may do nothing until a policy lets it ({SCHEDULER_POLICIES_DOC}); "
            f"use fn-invocation is the verb that invokes ({INVOKE_ACCESS_DOC}).",
            _cli("iam/policy/create"),
        ),
        (
            policy_file,
            _policy(SCHEDULES_POLICY_NAME, "SCHEDULES_POLICY_ID", FUNCTION_COMPARTMENT, policy_file, description),
        ),
    )
    return schedules, invoke


def alarms_step(deployment: Deployment) -> Step:
    """The alarms: on the function's failed invocations always, on its own metrics when it posts them."""
    upserts = []
    comments: list[str] = []

    def add(alarm: recovery_point.Alarm, metric_compartment: Word, subtree: bool, suffix: str = "") -> None:
        named = replace(alarm, display_name=alarm.display_name + suffix)
        options = recovery_point.alarm_options(
            named,
            deployment.namespace,
            metric_compartment,
            FUNCTION_COMPARTMENT,
            deployment.topic_id,
            subtree=subtree,
            region=SOURCE,
        )
        comments.extend(recovery_point.alarm_comments(named))
        placed = {"--region", "--compartment-id", "--display-name"}
        upserts.append(
            ALARMS.upsert(
                f"the alarm '{named.display_name}'",
                "ALARM_ID",
                region=SOURCE,
                compartment=FUNCTION_COMPARTMENT,
                name=named.display_name,
                options=[option for option in options if option[0] not in placed],
            )
        )

    add(recovery_point.failed_invocations_alarm(), FUNCTION_COMPARTMENT, subtree=False)
    if deployment.metrics:
        own = recovery_point.alarms(deployment.destination_regions, deployment.rpo_target_hours)
        if deployment.drills:
            own += drill.alarms(deployment.drill_age_hours)
        if deployment.tenancy_wide:
            for alarm in own:
                add(alarm, deployment.tenancy_id, subtree=True)
        else:
            for compartment in deployment.compartment_ids:
                suffix = f" ({compartment[-8:]})" if len(deployment.compartment_ids) > 1 else ""
                for alarm in own:
                    add(alarm, compartment, subtree=False, suffix=suffix)
    creators = (
        "Whoever creates them needs ALARM_CREATE where the alarms live and METRIC_READ in the metric compartment "
        f"and namespace ({MONITORING_POLICY_DOC}):",
        "  Allow group <alarm-creators> to manage alarms in compartment id <the function's compartment>",
        f"  Allow group <alarm-creators> to read metrics in {'tenancy' if deployment.tenancy_wide else 'compartment id <each backups compartment>'}",
    )
    subtree = (recovery_point.SUBTREE_NOTE,) if deployment.tenancy_wide and deployment.metrics else ()
    return Step(
        "The alarms, in the function's compartment, notifying the topic",
        (
            "Created in the source region, where the function runs and posts its metrics.",
            *subtree,
            *creators,
            *comments,
        ),
        tuple(upserts),
    )


def check_step(body: str = CHECK_BODY) -> Step:
    invoke = _fn_invoke()
    return Step(
        "The preflight check: the function reads its settings and tries each permission it can without copying",
        (
            "IAM changes can take a few minutes to reach a running function: if an item fails right after this "
            "script created its statement, run the check again in a few minutes.",
        ),
        (
            Raw(f"ANSWER=$(printf '%s' {word(body)} | {invoke})"),
            Raw("printf '%s\\n' \"$ANSWER\""),
            Raw(
                'grep -Eq \'"outcome": *"ready"\' <<<"$ANSWER" || fail '
                + expand_text(
                    'the check did not answer ready: each item with "ok": false says what to fix. '
                    f"Run the check again with: echo '{body}' | fn invoke ${{APP}} {FUNCTION_NAME}",
                    "APP",
                ).render()
            ),
            Raw(
                "say 'ready: the function can read the backups and post its metrics (the check says what it cannot prove)'"
            ),
        ),
    )


def _fn_invoke() -> str:
    return f'fn invoke "$APP" {FUNCTION_NAME}'


def script(deployment: Deployment, *, condition: dict[str, object], argv: Sequence[str], policies_argv: str) -> Script:
    scope = (
        "every compartment of the tenancy"
        if deployment.tenancy_wide
        else "the compartment(s) " + ", ".join(deployment.compartment_ids)
    )
    head = (
        f"backup-copier: the whole setup for backups made in {deployment.source_region}, copied to "
        f"{', '.join(deployment.destination_regions)}, for {scope}. Generated by:",
        f"  {command_line(argv)}",
        "",
        "Run it with bash. It stops at the first failure and says why; run it again, it updates what it created "
        f"(found by name) and creates nothing twice. It needs the fn CLI, with a context for {deployment.source_region} "
        f"in which the application {deployment.app} holds the deployed function {FUNCTION_NAME}, and the oci CLI, "
        "as a user who may manage IAM in the tenancy, Events rules, Resource Scheduler schedules and alarms "
        "(docs/deploying.md).",
    )
    inputs = [("APP", deployment.app), ("TENANCY", deployment.tenancy_id), ("SOURCE_REGION", deployment.source_region)]
    if deployment.home_region:
        inputs.append(("HOME_REGION", deployment.home_region))
    schedules, invoke = schedule_steps(deployment)
    steps = (
        read_step(deployment),
        configure_step(deployment),
        dynamic_group_step(deployment),
        policy_step(deployment, policies_argv),
        events_rule_step(deployment, condition),
        schedules,
        invoke,
        alarms_step(deployment),
        check_step(deployment.check_body),
    )
    return Script(head, tuple(inputs), steps)
