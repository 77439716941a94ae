"""Custom metrics posted to OCI Monitoring, always within Oracle's limits.

The coverage report posts each volume's recovery point, the sweep its counts. Oracle's limits
for PostMetricData ("Publishing Custom Metrics"; the SDK's docstring): at most 50 unique metric
streams a call, dimension values of 1 to 512 characters, datapoints less than 2 hours old, 50
calls a second per tenancy. They are all kept here, so no caller can send a batch Monitoring
would refuse as a whole.

A metric is worth a few attempts, not the invocation's time: the work it reports is done, and
its answer must not wait on Monitoring. The first call that fails for good ends the posting and
the streams not yet sent are counted failed, since a refusal (404) or throttling (429) would
meet them too. The next scheduled run posts again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .clients import MonitoringClients
from .context import Invocation
from .outcomes import SERVICE_FAILURES, metrics_verdict
from .retries import is_retryable
from .settings import Settings

# Oracle's limits.
MAX_STREAMS_PER_CALL = 50
MAX_DIMENSION_VALUE_LENGTH = 512
MAX_DATAPOINT_AGE = timedelta(hours=2)
# Oracle allows 50 calls a second per tenancy; keeping to 20 leaves room for everyone else's.
CALLS_PER_SECOND = 20
ATTEMPTS_PER_CALL = 3
# Time one call needs; with less left before the deadline, the rest is counted failed, not sent.
CALL_SECONDS = 1.0
# A dimension value too long for Monitoring keeps its start and a digest of the whole, so two
# long values never merge into one stream and the same value always lands in the same one.
_DIGEST_CHARACTERS = 8

# The metric names: what the report and the sweep post, and what the deploy kit's alarms watch.
RPO_HOURS = "copy_rpo_hours"
VOLUMES_BREACHING = "volumes_breaching"
VOLUMES_UNCOVERED = "volumes_uncovered"
SWEEP_COPIED = "sweep_copies_made"
SWEEP_FAILED = "sweep_copies_failed"
SWEEP_REMAINING = "sweep_copies_remaining"
# Copies made whose mark could not be written (dimension destinationRegion), posted into the source
# backup's compartment: such a copy never expires, so an alarm must see it.
COPY_MARK_FAILURES = "copy_mark_failures"
# What the preflight check posts to prove the permission: no alarm watches it.
PREFLIGHT = "preflight_check"


@dataclass(frozen=True)
class Metric:
    """One datapoint of one stream; a stream is a name and its dimensions."""

    name: str
    dimensions: Mapping[str, str]
    value: float
    # When it was measured; None is the moment it is posted.
    timestamp: datetime | None = None
    # Where it is posted, when not where the caller posts the rest: a volume's recovery point
    # goes to the volume's own compartment, so that each team can alarm on its own.
    compartment_id: str | None = None


@dataclass
class MetricsOutcome:
    """What became of an action's metrics, for its answer and log line: counts of streams."""

    posted: int = 0
    failed: int = 0
    reason_code: str | None = None
    reason: str | None = None

    def fail(self, count: int, reason_code: str, reason: str) -> None:
        self.failed += count
        # The first reason is the one to act on; later ones usually follow from it.
        if self.reason is None:
            self.reason_code, self.reason = reason_code, reason

    def to_json(self) -> dict[str, Any]:
        return {
            "metricsPosted": self.posted,
            "metricsFailed": self.failed,
            "metricsReasonCode": self.reason_code,
            "metricsReason": self.reason,
        }


def use_metrics_statement(
    compartment_id: str | None, namespace: str, dynamic_group: str = "<function dynamic group>"
) -> str:
    """The grant of METRIC_WRITE, narrowed to the function's namespace (Oracle's `use metrics` example);
    in the whole tenancy when `compartment_id` is None (a tenancy-wide report posts into every compartment)."""
    where = f"compartment id {compartment_id}" if compartment_id else "tenancy"
    return (
        f"Allow dynamic-group {dynamic_group} to use metrics in {where} where target.metrics.namespace = '{namespace}'"
    )


def dimension_value(value: str) -> str:
    """`value` as Monitoring accepts it: 1 to 512 characters."""
    if not value:
        return "none"
    if len(value) <= MAX_DIMENSION_VALUE_LENGTH:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:_DIGEST_CHARACTERS]
    return value[: MAX_DIMENSION_VALUE_LENGTH - _DIGEST_CHARACTERS - 1] + "~" + digest


