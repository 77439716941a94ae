"""The request pipeline: authenticate, inject faults, authorize, serve, record.

With IAM policies switched on, the gate (iam/gate.py) answers first for every service on the port."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import oci.regions

from . import errors
from .faults import AccessPolicy, CompartmentDenials, Fault, FaultPlan, LatencyPlan
from .models import Backend
from .operations import Call, Reply
from .routes import Resolution, resolve
from .signature import TrustStore, verify_request
from .throttle import CallRate

REDACTED = "<redacted>"
DROPPED = 0  # RecordedRequest.status of a request answered by closing the socket


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str  # raw request target: /<region>/20160918/...?query
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class RecordedRequest:
    region: str
    method: str
    path: str  # without the region prefix and query, e.g. /20160918/volumeBackups/ocid1...
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names, authorization redacted
    body: bytes
    status: int  # DROPPED when the connection was closed without an answer
    error_code: str | None
    operation: str
    kind: str | None
    fault: str | None
    detail: str | None = field(default=None)  # why an error was answered, server-side only


def recorded(
    incoming: Incoming,
    region: str,
    path: str,
    query: dict[str, str],
    status: int | None,
    error: errors.ServiceError | None,
    operation: str,
    fault: Fault | None,
    kind: str | None = None,
) -> RecordedRequest:
    """What every service on the port records of one request: the authorization redacted, the
    status DROPPED when the connection was closed without an answer."""
    return RecordedRequest(
        region=region,
        method=incoming.method,
        path=path,
        query=query,
        headers={name: REDACTED if name == "authorization" else value for name, value in incoming.headers.items()},
        body=incoming.body,
        status=status if status is not None else DROPPED,
        error_code=error.code if error else None,
        operation=operation,
        kind=kind,
        fault=fault.describe() if fault else None,
        detail=error.detail if error else None,
    )


class OtherService(Protocol):
    """Another OCI service on the same port (telemetry.py), under its own path prefix."""

    def serves(self, target: str) -> bool: ...

    def handle(self, incoming: Incoming, cleared: threading.Event) -> tuple[Response | None, RecordedRequest]: ...


class Gate(Protocol):
    """Something that may refuse a request before any service sees it: iam/gate.py, IAM's policies."""

    def refuse(self, incoming: Incoming) -> RecordedRequest | None: ...


