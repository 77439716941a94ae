"""Custom metrics posted to OCI Monitoring, always within Oracle's limits.

The coverage report posts each volume's recovery point, the sweep its counts. Oracle's limits
for PostMetricData ("Publishing Custom Metrics"; the SDK's docstring): at most 50 unique metric
streams a call, dimension values of 1 to 512 characters, datapoints less than 2 hours old, 50
calls a second per tenancy. They are all kept here, so no caller can send a batch Monitoring
would refuse as a whole.

The rate is the tenancy's, so it is a whole-scope limit, like maxCopies: a fan-out's children
share the function's CALLS_PER_SECOND as one run would use it (PostingSlot), never each at the
whole of it.

A metric is worth a few attempts, not the invocation's time: the work it reports is done, and
its answer must not wait on Monitoring. The first call that fails for good ends the posting and
the streams not yet sent are counted failed, since a refusal (404) or throttling (429) would
meet them too. The next scheduled run posts again.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from oci import exceptions as oci_exceptions

from .clients import MonitoringClients
from .context import Invocation
from .deadline import OutOfTime
from .errors import InvalidRequest
from .outcomes import SERVICE_FAILURES, metrics_verdict
from .retries import is_retryable
from .settings import Settings

# Oracle's limits.
MAX_STREAMS_PER_CALL = 50
MAX_DIMENSION_VALUE_LENGTH = 512
MAX_DATAPOINT_AGE = timedelta(hours=2)
# Oracle allows 50 calls a second per tenancy (PostMetricData: "Transactions Per Second (TPS)
# per-tenancy limit for this operation: 50"). The function keeps to 40 and leaves 10 to the
# tenancy's other publishers. It kept to 20 before; 40, because:
# - posting is time a run only waits: a report's streams are final only once every compartment is
#   read (report/scan.py), so none can be posted while it reads, and at 20 a report of 20,000
#   volumes waited 22 s after it had read everything;
# - the function's own scheduled runs that post start minutes apart (sweep at :17, report at :23,
#   drills every quarter hour), and a fan-out's children together keep to one run's rate (PostingSlot);
# - should two posters meet anyway, the first 429 halves this posting's rate (Pacer.throttled), so
#   two runs at 40 settle at 20 each, under the 50, instead of retrying into each other until
#   their calls fail.
CALLS_PER_SECOND = 40
# A posting throttled again and again slows to this fraction of its rate, no further: for an
# unsplit run 5 calls a second, which still posts 20,000 streams in 80 s.
SLOWEST_DIVISOR = 8
# More children than a tenancy has compartments: a larger `of` is no fan-out's.
MAX_SLOTS = 100_000
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
# What a restore drill posts (drill/publish.py): a passed drill's restore time, each volume's time
# since its last passed drill, and each pass's failed drills.
RESTORE_MINUTES = "restore_minutes"
DRILL_AGE_HOURS = "drill_age_hours"
DRILLS_FAILED = "drills_failed"
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


@dataclass(frozen=True)
class PostingSlot:
    """Which of the function's PostMetricData calls a run may make: those in its slot, one of every `of`.

    Time is cut into slots of 1/CALLS_PER_SECOND seconds, counted on the wall clock from the epoch,
    so that every container of the function counts the same slots (OCI's hosts keep their clocks
    by NTP). A run starts a call only at the start of one of its slots, k % of == slot, and never
    two in one slot. An unsplit run is slot 0 of 1 (every slot: CALLS_PER_SECOND calls a second);
    the n children of a fan-out are slots 0 to n - 1 of n (fan_out/budget.py), so together they
    make at most the calls one run would, and each child posts at CALLS_PER_SECOND / n. Any slot of
    any `of` is at most the function's own rate: a body can slow a run down, never speed it up.
    """

    slot: int = 0
    of: int = 1

    def to_json(self) -> dict[str, int]:
        return {"slot": self.slot, "of": self.of}


# The slot of a run that is no fan-out's child: all of them.
UNSPLIT = PostingSlot()


def parse_posting_slot(value: object, *, field: str) -> PostingSlot:
    """A child's `metricsSlot` ({"slot": 3, "of": 11}), or an InvalidRequest naming the field."""
    expected = 'expected {"slot": <0 to of - 1>, "of": <the number of children>}, as the coordinator sends it'
    if not isinstance(value, dict) or set(value) != {"slot", "of"}:
        shown = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise InvalidRequest(field, f"{expected}; got {ascii(shown)[:80]}", "InvalidFanOutOf")

    def whole_number(name: str, lowest: int, highest: int) -> int:
        number = value[name]
        # bool is an int to Python, not to JSON.
        if type(number) is not int or not lowest <= number <= highest:
            raise InvalidRequest(
                f"{field}.{name}",
                f"expected a whole number from {lowest} to {highest}; got {ascii(number)[:40]}",
                "InvalidFanOutOf",
            )
        return number

    of = whole_number("of", 1, MAX_SLOTS)
    return PostingSlot(whole_number("slot", 0, of - 1), of)


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
    slot: PostingSlot = UNSPLIT,
) -> MetricsOutcome:
    """Post `metrics` into `compartment_id` through the Monitoring of `region`, as the settings allow,
    in the run's `slot` of the function's calls a second (a fan-out's child's share)."""
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
        slot=slot,
    )


