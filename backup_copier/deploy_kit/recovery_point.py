"""The kit's monitoring: the IAM grant for the function's metrics, the schedules' bodies, and the alarms.

Printed from the same names and checks the function uses (shared/metrics.py, shared/settings.py),
so an alarm can never watch a metric the function does not post, in a namespace it does not use.
The alarms: the recovery point per destination region and its absence (the report), copies that
could not be marked (copy_mark_failures), and the function's own failed invocations, read from
the Functions service's metrics (oci_faas).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..shared.errors import InvalidRequest, InvalidSetting
from ..shared.metrics import COPY_MARK_FAILURES, RPO_HOURS, VOLUMES_BREACHING, use_metrics_statement
from ..shared.settings import DEFAULT_METRICS_NAMESPACE, DEFAULT_RPO_TARGET_HOURS, load_settings
from . import iam
from .script import Expand, Word, word

# Oracle's pages, cited next to what they document (the first three are the SDK's own references).
PUBLISHING_METRICS_DOC = "https://docs.oracle.com/iaas/Content/Monitoring/Tasks/publishingcustommetrics.htm"
MQL_DOC = "https://docs.oracle.com/iaas/Content/Monitoring/Reference/mql.htm"
ABSENCE_DOC = (
    "https://docs.oracle.com/iaas/Content/Monitoring/Tasks/create-edit-alarm-query-absence-detection-period.htm"
)
ALARM_CLI_DOC = (
    "https://docs.oracle.com/en-us/iaas/tools/oci-cli/latest/oci_cli_docs/cmdref/monitoring/alarm/create.html"
)
# Oracle, "Function Metrics": namespace oci_faas; FunctionResponseCount, "Total number of function
# responses", with the dimensions resourceId (the function's OCID) and responseType (Success, Error or
# Throttled; the console's Errors chart is responseType = "Error"); posted in the application's compartment.
FUNCTION_METRICS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Reference/functionsmetrics.htm"
FUNCTIONS_NAMESPACE = "oci_faas"
FUNCTION_RESPONSES = "FunctionResponseCount"
# Five minutes: an invocation that failed is worth knowing about before the next hourly run.
FAILURE_INTERVAL = "5m"
# Every hour at :23, away from the top of the hour when backup policies and other schedules start.
REPORT_CRON = "23 * * * *"
# Alarm queries read one-hour windows of an hourly metric; two hours without one is two missed runs.
ALARM_INTERVAL = "1h"
ABSENCE_PERIOD = "2h"


@dataclass(frozen=True)
class Alarm:
    display_name: str
    query: str
    severity: str
    body: str
    why: str
    sources: tuple[str, ...]
    # A service's namespace (oci_faas) rather than the function's own METRICS_NAMESPACE.
    namespace: str | None = None
    # Shell variables the query names (${FUNCTION_ID}), which the setup script fills in.
    query_names: tuple[str, ...] = ()


def checked_namespace(namespace: str) -> str:
    """The namespace, validated as the function validates METRICS_NAMESPACE."""
    try:
        # DESTINATION_REGION only satisfies a required key; the namespace is what is checked.
        return load_settings({"DESTINATION_REGION": "iad", "METRICS_NAMESPACE": namespace}).metrics_namespace
    except InvalidSetting as exc:
        raise InvalidRequest("--namespace", exc.message.removeprefix("METRICS_NAMESPACE: ")) from None


def checked_target(hours: str) -> float:
    """The RPO target, validated as the function validates RPO_TARGET_HOURS."""
    try:
        return load_settings({"DESTINATION_REGION": "iad", "RPO_TARGET_HOURS": hours}).rpo_target_hours
    except InvalidSetting as exc:
        raise InvalidRequest("--rpo-target-hours", exc.message.removeprefix("RPO_TARGET_HOURS: ")) from None


def metrics_statements(
    compartment_ids: Sequence[str],
    namespace: str = DEFAULT_METRICS_NAMESPACE,
    dynamic_group: str = iam.DEFAULT_DYNAMIC_GROUP,
) -> list[str]:
    """METRIC_WRITE in each compartment the report (or sweep) posts into, for the function's namespace only."""
    return [use_metrics_statement(compartment, namespace, dynamic_group) for compartment in compartment_ids]


