"""Monitoring's telemetry-ingestion endpoint: PostMetricData, on the same port as Block Storage.

OCI serves it at https://telemetry-ingestion.<region>.oraclecloud.com/20180401/metrics; here it
is http://127.0.0.1:<port>/telemetry-ingestion/<region>/20180401/metrics, which is what the
function's METRICS_ENDPOINT names in tests (`.../telemetry-ingestion/{region}`). Requests are
authenticated exactly as Block Storage's (signature.py), then faults and denials apply, then
Oracle's documented limits: at most 50 unique streams a call, 1 to 20 dimensions, dimension
values of 1 to 512 characters, datapoints less than 2 hours old and less than 10 minutes ahead,
50 calls a second per tenancy. Accepted streams are recorded for tests to read.

Oracle documents the limits and the error codes (400 InvalidParameter, 429 TooManyRequests),
not the messages: the messages here are the emulator's own. With batchAtomicity NON_ATOMIC
(the default) invalid streams are listed in failedMetrics and the rest accepted; with ATOMIC,
or when none is valid, the whole call is a 400.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import oci.regions

from . import errors
from .dispatch import Incoming, RecordedRequest, Response, recorded
from .faults import AccessPolicy, Fault, FaultPlan, LatencyPlan
from .signature import TrustStore, verify_request
from .throttle import CallRate

PREFIX = "/telemetry-ingestion/"
API_PATH = "/20180401/metrics"
OPERATION = "post_metrics"

MAX_STREAMS_PER_CALL = 50
MAX_DIMENSIONS = 20
MAX_DIMENSION_KEY = 256
MAX_DIMENSION_VALUE = 512
MAX_AGE = timedelta(hours=2)
MAX_LEAD = timedelta(minutes=10)
CALLS_PER_SECOND = 50
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED_PREFIXES = ("oci_", "oracle_")
_METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._\-$]*")
_DIMENSION_KEY = re.compile(r"[!-~]+")  # printable ASCII, no space
_COMPARTMENT = re.compile(r"ocid1\.(compartment|tenancy)\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9]+")


@dataclass(frozen=True)
class PostedMetric:
    """One accepted stream of one call, as the function sent it."""

    region: str
    namespace: str
    compartment_id: str
    name: str
    dimensions: dict[str, str]
    datapoints: list[dict[str, Any]]  # {"timestamp": datetime, "value": float, "count": int}


class TelemetryIngestion:
    """PostMetricData for every region; faults and denials of its own, apart from Block Storage's."""

    def __init__(
        self, trust: TrustStore, clock: Callable[[], float] = time.monotonic, latency: LatencyPlan | None = None
    ) -> None:
        self.trust = trust
        self.faults = FaultPlan()
        self.policy = AccessPolicy()
        self.latency = latency or LatencyPlan()
        # Oracle's 50 calls a second per tenancy (the emulator serves one tenancy); its clock is
        # replaceable, so a test can hold time still and count calls a second on any machine.
        self.rate = CallRate(CALLS_PER_SECOND, clock)
        self._lock = threading.Lock()
        self._posted: list[PostedMetric] = []

    @property
    def posted(self) -> list[PostedMetric]:
        with self._lock:
            return list(self._posted)

    def clear(self) -> None:
        with self._lock:
            self._posted.clear()
        self.rate.reset()

    def serves(self, target: str) -> bool:
        return urlsplit(target).path.startswith(PREFIX)

    def handle(self, incoming: Incoming, cleared: threading.Event) -> tuple[Response | None, RecordedRequest]:
        split = urlsplit(incoming.target)
        region, _, rest = split.path.removeprefix(PREFIX).partition("/")
        path = "/" + rest
        fault: Fault | None = None
        error: errors.ServiceError | None = None
        status: int | None
        body: Any
        try:
            verify_request(incoming.method, incoming.target, incoming.headers, incoming.body, self.trust)
            if region not in oci.regions.REGIONS or path != API_PATH:
                raise errors.NotAuthorizedOrNotFound()
            if incoming.method != "POST":
                raise errors.MethodNotAllowed()
            cleared.wait(self.latency.seconds(OPERATION))
            fault = self.faults.strike(OPERATION, None, region, cleared)
            if fault is not None and fault.drop_connection:
                status, body = None, None
            elif fault is not None and fault.status is not None:
                raise fault.error()
            else:
                if self.policy.denies(OPERATION, None, region):
                    raise errors.NotAuthorizedOrNotFound()
                self.rate.count()
                status, body = 200, self._ingest(region, incoming.body)
        except errors.ServiceError as service_error:
            error = service_error
            status, body = error.status, error.to_json()
        record = recorded(
            incoming,
            region,
            path,
            dict(parse_qsl(split.query, keep_blank_values=True)),
            status,
            error,
            OPERATION,
            fault,
        )
        if status is None:
            return None, record
        return _response(status, body, incoming.headers.get("opc-request-id")), record

    def _ingest(self, region: str, raw: bytes) -> dict[str, Any]:
        document = _json_object(raw)
        metric_data = document.get("metricData")
        if not isinstance(metric_data, list) or not metric_data:
            raise errors.InvalidParameter("metricData must be a non-empty list of metric objects.")
        atomicity = document.get("batchAtomicity", "NON_ATOMIC")
        if atomicity not in ("ATOMIC", "NON_ATOMIC"):
            raise errors.InvalidParameter("batchAtomicity must be ATOMIC or NON_ATOMIC.")
        streams = {_stream_key(metric) for metric in metric_data}
        if len(streams) > MAX_STREAMS_PER_CALL:
            raise errors.InvalidParameter(
                f"The request has {len(streams)} unique metric streams; at most {MAX_STREAMS_PER_CALL} are allowed per call."
            )
        accepted: list[PostedMetric] = []
        failed: list[dict[str, Any]] = []
        for metric in metric_data:
            problem = _problem(metric)
            if problem is None:
                accepted.append(_posted(region, metric))
            else:
                failed.append({"message": problem, "metricData": metric})
        if failed and (atomicity == "ATOMIC" or not accepted):
            raise errors.InvalidParameter(failed[0]["message"])
        with self._lock:
            self._posted.extend(accepted)
        return {"failedMetricsCount": len(failed), "failedMetrics": failed}


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise errors.InvalidParameter("Unable to parse the request body as JSON.") from None
    if not isinstance(parsed, dict):
        raise errors.InvalidParameter("The request body must be a JSON object.")
    return parsed


