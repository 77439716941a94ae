"""shared/metrics.py: Oracle's limits kept on the way out, through the real SDK and signer to the emulator."""

from __future__ import annotations

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