def report_schedule_resources(
    function_id: object,
    compartment_id: str | Sequence[str],
    since_hours: float | None = None,
    *,
    subtree: bool = False,
    action: str = "report",
) -> list[dict[str, object]]:
    """`--resources` of `oci resource-scheduler schedule create`: the function, started with the action as its body.

    One compartment is named with compartmentId (with subtree, it and every compartment below it);
    several with compartmentIds, exactly those (shared/scope.py).
    """
    compartments = [compartment_id] if isinstance(compartment_id, str) else list(compartment_id)
    body: dict[str, object] = {"action": action}
    if len(compartments) == 1:
        body["compartmentId"] = compartments[0]
    else:
        body["compartmentIds"] = compartments
    if subtree:
        body["subtree"] = True
    if since_hours is not None:
        body["sinceHours"] = since_hours
    return [{"id": function_id, "parameters": [{"parameterType": "BODY", "value": body}]}]


def alarms(destination_regions: Sequence[str], target_hours: float = DEFAULT_RPO_TARGET_HOURS) -> list[Alarm]:
    """One recovery-point alarm per destination region, and one that fires when the report stops posting."""
    found = [
        Alarm(
            # The name stays when the target changes, so that a setup script run again finds the alarm.
            display_name=f"backup-copier: recovery point in {region}",
            query=f'{RPO_HOURS}[{ALARM_INTERVAL}]{{destinationRegion = "{region}"}}.max() > {target_hours:g}',
            severity="CRITICAL",
            body=(
                f"The newest copy of a volume in {region} is older than {target_hours:g} h, or there is none. "
                'Invoke the function with {"action": "report"} to see which volume and why (inFlight, faulty).'
            ),
            why=f"{RPO_HOURS} is each volume's rpoHours, a lower bound when it has no copy; the worst one counts",
            sources=(MQL_DOC,),
        )
        for region in destination_regions
    ]
    found.append(
        Alarm(
            display_name="backup-copier: the recovery-point report stopped posting",
            query=f"{VOLUMES_BREACHING}[{ALARM_INTERVAL}].absent({ABSENCE_PERIOD})",
            severity="ERROR",
            body=(
                f"No {VOLUMES_BREACHING} for {ABSENCE_PERIOD}: the hourly report has not run, or could not read "
                "or post. See the log line of its last run (reason, metricsReason)."
            ),
            why=f"the report posts {VOLUMES_BREACHING} for every region on every whole run, zero included",
            sources=(MQL_DOC, ABSENCE_DOC),
        )
    )
    found.append(mark_failures_alarm())
    return found


def mark_failures_alarm() -> Alarm:
    """Copies made but not marked: each would never expire, and nothing else would say so."""
    return Alarm(
        display_name="backup-copier: copies that could not be marked",
        query=f"{COPY_MARK_FAILURES}[{ALARM_INTERVAL}].sum() > 0",
        severity="ERROR",
        body=(
            "A copy was made but its mark (the tags that give it an expiry) could not be written, so it will "
            "never expire. The invocation's log line names the copy (marked: false, markReasonCode); usually the "
            "dynamic group lacks ..._BACKUP_UPDATE in the destination region: add the mark statements from "
            "deploy_kit policies (docs/operations.md, Troubleshooting)."
        ),
        why=f"the function counts each copy whose mark it could not write in {COPY_MARK_FAILURES}, by destinationRegion",
        sources=(MQL_DOC,),
    )