def _stream_key(metric: Any) -> str:
    if not isinstance(metric, dict):
        return json.dumps(metric)
    return json.dumps([metric.get("namespace"), metric.get("name"), metric.get("dimensions")], sort_keys=True)


def _problem(metric: Any) -> str | None:
    """Why Monitoring would refuse this metric object, or None."""
    if not isinstance(metric, dict):
        return "A metric object must be a JSON object."
    namespace = metric.get("namespace")
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        return f"Invalid namespace {namespace!r}: a letter first, then letters, digits and underscores."
    if namespace.lower().startswith(_RESERVED_PREFIXES):
        return f"Invalid namespace {namespace!r}: the prefixes oci_ and oracle_ are reserved."
    compartment = metric.get("compartmentId")
    if not isinstance(compartment, str) or not _COMPARTMENT.fullmatch(compartment):
        return f"Invalid compartmentId {compartment!r}."
    name = metric.get("name")
    if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name):
        return f"Invalid metric name {name!r}."
    dimensions = metric.get("dimensions")
    if not isinstance(dimensions, dict) or not 1 <= len(dimensions) <= MAX_DIMENSIONS:
        return f"A metric needs 1 to {MAX_DIMENSIONS} dimensions."
    for key, value in dimensions.items():
        if not _DIMENSION_KEY.fullmatch(key) or len(key) > MAX_DIMENSION_KEY:
            return f"Invalid dimension key {key[:40]!r}: printable ASCII without spaces, at most {MAX_DIMENSION_KEY} characters."
        if not isinstance(value, str) or not value:
            return f"The value of dimension {key} must be a non-empty string."
        if len(value) > MAX_DIMENSION_VALUE:
            return (
                f"The value of dimension {key} has {len(value)} characters; at most {MAX_DIMENSION_VALUE} are allowed."
            )
    datapoints = metric.get("datapoints")
    if not isinstance(datapoints, list) or not datapoints:
        return "A metric needs at least one datapoint."
    now = datetime.now(UTC)
    for point in datapoints:
        when = _timestamp(point.get("timestamp") if isinstance(point, dict) else None)
        if when is None:
            return "Each datapoint needs an RFC 3339 timestamp."
        if now - when >= MAX_AGE:
            return f"Datapoint timestamp {point['timestamp']} is 2 hours or more in the past."
        if when - now >= MAX_LEAD:
            return f"Datapoint timestamp {point['timestamp']} is 10 minutes or more in the future."
        value = point.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "Each datapoint needs a numeric value."
        count = point.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            return "A datapoint count must be a positive integer."
    return None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _posted(region: str, metric: dict[str, Any]) -> PostedMetric:
    return PostedMetric(
        region=region,
        namespace=metric["namespace"],
        compartment_id=metric["compartmentId"],
        name=metric["name"],
        dimensions=dict(metric["dimensions"]),
        datapoints=[
            {"timestamp": _timestamp(point["timestamp"]), "value": float(point["value"]), "count": point.get("count")}
            for point in metric["datapoints"]
        ],
    )


def _response(status: int, body: Any, client_request_id: str | None) -> Response:
    # As Block Storage answers (dispatch.py): OCI appends its own id to the client's.
    generated = secrets.token_hex(16).upper()
    payload = json.dumps(body).encode()
    headers = {
        "content-type": "application/json",
        "content-length": str(len(payload)),
        "opc-request-id": f"{client_request_id}/{generated}" if client_request_id else generated,
        "date": formatdate(usegmt=True),
    }
    return Response(status, headers, payload)
