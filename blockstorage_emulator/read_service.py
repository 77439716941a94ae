"""The request pipeline of a service on the shared port that only answers GETs (Identity, Compute).

The same order as Block Storage's (dispatch.py): authenticate first, so nothing is revealed to
an unsigned caller; then the region and path, the calls-a-second limit, injected latency and
faults, the IAM denial, and the operation itself; every request is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import oci.regions

from . import errors
from .dispatch import Incoming, RecordedRequest, Response, recorded, respond
from .faults import AccessPolicy, Fault, FaultPlan, LatencyPlan
from .operations import Reply
from .signature import TrustStore, verify_request
from .throttle import CallRate

# (region, query) -> the answer
Serve = Callable[[str, dict[str, str]], Reply]


@dataclass
class ReadService:
    """What one such service is: its path prefix, its GET paths and the plans that bend it."""

    prefix: str  # "/identity/": requests come to <prefix><region>/<path>
    routes: dict[str, tuple[str, Serve]]  # API path -> (operation name, handler)
    default_operation: str  # recorded for a path the service does not have
    trust: TrustStore
    latency: LatencyPlan
    faults: FaultPlan = field(default_factory=FaultPlan)
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    # No calls-a-second number is published for these: off until a test switches it on.
    rate: CallRate = field(default_factory=CallRate)

    def serves(self, target: str) -> bool:
        return urlsplit(target).path.startswith(self.prefix)

    def handle(self, incoming: Incoming, cleared: threading.Event) -> tuple[Response | None, RecordedRequest]:
        split = urlsplit(incoming.target)
        region, _, rest = split.path.removeprefix(self.prefix).partition("/")
        path = "/" + rest
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        operation, serve = self.routes.get(path, (self.default_operation, None))
        fault: Fault | None = None
        error: errors.ServiceError | None = None
        reply: Reply | None
        try:
            verify_request(incoming.method, incoming.target, incoming.headers, incoming.body, self.trust)
            if region not in oci.regions.REGIONS or serve is None:
                raise errors.NotAuthorizedOrNotFound()
            if incoming.method != "GET":
                raise errors.MethodNotAllowed()
            self.rate.count()
            cleared.wait(self.latency.seconds(operation))
            fault = self.faults.strike(operation, None, region, cleared)
            if fault is not None and fault.drop_connection:
                reply = None
            elif fault is not None and fault.status is not None:
                raise fault.error()
            else:
                if self.policy.denies(operation, None, region):
                    raise errors.NotAuthorizedOrNotFound()
                reply = serve(region, query)
        except errors.ServiceError as service_error:
            error = service_error
            reply = Reply(error.status, error.to_json())
        record = recorded(incoming, region, path, query, reply.status if reply else None, error, operation, fault)
        return (respond(reply, incoming.headers.get("opc-request-id")) if reply else None), record


class ReadServiceFront:
    """A service class that answers through its ReadService (`service`): the OtherService protocol
    (dispatch.py) and the plans the Emulator facade reaches for."""

    service: ReadService

    @property
    def faults(self) -> FaultPlan:
        return self.service.faults

    @property
    def policy(self) -> AccessPolicy:
        return self.service.policy

    @property
    def rate(self) -> CallRate:
        return self.service.rate

    def serves(self, target: str) -> bool:
        return self.service.serves(target)

    def handle(self, incoming: Incoming, cleared: threading.Event) -> tuple[Response | None, RecordedRequest]:
        return self.service.handle(incoming, cleared)