def failed_invocations_alarm(function_id: str = "${FUNCTION_ID}") -> Alarm:
    """The function's own failed invocations, from the Functions service's metrics: any answer that is an error."""
    return Alarm(
        display_name="backup-copier: failed invocations",
        query=(
            f'{FUNCTION_RESPONSES}[{FAILURE_INTERVAL}]{{resourceId = "{function_id}", responseType = "Error"}}'
            ".sum() > 0"
        ),
        severity="ERROR",
        body=(
            "backup-copier answered an invocation with an error (a failed or rejected answer is HTTP 502), or "
            "crashed or ran out of time. Its log line says why and what to do (docs/operations.md, "
            'Troubleshooting); {"action": "check"} tests the deployment.'
        ),
        why=f'{FUNCTION_RESPONSES} with responseType = "Error" counts the function\'s error responses '
        "(Oracle's Errors chart)",
        sources=(FUNCTION_METRICS_DOC, MQL_DOC),
        namespace=FUNCTIONS_NAMESPACE,
        query_names=("FUNCTION_ID",) if function_id == "${FUNCTION_ID}" else (),
    )


def alarm_options(
    alarm: Alarm,
    namespace: str,
    metric_compartment_id: Word,
    alarm_compartment_id: Word,
    topic_id: str,
    *,
    subtree: bool = False,
    region: Word | None = None,
) -> list[tuple[str, Word]]:
    """The options of `oci monitoring alarm create` (and `update`, with --alarm-id) for `alarm`."""
    query: Word = Expand(alarm.query, alarm.query_names) if alarm.query_names else alarm.query
    return [
        *([("--region", region)] if region else []),
        ("--compartment-id", alarm_compartment_id),
        ("--metric-compartment-id", metric_compartment_id),
        *([("--metric-compartment-id-in-subtree", "true")] if subtree else []),
        ("--display-name", alarm.display_name),
        ("--namespace", alarm.namespace or namespace),
        ("--query-text", query),
        ("--severity", alarm.severity),
        ("--destinations", json.dumps([topic_id])),
        ("--is-enabled", "true"),
        ("--body", alarm.body),
    ]


def alarm_comments(alarm: Alarm) -> list[str]:
    """What the alarm watches and why, with Oracle's pages: printed above its command."""
    return [
        f"{alarm.display_name}: {alarm.why}",
        f"  MQL: {alarm.query}",
        *(f"  {s}" for s in (*alarm.sources, ALARM_CLI_DOC)),
    ]


def alarm_commands(
    alarm_list: Sequence[Alarm],
    namespace: str,
    metric_compartment_id: str,
    alarm_compartment_id: str,
    topic_id: str,
    *,
    subtree: bool = False,
    region: str | None = None,
) -> str:
    """Each alarm as an `oci monitoring alarm create` command, its MQL and Oracle's pages above it.

    With `region`, each command says `--region`: the region the function posts its metrics in.

    With `subtree` (the metric compartment must be the tenancy), one alarm watches the streams of
    every compartment: a tenancy-wide report posts each volume's into the volume's own compartment.
    """
    blocks = [
        f"# Created in {region}, where the function posts its metrics."
        if region
        else "# Create them in the region the function runs in, where its metrics are posted (oci ... --region <region>)."
    ]
    if subtree:
        blocks[0] += "\n# " + SUBTREE_NOTE
    for alarm in alarm_list:
        options = alarm_options(
            alarm, namespace, metric_compartment_id, alarm_compartment_id, topic_id, subtree=subtree, region=region
        )
        command = "oci monitoring alarm create " + " \\\n  ".join(f"{name} {word(value)}" for name, value in options)
        blocks.append("\n".join([*(f"# {line}" for line in alarm_comments(alarm)), command]))
    return "\n\n".join(blocks) + "\n"


SUBTREE_NOTE = (
    "--metric-compartment-id-in-subtree: every compartment of the tenancy. Oracle allows it only with the "
    "tenancy as --metric-compartment-id, and it needs tenancy-level permissions (read metrics in tenancy) "
    "for whoever creates the alarm (the SDK's CreateAlarmDetails)."
)
