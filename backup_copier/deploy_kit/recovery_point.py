"""The recovery point's part of the kit: the IAM grant for its metrics, the hourly report schedule and two alarms.

Printed from the same names and checks the function uses (shared/metrics.py, shared/settings.py),
so an alarm can never watch a metric the report does not post, in a namespace it does not use.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..shared.errors import InvalidRequest, InvalidSetting
from ..shared.metrics import RPO_HOURS, VOLUMES_BREACHING, use_metrics_statement
from ..shared.settings import DEFAULT_METRICS_NAMESPACE, DEFAULT_RPO_TARGET_HOURS, load_settings
from . import iam

# Oracle's pages, cited next to what they document (the first three are the SDK's own references).
PUBLISHING_METRICS_DOC = "https://docs.oracle.com/iaas/Content/Monitoring/Tasks/publishingcustommetrics.htm"
MQL_DOC = "https://docs.oracle.com/iaas/Content/Monitoring/Reference/mql.htm"
ABSENCE_DOC = (
    "https://docs.oracle.com/iaas/Content/Monitoring/Tasks/create-edit-alarm-query-absence-detection-period.htm"
)
ALARM_CLI_DOC = (
    "https://docs.oracle.com/en-us/iaas/tools/oci-cli/latest/oci_cli_docs/cmdref/monitoring/alarm/create.html"
)
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
    function_id: str,
    compartment_id: str,
    since_hours: float | None = None,
    *,
    subtree: bool = False,
    action: str = "report",
) -> list[dict[str, object]]:
    """`--resources` of `oci resource-scheduler schedule create`: the function, started with the action as its body."""
    body: dict[str, object] = {"action": action, "compartmentId": compartment_id}
    if subtree:
        body["subtree"] = True
    if since_hours is not None:
        body["sinceHours"] = since_hours
    return [{"id": function_id, "parameters": [{"parameterType": "BODY", "value": body}]}]


def alarms(destination_regions: Sequence[str], target_hours: float = DEFAULT_RPO_TARGET_HOURS) -> list[Alarm]:
    """One recovery-point alarm per destination region, and one that fires when the report stops posting."""
    found = [
        Alarm(
            display_name=f"backup-copier: recovery point in {region} older than {target_hours:g} h",
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
    return found


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
        blocks[0] += (
            "\n# --metric-compartment-id-in-subtree: every compartment of the tenancy. Oracle allows it only with the "
            "tenancy as --metric-compartment-id, and it needs tenancy-level permissions (read metrics in tenancy) "
            "for whoever creates the alarm (the SDK's CreateAlarmDetails)."
        )
    for alarm in alarm_list:
        options = [
            *([("--region", region)] if region else []),
            ("--compartment-id", alarm_compartment_id),
            ("--metric-compartment-id", metric_compartment_id),
            *([("--metric-compartment-id-in-subtree", "true")] if subtree else []),
            ("--display-name", alarm.display_name),
            ("--namespace", namespace),
            ("--query-text", alarm.query),
            ("--severity", alarm.severity),
            ("--destinations", json.dumps([topic_id])),
            ("--is-enabled", "true"),
            ("--body", alarm.body),
        ]
        lines = [f"# {alarm.display_name}: {alarm.why}", f"#   MQL: {alarm.query}"]
        lines += [f"#   {source}" for source in (*alarm.sources, ALARM_CLI_DOC)]
        command = "oci monitoring alarm create " + " \\\n  ".join(
            f"{name} {shlex.quote(value)}" for name, value in options
        )
        blocks.append("\n".join([*lines, command]))
    return "\n\n".join(blocks) + "\n"
