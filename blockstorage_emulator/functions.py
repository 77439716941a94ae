"""OCI Functions: GetFunction (management) and InvokeFunction (invoke), on the same port as Block Storage.

OCI serves management at https://functions.<region>.oci.oraclecloud.com and each function's
invocations at its own `invokeEndpoint`, which GetFunction returns. Here they are

    http://127.0.0.1:<port>/functions/<region>/<version>/functions/<functionId>                 GetFunction
    http://127.0.0.1:<port>/functions-invoke/<region>/<version>/functions/<functionId>/actions/invoke

and `invokeEndpoint` names the second prefix, so a client built from it comes back here. The
SDK appends the API version to the endpoint itself: `/20260325` in oci 2.189 (the version the
SDK's docstrings link to), `/20181201` in older SDKs and Oracle's older pages; both are served.

The emulator never runs the function's code itself: a test hands it a runner per function
(`serve`), which takes a FunctionCall and returns the function's answer; tests pass one that
POSTs to a real fdk process (local_runtime/fdk_process.py), as the Fn agent does.
- `fn-invoke-type: sync` (the default) waits for the runner and answers with the function's
  status and body. A function answering other than 200 becomes 502
  FunctionInvokeExecutionFailed, as OCI reports a failed function (the code is the one OCI's
  CLI prints for it; the message here is the emulator's own).
- `fn-invoke-type: detached` answers 202 at once and runs the body in a thread of its own,
  with the function's detachedModeTimeoutInSeconds as its deadline (the sync timeout when
  unset). 202 is the open-source Fn server's status for a detached call; OCI's own status is
  *unconfirmed*: the SDK accepts any 2xx, and the function under test relies on none in
  particular.
Every call gets a fresh Fn call id (a ULID: 26 Crockford base-32 characters, as the Fn server
makes them), which the runner passes to the function as Fn-Call-Id. Each invocation is
recorded with its body, headers (Authorization redacted), call id, status, and, once the
function answered, its answer.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import oci.regions

from . import errors
from .dispatch import REDACTED, Incoming, RecordedRequest, Response, recorded
from .faults import AccessPolicy, Fault, FaultPlan
from .ocids import new_ocid
from .signature import TrustStore, verify_request

PREFIX = "/functions/"
INVOKE_PREFIX = "/functions-invoke/"
API_VERSIONS = ("20181201", "20260325")
GET_FUNCTION = "get_function"
INVOKE_FUNCTION = "invoke_function"
OPERATIONS = (GET_FUNCTION, INVOKE_FUNCTION)

# Oracle: "The maximum size of the request is limited. This limit is currently 6MB" (SDK docstring).
MAX_INVOKE_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 30
MIN_DETACHED_TIMEOUT_SECONDS = 5
MAX_DETACHED_TIMEOUT_SECONDS = 3600
INVOKE_TYPES = ("sync", "detached")
HTTP_ACCEPTED = 202

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FUNCTION_PATH = re.compile(r"/(?P<version>\d{8})/functions/(?P<id>[^/]+)(?P<invoke>/actions/invoke)?")


def new_call_id() -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, in 26 Crockford base-32 characters."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@dataclass(frozen=True)
class FunctionCall:
    """What the Fn agent hands a function container: the body, the call id and the deadline."""

    function_id: str
    call_id: str
    invoke_type: str
    body: bytes
    timeout_seconds: int
    # fn-intent and the like, lower-case; never Authorization.
    headers: dict[str, str]


class FunctionAnswer(Protocol):
    """What a runner returns: local_runtime's FnResponse has exactly these."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> dict[str, str]: ...

    @property
    def body(self) -> bytes: ...


Runner = Callable[[FunctionCall], FunctionAnswer]


@dataclass
class FunctionInvocation:
    """One InvokeFunction call as the service saw it, and what the function answered."""

    function_id: str
    region: str
    invoke_type: str
    call_id: str
    body: bytes
    headers: dict[str, str]  # lower-case names, authorization redacted
    opc_request_id: str
    status: int  # what InvokeFunction answered the caller
    answer: FunctionAnswer | None = None
    error: str | None = None  # the runner's exception, if it raised
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def answer_json(self) -> Any:
        return json.loads(self.answer.body) if self.answer is not None else None