def publish(
    settings: Settings,
    clients: MonitoringClients,
    region: str | None,
    invocation: Invocation,
    compartment_id: str,
    metrics: Iterable[Metric],
) -> MetricsOutcome:
    """Post `metrics` into `compartment_id` through the Monitoring of `region`, as the settings allow."""
    if not settings.metrics_enabled:
        return MetricsOutcome(reason_code="MetricsOff", reason="METRICS is off: no metric was posted")
    if settings.blockstorage_endpoint and not settings.metrics_endpoint:
        # A function pointed at a test Block Storage must not post figures about it to Oracle.
        return MetricsOutcome(
            reason_code="MetricsEndpointMissing",
            reason="BLOCKSTORAGE_ENDPOINT is set (a test endpoint) but METRICS_ENDPOINT is not, so no metric was "
            "posted; set METRICS_ENDPOINT as well, or unset BLOCKSTORAGE_ENDPOINT in OCI",
        )
    if region is None:
        return MetricsOutcome(
            reason_code="UnknownRegion", reason="the resource principal names no region to post metrics in"
        )
    return post(
        clients.for_region(region),
        invocation,
        namespace=settings.metrics_namespace,
        compartment_id=compartment_id,
        metrics=metrics,
        region=region,
    )


def post(
    client: Any,
    invocation: Invocation,
    *,
    namespace: str,
    compartment_id: str,
    metrics: Iterable[Metric],
    region: str,
    sleep: Callable[[float], None] = time.sleep,
) -> MetricsOutcome:
    """Post in batches of at most 50 streams, at most CALLS_PER_SECOND calls a second."""
    # Deferred for cold start, as in clients.py: only the operator actions post metrics.
    from oci.monitoring import models

    outcome = MetricsOutcome()
    now = datetime.now(UTC)
    # Plain tuples until a batch is sent: SDK models for thousands of streams would sit in memory.
    streams: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[tuple[datetime, float]]] = {}
    stale = 0
    for metric in metrics:
        moment = metric.timestamp or now
        if now - moment >= MAX_DATAPOINT_AGE:
            stale += 1
            continue
        dimensions = tuple(sorted((name, dimension_value(value)) for name, value in metric.dimensions.items()))
        key = (metric.compartment_id or compartment_id, metric.name, dimensions)
        streams.setdefault(key, []).append((moment, float(metric.value)))
    if stale:
        outcome.fail(
            stale,
            "DatapointTooOld",
            f"{stale} datapoints were 2 hours old or more, which Monitoring refuses; they were not sent",
        )
    keys = list(streams)
    posted_into = {stream_compartment for stream_compartment, _, _ in keys}
    permission_fix = use_metrics_statement(compartment_id if posted_into <= {compartment_id} else None, namespace)
    last_call: float | None = None
    for start in range(0, len(keys), MAX_STREAMS_PER_CALL):
        batch = keys[start : start + MAX_STREAMS_PER_CALL]
        if invocation.deadline.remaining() < CALL_SECONDS:
            outcome.fail(
                len(keys) - start,
                "DeadlineReached",
                f"the function's deadline came before {len(keys) - start} metric streams could be posted",
            )
            break
        last_call = _pace(last_call, sleep)
        details = models.PostMetricDataDetails(
            metric_data=[
                models.MetricDataDetails(
                    namespace=namespace,
                    compartment_id=stream_compartment,
                    name=name,
                    dimensions=dict(dimensions),
                    datapoints=[
                        models.Datapoint(timestamp=moment, value=value)
                        for moment, value in streams[stream_compartment, name, dimensions]
                    ],
                )
                for stream_compartment, name, dimensions in batch
            ],
            batch_atomicity="NON_ATOMIC",
        )
        kwargs: dict[str, Any] = {
            "retry_strategy": invocation.retrying_only(_a_few_attempts()).retry_strategy,
        }
        if invocation.opc_request_id:
            kwargs["opc_request_id"] = invocation.opc_request_id
        try:
            response = client.post_metric_data(details, **kwargs)
        except SERVICE_FAILURES as error:
            verdict = metrics_verdict(error, region=region, permission_fix=permission_fix)
            outcome.fail(len(keys) - start, verdict.reason_code, verdict.reason)
            break
        refused = response.data.failed_metrics_count or 0
        outcome.posted += len(batch) - refused
        if refused:
            first = (response.data.failed_metrics or [None])[0]
            message = getattr(first, "message", None) or "no message"
            outcome.fail(refused, "MetricDataRefused", f"Monitoring refused {refused} metric streams: {message}")
    return outcome


def _pace(last_call: float | None, sleep: Callable[[float], None]) -> float:
    """Wait, if needed, so calls are at least 1/CALLS_PER_SECOND apart; the time of this call."""
    if last_call is not None:
        wait = 1.0 / CALLS_PER_SECOND - (time.monotonic() - last_call)
        if wait > 0:
            sleep(wait)
    return time.monotonic()


def _a_few_attempts() -> Callable[[BaseException], bool]:
    """What to retry for one call: what is_retryable says, but at most ATTEMPTS_PER_CALL attempts."""
    failures = 0

    def retryable(error: BaseException) -> bool:
        nonlocal failures
        failures += 1
        return failures < ATTEMPTS_PER_CALL and is_retryable(error)

    return retryable