class Dispatcher:
    def __init__(
        self,
        backend: Backend,
        trust: TrustStore,
        faults: FaultPlan,
        policy: AccessPolicy,
        others: tuple[OtherService, ...] = (),
        *,
        latency: LatencyPlan | None = None,
        compartments: CompartmentDenials | None = None,
    ) -> None:
        self.backend = backend
        self.others = others
        self.trust = trust
        self.faults = faults
        self.policy = policy
        self.latency = latency or LatencyPlan()
        self.compartments = compartments or CompartmentDenials()
        # Block Storage publishes no calls-a-second number: off until a test switches it on.
        self.rate = CallRate()
        # IAM policies, when a test switches them on (Emulator.enforce_policies); None allows all.
        self.gate: Gate | None = None
        # Requests being answered right now, on every service: proof, without a stopwatch,
        # that a slow request does not hold up another.
        self._in_flight = 0
        self._in_flight_changed = threading.Condition()
        self._log_lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        # Set, and replaced, when the log is cleared: a request from before that moment stops
        # its injected delay early and is not recorded, so one test's slow request never
        # lands in the next test's log.
        self._cleared = threading.Event()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()
            self._cleared.set()
            self._cleared = threading.Event()

    @property
    def in_flight(self) -> int:
        with self._in_flight_changed:
            return self._in_flight

    def wait_for_in_flight(self, count: int, timeout: float) -> bool:
        """Whether `count` requests were being answered at once before `timeout` seconds passed."""
        with self._in_flight_changed:
            return self._in_flight_changed.wait_for(lambda: self._in_flight >= count, timeout)

    def handle(self, incoming: Incoming) -> Response | None:
        """The answer to send, or None to close the connection unanswered."""
        with self._in_flight_changed:
            self._in_flight += 1
            self._in_flight_changed.notify_all()
        try:
            return self._handle(incoming)
        finally:
            with self._in_flight_changed:
                self._in_flight -= 1
                self._in_flight_changed.notify_all()

    def _handle(self, incoming: Incoming) -> Response | None:
        with self._log_lock:
            cleared = self._cleared
        gate = self.gate
        refused = gate.refuse(incoming) if gate is not None else None
        if refused is not None:
            # A missing policy, answered as OCI answers it (the record says which permission).
            self._record(refused, cleared)
            refusal = errors.NotAuthorizedOrNotFound()
            return respond(Reply(refusal.status, refusal.to_json()), incoming.headers.get("opc-request-id"))
        for other in self.others:
            if other.serves(incoming.target):
                response, record = other.handle(incoming, cleared)
                self._record(record, cleared)
                return response
        split = urlsplit(incoming.target)
        region, path = _split_region(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        resolution = resolve(incoming.method, path)
        kind_name = resolution.kind.name if resolution.kind else None
        fault: Fault | None = None
        error: errors.ServiceError | None = None
        reply: Reply | None
        try:
            # Authentication comes first, exactly as in OCI: nothing about a
            # region or resource is revealed to an unauthenticated caller.
            verify_request(incoming.method, incoming.target, incoming.headers, incoming.body, self.trust)
            if region not in oci.regions.REGIONS:
                raise errors.NotAuthorizedOrNotFound()
            self.rate.count()
            cleared.wait(self.latency.seconds(resolution.operation))
            fault = self.faults.strike(resolution.operation, kind_name, region, cleared)
            if fault is not None and fault.drop_connection:
                reply = None
            elif fault is not None and fault.status is not None:
                raise fault.error()
            else:
                reply = self._serve(incoming, region, query, resolution)
        except errors.ServiceError as service_error:
            error = service_error
            reply = Reply(error.status, error.to_json())

        self._record(
            recorded(
                incoming,
                region,
                path,
                query,
                reply.status if reply else None,
                error,
                resolution.operation,
                fault,
                kind_name,
            ),
            cleared,
        )
        return respond(reply, incoming.headers.get("opc-request-id")) if reply else None

    def _serve(self, incoming: Incoming, region: str, query: dict[str, str], resolution: Resolution) -> Reply:
        kind_name = resolution.kind.name if resolution.kind else None
        if self.policy.denies(resolution.operation, kind_name, region):
            raise errors.NotAuthorizedOrNotFound()
        # "list" of backups, "list_volumes" and the like of what they restore to.
        if resolution.operation.startswith("list") and self.compartments.denies(query.get("compartmentId")):
            # No policy in that compartment: OCI answers as if it did not exist.
            raise errors.NotAuthorizedOrNotFound()
        if resolution.handler is None or resolution.kind is None:
            raise resolution.error or errors.NotAuthorizedOrNotFound()
        call = Call(
            region,
            resolution.kind,
            resolution.resource_id,
            incoming.method,
            urlsplit(incoming.target).path,
            query,
            incoming.headers,
            incoming.body,
        )
        return resolution.handler(self.backend, call)

    def _record(self, record: RecordedRequest, cleared: threading.Event) -> None:
        with self._log_lock:
            if not cleared.is_set():
                self._log.append(record)


def _split_region(path: str) -> tuple[str, str]:
    """`/us-phoenix-1/20160918/x` -> (`us-phoenix-1`, `/20160918/x`)."""
    region, slash, rest = path.lstrip("/").partition("/")
    return region, slash + rest


def respond(reply: Reply, client_request_id: str | None) -> Response:
    # OCI appends its own id to the client's, so both sides can find the request.
    generated = secrets.token_hex(16).upper()
    request_id = f"{client_request_id}/{generated}" if client_request_id else generated
    # 204 No Content (a delete) carries no body, as in OCI.
    body = b"" if reply.status == 204 else json.dumps(reply.body).encode()
    headers = {
        **({} if reply.status == 204 else {"content-type": "application/json"}),
        "content-length": str(len(body)),
        "opc-request-id": request_id,
        "date": formatdate(usegmt=True),
        **reply.headers,
    }
    return Response(reply.status, headers, body)