# A stream: the compartment it is posted into, the metric's name, its dimensions.
StreamKey = tuple[str, str, tuple[tuple[str, str], ...]]
Datapoints = list[tuple[datetime, float]]


def post(
    client: Any,
    invocation: Invocation,
    *,
    namespace: str,
    compartment_id: str,
    metrics: Iterable[Metric],
    region: str,
    slot: PostingSlot = UNSPLIT,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> MetricsOutcome:
    """Post in batches of at most 50 streams, each call in one of `slot`'s (at most CALLS_PER_SECOND / of a second).

    Each batch is sent as soon as it is full, so only one batch is ever held: a report of 20,000
    volumes no longer builds its 20,000 streams (about 9 MiB) before it sends the first. A
    stream's datapoints are merged while its batch is open; callers give each stream's
    together (the report and the sweep give one datapoint a stream). Once a call fails for good
    or the deadline comes, the streams not sent are counted, as they come, and none is held.
    """
    outcome = MetricsOutcome()
    now = datetime.now(UTC)
    batch: dict[StreamKey, Datapoints] = {}
    stale = 0
    # Whether any stream goes outside compartment_id: the grant a refusal names is then the tenancy's.
    elsewhere = False
    # What stopped the posting: the error of the call that failed for good, or the deadline.
    stopped: BaseException | None = None
    unsent = 0
    last_unsent: StreamKey | None = None
    refused: list[tuple[int, str]] = []
    pacer = Pacer(slot, clock)

    def send() -> None:
        nonlocal stopped
        pause = pacer.pause()
        if invocation.deadline.remaining() - pause < CALL_SECONDS:
            stopped = OutOfTime()
            return
        if pause > 0:
            sleep(pause)
        try:
            refusal = _send(client, invocation, namespace, batch, pacer.throttled)
        except SERVICE_FAILURES as error:
            stopped = error
            return
        outcome.posted += len(batch) - refusal[0]
        if refusal[0]:
            refused.append(refusal)

    for metric in metrics:
        moment = metric.timestamp or now
        if now - moment >= MAX_DATAPOINT_AGE:
            stale += 1
            continue
        dimensions = tuple(sorted((name, dimension_value(value)) for name, value in metric.dimensions.items()))
        key = (metric.compartment_id or compartment_id, metric.name, dimensions)
        elsewhere = elsewhere or key[0] != compartment_id
        if stopped is None and key not in batch and len(batch) == MAX_STREAMS_PER_CALL:
            send()
            if stopped is not None:
                unsent, last_unsent = len(batch), None
            batch = {}
        if stopped is not None:
            # Counted, not held: a stream's datapoints come together, so a new key is a new stream.
            if key != last_unsent:
                unsent += 1
                last_unsent = key
            continue
        batch.setdefault(key, []).append((moment, float(metric.value)))
    if batch and stopped is None:
        send()
        if stopped is not None:
            unsent = len(batch)
    # The first reason is the one to act on: too old datapoints are known before any call.
    if stale:
        outcome.fail(
            stale,
            "DatapointTooOld",
            f"{stale} datapoints were 2 hours old or more, which Monitoring refuses; they were not sent",
        )
    for count, message in refused:
        outcome.fail(count, "MetricDataRefused", f"Monitoring refused {count} metric streams: {message}")
    if isinstance(stopped, OutOfTime):
        outcome.fail(
            unsent, "DeadlineReached", f"the function's deadline came before {unsent} metric streams could be posted"
        )
    elif stopped is not None:
        permission_fix = use_metrics_statement(None if elsewhere else compartment_id, namespace)
        verdict = metrics_verdict(stopped, region=region, permission_fix=permission_fix)
        outcome.fail(unsent, verdict.reason_code, verdict.reason)
    return outcome


def _send(
    client: Any,
    invocation: Invocation,
    namespace: str,
    batch: dict[StreamKey, Datapoints],
    throttled: Callable[[], None],
) -> tuple[int, str]:
    """One PostMetricData call: (streams Monitoring refused, its first message); `throttled` hears each 429."""
    # Deferred for cold start, as in clients.py: only the operator actions post metrics.
    from oci.monitoring import models

    details = models.PostMetricDataDetails(
        metric_data=[
            models.MetricDataDetails(
                namespace=namespace,
                compartment_id=stream_compartment,
                name=name,
                dimensions=dict(dimensions),
                datapoints=[models.Datapoint(timestamp=moment, value=value) for moment, value in datapoints],
            )
            for (stream_compartment, name, dimensions), datapoints in batch.items()
        ],
        batch_atomicity="NON_ATOMIC",
    )
    kwargs: dict[str, Any] = {
        "retry_strategy": invocation.retrying_only(_a_few_attempts(throttled)).retry_strategy,
    }
    if invocation.opc_request_id:
        kwargs["opc_request_id"] = invocation.opc_request_id
    response = client.post_metric_data(details, **kwargs)
    refused = response.data.failed_metrics_count or 0
    first = (response.data.failed_metrics or [None])[0]
    return refused, getattr(first, "message", None) or "no message"


class Pacer:
    """When a posting's next call may start: at the start of its next slot, `spacing` slots after its last.

    `spacing` starts at the slot's `of` (every one of its slots) and doubles with each call
    Monitoring throttles, until it is SLOWEST_DIVISOR times that: a 429 means someone else in the
    tenancy is posting too, and halving this run's rate leaves them room, where keeping it would
    have both retry into each other until their calls fail for good.
    """

    def __init__(self, slot: PostingSlot, clock: Callable[[], float]) -> None:
        self.slot = slot
        self.clock = clock
        self.spacing = slot.of
        self.last: int | None = None

    def pause(self) -> float:
        """Seconds until the next call may start (0 or less: now); that slot is taken."""
        now = self.clock()
        due = math.ceil(now * CALLS_PER_SECOND)
        if self.last is not None:
            due = max(due, self.last + self.spacing)
        due += (self.slot.slot - due) % self.slot.of
        self.last = due
        # A wall clock stepped back never holds the posting longer than one spacing.
        return min(due / CALLS_PER_SECOND - now, self.spacing / CALLS_PER_SECOND)

    def throttled(self) -> None:
        self.spacing = min(2 * self.spacing, SLOWEST_DIVISOR * self.slot.of)


def _a_few_attempts(throttled: Callable[[], None]) -> Callable[[BaseException], bool]:
    """What to retry for one call: what is_retryable says, but at most ATTEMPTS_PER_CALL attempts."""
    failures = 0

    def retryable(error: BaseException) -> bool:
        nonlocal failures
        failures += 1
        if isinstance(error, oci_exceptions.ServiceError) and error.status == 429:
            throttled()
        return failures < ATTEMPTS_PER_CALL and is_retryable(error)

    return retryable
