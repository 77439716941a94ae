"""Monitoring's telemetry-ingestion endpoint (PostMetricData), seen through the real SDK and signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import oci
import pytest
from oci.monitoring import MonitoringClient
from oci.monitoring.models import Datapoint, MetricDataDetails, PostMetricDataDetails

from blockstorage_emulator import Emulator, Fault
from tests.helpers import SOURCE_REGION

from .support import COMPARTMENT_ID, send_raw

PATH = f"/telemetry-ingestion/{SOURCE_REGION}/20180401/metrics"


@pytest.fixture
def monitoring(emulator: Emulator) -> MonitoringClient:
    return MonitoringClient(
        {"region": SOURCE_REGION},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=emulator.metrics_endpoint_template.format(region=SOURCE_REGION),
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


def _metric(
    name: str = "copy_rpo_hours", *, value: float = 1.0, when: datetime | None = None, **dimensions: str
) -> Any:
    return MetricDataDetails(
        namespace="backup_copier",
        compartment_id=COMPARTMENT_ID,
        name=name,
        dimensions=dimensions or {"destinationRegion": "us-ashburn-1"},
        datapoints=[Datapoint(timestamp=when or datetime.now(UTC), value=value)],
    )


def _post(client: MonitoringClient, *metrics: Any, atomicity: str = "NON_ATOMIC") -> Any:
    return client.post_metric_data(PostMetricDataDetails(metric_data=list(metrics), batch_atomicity=atomicity))


def _refused(client: MonitoringClient, *metrics: Any, atomicity: str = "NON_ATOMIC") -> tuple[int, str, str]:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _post(client, *metrics, atomicity=atomicity)
    return raised.value.status, raised.value.code, raised.value.message


def test_accepted_streams_are_recorded(emulator: Emulator, monitoring: MonitoringClient) -> None:
    response = _post(monitoring, _metric(value=26.5, resourceId="ocid1.volume.oc1.phx.a", kind="volume"))

    assert response.status == 200
    assert response.data.failed_metrics_count == 0
    [posted] = emulator.posted_metrics(COMPARTMENT_ID)
    assert (posted.region, posted.namespace, posted.name) == (SOURCE_REGION, "backup_copier", "copy_rpo_hours")
    assert posted.dimensions == {"resourceId": "ocid1.volume.oc1.phx.a", "kind": "volume"}
    assert posted.datapoints[0]["value"] == 26.5
    [request] = emulator.requests
    assert (request.operation, request.path, request.status) == ("post_metrics", "/20180401/metrics", 200)
    assert request.headers["authorization"] == "<redacted>"


def test_unsigned_post_is_rejected(emulator: Emulator) -> None:
    status, _, body = send_raw(emulator, "POST", PATH, {"content-type": "application/json"}, b'{"metricData": []}')

    assert (status, body["code"]) == (401, "NotAuthenticated")
    assert emulator.posted_metrics() == []


def test_fifty_streams_pass_and_fifty_one_are_refused_whole(emulator: Emulator, monitoring: MonitoringClient) -> None:
    streams = [_metric(resourceId=f"ocid1.volume.oc1.phx.v{index}") for index in range(51)]

    assert _post(monitoring, *streams[:50]).data.failed_metrics_count == 0
    status, code, message = _refused(monitoring, *streams)

    assert (status, code) == (400, "InvalidParameter")
    assert "51 unique metric streams" in message
    assert len(emulator.posted_metrics()) == 50


def test_datapoints_of_one_stream_count_once(emulator: Emulator, monitoring: MonitoringClient) -> None:
    same = [_metric(value=float(index)) for index in range(60)]

    assert _post(monitoring, *same).data.failed_metrics_count == 0


def test_dimension_value_over_512_characters_is_refused_alone(emulator: Emulator, monitoring: MonitoringClient) -> None:
    response = _post(monitoring, _metric(resourceId="x" * 513), _metric(resourceId="y" * 512))

    assert response.data.failed_metrics_count == 1
    assert "513 characters; at most 512" in response.data.failed_metrics[0].message
    assert [m.dimensions["resourceId"] for m in emulator.posted_metrics()] == ["y" * 512]


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(hours=-2, minutes=-1), False),
        (timedelta(hours=-1, minutes=-59), True),
        (timedelta(minutes=9), True),
        (timedelta(minutes=11), False),
    ],
)
def test_timestamps_must_be_recent(
    emulator: Emulator, monitoring: MonitoringClient, offset: timedelta, accepted: bool
) -> None:
    when = datetime.now(UTC) + offset
    response = _post(monitoring, _metric(when=when), _metric(kind="fresh"))

    assert response.data.failed_metrics_count == (0 if accepted else 1)
    assert len(emulator.posted_metrics()) == (2 if accepted else 1)


def test_atomic_batch_with_one_bad_stream_is_refused_whole(emulator: Emulator, monitoring: MonitoringClient) -> None:
    status, code, _ = _refused(monitoring, _metric(), _metric(resourceId=""), atomicity="ATOMIC")

    assert (status, code) == (400, "InvalidParameter")
    assert emulator.posted_metrics() == []


def test_reserved_namespace_alone_is_refused(emulator: Emulator, monitoring: MonitoringClient) -> None:
    metric = _metric()
    metric.namespace = "oci_backups"

    status, code, message = _refused(monitoring, metric)

    assert (status, code) == (400, "InvalidParameter")
    assert "reserved" in message


def test_more_than_fifty_calls_a_second_are_throttled(
    emulator: Emulator, monitoring: MonitoringClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Time held still: the 51 calls fall in one second however slow the machine is.
    monkeypatch.setattr(emulator.telemetry.rate, "clock", lambda: 1000.0)
    statuses = []
    for _ in range(51):
        try:
            statuses.append(_post(monitoring, _metric()).status)
        except oci.exceptions.ServiceError as error:
            statuses.append(error.status)

    assert statuses[:50] == [200] * 50
    assert statuses[50] == 429
    monkeypatch.setattr(emulator.telemetry.rate, "clock", lambda: 1001.0)
    assert _post(monitoring, _metric()).status == 200


def test_faults_and_denials_of_post_metrics_apply_to_it_alone(emulator: Emulator, monitoring: MonitoringClient) -> None:
    emulator.inject(Fault(operation="post_metrics", status=503))
    emulator.inject(Fault(operation="*", status=500))  # Block Storage's: never Monitoring's

    assert _refused(monitoring, _metric())[:2] == (503, "ServiceUnavailable")
    assert _post(monitoring, _metric()).status == 200
    emulator.deny("post_metrics")
    assert _refused(monitoring, _metric())[:2] == (404, "NotAuthorizedOrNotFound")
    emulator.allow_all()
    assert _post(monitoring, _metric()).status == 200
    assert emulator.faults_remaining() == 1