class FunctionsService:
    """GetFunction and InvokeFunction for every region, with faults and denials of their own."""

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self.faults = FaultPlan()
        self.policy = AccessPolicy()
        self._lock = threading.Lock()
        self._functions: dict[str, dict[str, Any]] = {}
        self._runners: dict[str, Runner] = {}
        self._invocations: list[FunctionInvocation] = []

    # State, for the Emulator facade

    def add(
        self,
        region: str,
        compartment_id: str,
        *,
        display_name: str = "backup-copier",
        application_id: str | None = None,
        function_id: str | None = None,
        timeout_in_seconds: int = DEFAULT_TIMEOUT_SECONDS,
        detached_mode_timeout_in_seconds: int | None = None,
        failure_destination: dict[str, Any] | None = None,
        memory_in_mbs: int = 256,
        config: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if detached_mode_timeout_in_seconds is not None and not (
            MIN_DETACHED_TIMEOUT_SECONDS <= detached_mode_timeout_in_seconds <= MAX_DETACHED_TIMEOUT_SECONDS
        ):
            raise ValueError("detachedModeTimeoutInSeconds must be 5 to 3600")
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        function: dict[str, Any] = {
            "id": function_id or new_ocid("fnfunc", region),
            "displayName": display_name,
            "lifecycleState": "ACTIVE",
            "applicationId": application_id or new_ocid("fnapp", region),
            "compartmentId": compartment_id,
            "shape": "GENERIC_X86",
            "memoryInMBs": memory_in_mbs,
            "config": dict(config or {}),
            "timeoutInSeconds": timeout_in_seconds,
            "detachedModeTimeoutInSeconds": detached_mode_timeout_in_seconds,
            "failureDestination": failure_destination or {"kind": "NONE"},
            "successDestination": {"kind": "NONE"},
            "freeformTags": {},
            "definedTags": {},
            "timeCreated": now,
            "timeUpdated": now,
            "_region": region,
        }
        with self._lock:
            self._functions[function["id"]] = function
        return _public(function, None)

    def update(self, function_id: str, **fields: Any) -> None:
        """Change API fields of a function (e.g. detachedModeTimeoutInSeconds=None), as UpdateFunction would."""
        with self._lock:
            self._functions[function_id].update(fields)

    def compartment_of(self, function_id: str) -> str | None:
        """The compartment of a function, None when there is none by that OCID (iam/world.py's question)."""
        with self._lock:
            function = self._functions.get(function_id)
        return function["compartmentId"] if function else None

    def serve(self, function_id: str, runner: Runner) -> None:
        with self._lock:
            if function_id not in self._functions:
                raise KeyError(f"no function {function_id}; add it first")
            self._runners[function_id] = runner

    def invocations(self, function_id: str | None = None) -> list[FunctionInvocation]:
        with self._lock:
            return [call for call in self._invocations if function_id in (None, call.function_id)]

    def wait_for_detached(self, timeout: float = 60.0) -> list[FunctionInvocation]:
        """Every detached invocation so far, once each has finished (runs started meanwhile included)."""
        give_up = time.monotonic() + timeout
        waited: list[FunctionInvocation] = []
        while True:
            detached = [call for call in self.invocations() if call.invoke_type == "detached"]
            if len(detached) == len(waited):
                return detached
            for call in detached:
                if not call.finished.wait(max(0.0, give_up - time.monotonic())):
                    raise TimeoutError(f"detached call {call.call_id} still running after {timeout} s")
            waited = detached

    def clear(self) -> None:
        with self._lock:
            self._invocations.clear()

    # The OtherService protocol (dispatch.py)

    def serves(self, target: str) -> bool:
        return urlsplit(target).path.startswith((PREFIX, INVOKE_PREFIX))

    def handle(self, incoming: Incoming, cleared: threading.Event) -> tuple[Response | None, RecordedRequest]:
        split = urlsplit(incoming.target)
        invoke_side = split.path.startswith(INVOKE_PREFIX)
        region, _, rest = split.path.removeprefix(INVOKE_PREFIX if invoke_side else PREFIX).partition("/")
        path = "/" + rest
        operation = INVOKE_FUNCTION if invoke_side else GET_FUNCTION
        fault: Fault | None = None
        error: errors.ServiceError | None = None
        status: int | None
        body: Any = None
        extra_headers: dict[str, str] = {}
        request_id = _request_id(incoming.headers.get("opc-request-id"))
        try:
            verify_request(incoming.method, incoming.target, incoming.headers, incoming.body, self.trust)
            match = _FUNCTION_PATH.fullmatch(path)
            if (
                region not in oci.regions.REGIONS
                or match is None
                or match["version"] not in API_VERSIONS
                or bool(match["invoke"]) != invoke_side
            ):
                raise errors.NotAuthorizedOrNotFound()
            if incoming.method != ("POST" if invoke_side else "GET"):
                raise errors.MethodNotAllowed()
            fault = self.faults.strike(operation, None, region, cleared)
            if fault is not None and fault.drop_connection:
                status = None
            elif fault is not None and fault.status is not None:
                raise fault.error()
            else:
                # A missing policy and a missing function look alike, as in OCI.
                if self.policy.denies(operation, None, region):
                    raise errors.NotAuthorizedOrNotFound()
                function = self._function(match["id"], region)
                if invoke_side:
                    status, body, extra_headers = self._invoke(function, region, incoming, request_id)
                else:
                    status, body = 200, _public(function, _invoke_endpoint(incoming.headers, region))
                    extra_headers = {"etag": secrets.token_hex(16)}
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
            operation,
            fault,
        )
        if status is None:
            return None, record
        return _response(status, body, request_id, extra_headers), record

    def _function(self, function_id: str, region: str) -> dict[str, Any]:
        with self._lock:
            function = self._functions.get(function_id)
        if function is None or function["_region"] != region:
            raise errors.NotAuthorizedOrNotFound()
        return function

    def _invoke(
        self, function: dict[str, Any], region: str, incoming: Incoming, request_id: str
    ) -> tuple[int, Any, dict[str, str]]:
        invoke_type = incoming.headers.get("fn-invoke-type", "sync")
        if invoke_type not in INVOKE_TYPES:
            raise errors.InvalidParameter(f"fn-invoke-type must be one of {', '.join(INVOKE_TYPES)}.")
        if len(incoming.body) > MAX_INVOKE_BODY_BYTES:
            raise errors.InvalidParameter("The request body is larger than the 6 MB an invocation may carry.")
        with self._lock:
            runner = self._runners.get(function["id"])
        if runner is None:
            error = errors.InternalServerError()
            error.detail = "no runner: the test never called Emulator.serve_function for this function"
            raise error
        detached = invoke_type == "detached"
        timeout = function["timeoutInSeconds"]
        if detached and function["detachedModeTimeoutInSeconds"]:
            timeout = function["detachedModeTimeoutInSeconds"]
        call = FunctionCall(
            function_id=function["id"],
            call_id=new_call_id(),
            invoke_type=invoke_type,
            body=incoming.body,
            timeout_seconds=timeout,
            headers={name: value for name, value in incoming.headers.items() if name.startswith("fn-")},
        )
        record = FunctionInvocation(
            function_id=function["id"],
            region=region,
            invoke_type=invoke_type,
            call_id=call.call_id,
            body=incoming.body,
            headers={name: REDACTED if name == "authorization" else value for name, value in incoming.headers.items()},
            opc_request_id=request_id,
            status=HTTP_ACCEPTED if detached else 200,
        )
        with self._lock:
            self._invocations.append(record)
        # The Fn server names the call in its answer; whether OCI sends this header is unconfirmed.
        headers = {"fn-call-id": call.call_id}
        if detached:
            threading.Thread(target=_run, args=(runner, call, record), name=f"fn-{call.call_id}", daemon=True).start()
            return HTTP_ACCEPTED, None, headers
        _run(runner, call, record)
        answer = record.answer
        if answer is None or answer.status != 200:
            record.status = 502
            raise errors.error_for(502, "FunctionInvokeExecutionFailed", "function failed")
        return 200, answer, headers


