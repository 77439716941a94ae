"""shared/metrics.py: Oracle's limits kept on the way out, through the real SDK and signer to the emulator."""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backup_copier.shared import metrics
from backup_copier.shared.clients import MonitoringClients, resource_principal_signer, telemetry_ingestion_endpoint
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.metrics import Metric, MetricsOutcome
from backup_copier.shared.retries import AttemptLog
from backup_copier.shared.settings import load_settings
from blockstorage_emulator import Emulator, Fault
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, new_compartment


@pytest.fixture
def clients(emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> MonitoringClients:
    for name, value in principal.environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        {"DESTINATION_REGION": DESTINATION_REGION, "METRICS_ENDPOINT": emulator.metrics_endpoint_template}
    )
    return MonitoringClients(settings, resource_principal_signer())


def _post(clients: MonitoringClients, compartment: str, data: list[Metric], seconds: float = 30.0) -> MetricsOutcome:
    return metrics.post(
        clients.for_region(SOURCE_REGION),
        Invocation("CALL1", Deadline(seconds), AttemptLog()),
        namespace="backup_copier",
        compartment_id=compartment,
        metrics=data,
        region=SOURCE_REGION,
    )


def _volumes(count: int) -> list[Metric]:
    return [Metric("copy_rpo_hours", {"resourceId": f"ocid1.volume.oc1.phx.v{index}"}, index) for index in range(count)]


def test_streams_go_in_batches_of_fifty(emulator: Emulator, clients: MonitoringClients) -> None:
    compartment = new_compartment()
    started = time.monotonic()
    outcome = _post(clients, compartment, _volumes(120))
    elapsed = time.monotonic() - started

    assert (outcome.posted, outcome.failed, outcome.reason) == (120, 0, None)
    calls = [r for r in emulator.requests if r.operation == "post_metrics"]
    assert [r.status for r in calls] == [200, 200, 200]
    assert sorted(m.datapoints[0]["value"] for m in emulator.posted_metrics(compartment)) == list(range(120))
    # Paced to CALLS_PER_SECOND: two gaps between three calls.
    assert elapsed >= 2 / metrics.CALLS_PER_SECOND


def test_long_dimension_values_are_cut_to_512_and_stay_distinct(emulator: Emulator, clients: MonitoringClients) -> None:
    compartment = new_compartment()
    long_a, long_b = "a" * 600, "a" * 599 + "b"

    outcome = _post(clients, compartment, [Metric("m", {"resourceId": value}, 1) for value in (long_a, long_b, "")])

    assert (outcome.posted, outcome.failed) == (3, 0)
    values = sorted(m.dimensions["resourceId"] for m in emulator.posted_metrics(compartment))
    assert [len(value) for value in values] == [512, 512, 4]
    assert len(set(values)) == 3
    assert metrics.dimension_value(long_a) in values


def test_datapoints_two_hours_old_are_not_sent(emulator: Emulator, clients: MonitoringClients) -> None:
    compartment = new_compartment()
    old = datetime.now(UTC) - timedelta(hours=2, minutes=1)

    outcome = _post(clients, compartment, [Metric("m", {"k": "old"}, 1, old), Metric("m", {"k": "new"}, 2)])

    assert (outcome.posted, outcome.failed, outcome.reason_code) == (1, 1, "DatapointTooOld")
    assert [m.dimensions for m in emulator.posted_metrics(compartment)] == [{"k": "new"}]


def test_a_transient_error_is_retried_a_few_times_only(emulator: Emulator, clients: MonitoringClients) -> None:
    compartment = new_compartment()
    emulator.inject(Fault(operation="post_metrics", status=503, count=1))
    assert _post(clients, compartment, _volumes(3)).posted == 3

    emulator.inject(Fault(operation="post_metrics", status=429, count=100))
    outcome = _post(clients, compartment, _volumes(80))

    # Three attempts at the first batch; the second is not tried: it would be throttled too.
    assert (outcome.posted, outcome.failed, outcome.reason_code) == (0, 80, "TooManyRequests")
    assert emulator.faults_remaining() == 100 - metrics.ATTEMPTS_PER_CALL
    assert "50 PostMetricData calls a second" in (outcome.reason or "")


def test_a_refusal_names_the_statement_that_grants_it(emulator: Emulator, clients: MonitoringClients) -> None:
    compartment = new_compartment()
    emulator.deny("post_metrics")

    outcome = _post(clients, compartment, _volumes(2))

    assert (outcome.failed, outcome.reason_code) == (2, "NotAuthorizedOrNotFound")
    assert metrics.use_metrics_statement(compartment, "backup_copier") in (outcome.reason or "")


def test_no_time_left_posts_nothing(emulator: Emulator, clients: MonitoringClients) -> None:
    outcome = _post(clients, new_compartment(), _volumes(2), seconds=2.5)

    assert (outcome.posted, outcome.failed, outcome.reason_code) == (0, 2, "DeadlineReached")
    assert emulator.requests == []


def test_the_real_endpoint_is_telemetry_ingestion() -> None:
    assert telemetry_ingestion_endpoint("us-phoenix-1") == "https://telemetry-ingestion.us-phoenix-1.oraclecloud.com"
    assert telemetry_ingestion_endpoint("eu-frankfurt-2").endswith(".oraclecloud.eu")