def _run(runner: Runner, call: FunctionCall, record: FunctionInvocation) -> None:
    try:
        record.answer = runner(call)
    except Exception as error:  # the function's container failed; the record says how
        record.error = f"{type(error).__name__}: {error}"
    finally:
        record.finished.set()


def _invoke_endpoint(headers: dict[str, str], region: str) -> str:
    """Back at this emulator, on whichever host and port the caller reached it."""
    return f"http://{headers.get('host', '127.0.0.1')}{INVOKE_PREFIX}{region}"


def _public(function: dict[str, Any], invoke_endpoint: str | None) -> dict[str, Any]:
    shown = {key: value for key, value in function.items() if not key.startswith("_")}
    if shown["detachedModeTimeoutInSeconds"] is None:
        # Unset: OCI leaves the field out, and detached calls get the sync timeout.
        del shown["detachedModeTimeoutInSeconds"]
    if invoke_endpoint:
        shown["invokeEndpoint"] = invoke_endpoint
    return shown


def _request_id(client_request_id: str | None) -> str:
    # As Block Storage answers (dispatch.py): OCI appends its own id to the client's.
    generated = secrets.token_hex(16).upper()
    return f"{client_request_id}/{generated}" if client_request_id else generated


def _response(status: int, body: Any, request_id: str, extra: dict[str, str]) -> Response:
    content_type = "application/json"
    if body is None:
        payload = b""
    elif isinstance(body, dict):
        payload = json.dumps(body).encode()
    else:
        # The function's own answer, passed through with its content type.
        payload = body.body
        content_type = {name.lower(): value for name, value in body.headers.items()}.get("content-type", content_type)
    headers = {
        **({"content-type": content_type} if payload else {}),
        "content-length": str(len(payload)),
        "opc-request-id": request_id,
        "date": formatdate(usegmt=True),
        **extra,
    }
    return Response(status, headers, payload)