def test_each_batch_is_sent_as_soon_as_it_is_full(emulator: Emulator, clients: MonitoringClients) -> None:
    """Only one batch is held: the first 50 streams are sent when the 51st comes, before the caller builds the 52nd."""
    compartment = new_compartment()
    calls_made_at: list[int] = []

    def streams() -> Iterator[Metric]:
        for metric in _volumes(120):
            calls_made_at.append(len([r for r in emulator.requests if r.operation == "post_metrics"]))
            yield metric

    outcome = metrics.post(
        clients.for_region(SOURCE_REGION),
        Invocation("CALL1", Deadline(30), AttemptLog()),
        namespace="backup_copier",
        compartment_id=compartment,
        metrics=streams(),
        region=SOURCE_REGION,
    )

    assert (outcome.posted, outcome.failed) == (120, 0)
    assert calls_made_at == [0] * 51 + [1] * 50 + [2] * 19


def test_a_refusal_names_the_tenancy_when_streams_not_yet_sent_go_elsewhere(
    emulator: Emulator, clients: MonitoringClients
) -> None:
    """The first batch is refused; the streams after it, counted unsent, include another compartment's,
    so the statement to add is the tenancy's, as it would be had every stream been built first."""
    compartment, other = new_compartment(), new_compartment()
    emulator.deny("post_metrics")
    data = [*_volumes(50), Metric("copy_rpo_hours", {"resourceId": "elsewhere"}, 1, compartment_id=other)]

    outcome = _post(clients, compartment, data)

    assert (outcome.posted, outcome.failed, outcome.reason_code) == (0, 51, "NotAuthorizedOrNotFound")
    assert metrics.use_metrics_statement(None, "backup_copier") in (outcome.reason or "")


# The rate is the tenancy's: a fan-out's children share the function's calls a second (issue 23).


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _call_starts(slot: metrics.PostingSlot, clock: Clock, calls: int, call_seconds: float) -> list[float]:
    """When each of `calls` calls starts, for a run posting from `clock`'s time on, whose calls take `call_seconds`."""
    pacer, starts = metrics.Pacer(slot, clock), []
    for _ in range(calls):
        clock.sleep(max(0.0, pacer.pause()))
        starts.append(clock.now)
        clock.sleep(call_seconds)
    return starts


def _most_in_one_second(starts: list[float]) -> int:
    ordered = sorted(starts)
    return max(bisect.bisect_left(ordered, first + 1.0) - index for index, first in enumerate(ordered))


@pytest.mark.parametrize("children", [1, 3, 11, 120])
def test_a_families_calls_together_are_no_faster_than_one_runs(children: int) -> None:
    """Each child starts posting when its reading ends, and its calls take their time; together they
    start at most CALLS_PER_SECOND calls in any second, never two in one slot, each at its share."""
    rate = metrics.CALLS_PER_SECOND
    rng = random.Random(children)
    family: list[float] = []
    for slot in range(children):
        clock = Clock(1_800_000_000 + rng.uniform(0, 0.3))
        starts = _call_starts(metrics.PostingSlot(slot, children), clock, calls=30, call_seconds=rng.uniform(0, 0.02))
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        assert min(gaps) >= children / rate - 1e-6
        family += starts

    assert _most_in_one_second(family) <= rate
    assert len({round(start * rate) for start in family}) == len(family)


def test_a_throttled_call_halves_the_rate_down_to_an_eighth() -> None:
    clock = Clock()
    pacer = metrics.Pacer(metrics.PostingSlot(1, 3), clock)
    slots = []
    for throttled in (0, 0, 1, 1, 1, 1, 1, 0):
        clock.sleep(max(0.0, pacer.pause()))
        slots.append(round(clock.now * metrics.CALLS_PER_SECOND))
        for _ in range(throttled):
            pacer.throttled()

    # Every third slot, the second of each three; then twice, four and eight times as far apart, no further.
    assert {slot % 3 for slot in slots} == {1}
    assert [later - earlier for earlier, later in itertools.pairwise(slots)] == [3, 3, 6, 12, 24, 24, 24]


def test_monitoring_throttling_slows_the_posting_that_follows(emulator: Emulator, clients: MonitoringClients) -> None:
    """Through the SDK's retries: the first call is throttled once, then accepted; the calls after it
    are two slots apart, not one, leaving room for whoever else the tenancy's rate is serving."""
    compartment = new_compartment()
    emulator.inject(Fault(operation="post_metrics", status=429, code="TooManyRequests", count=1))
    clock = Clock()
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.sleep(seconds)

    outcome = metrics.post(
        clients.for_region(SOURCE_REGION),
        Invocation("CALL1", Deadline(30), AttemptLog()),
        namespace="backup_copier",
        compartment_id=compartment,
        metrics=_volumes(150),
        region=SOURCE_REGION,
        clock=clock,
        sleep=sleep,
    )

    assert (outcome.posted, outcome.failed) == (150, 0)
    assert [r.status for r in emulator.requests if r.operation == "post_metrics"] == [429, 200, 200, 200]
    assert [round(pause * metrics.CALLS_PER_SECOND, 3) for pause in pauses] == [2, 2]


def test_a_wall_clock_stepped_back_holds_the_posting_one_spacing_at_most() -> None:
    clock = Clock()
    pacer = metrics.Pacer(metrics.PostingSlot(0, 4), clock)
    pacer.pause()
    clock.now -= 3600

    assert pacer.pause() == pytest.approx(4 / metrics.CALLS_PER_SECOND)
