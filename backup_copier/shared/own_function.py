"""The function as OCI Functions knows it: its own OCID, its invoke endpoint and timeouts, and the
two IAM statements that let it read and invoke itself.

OCI Functions sets FN_FN_ID (the function's OCID) in every container. GetFunction returns the
invoke endpoint (stable for the function's life, so read once per container) and the two
timeouts a fan-out depends on: `timeoutInSeconds` (synchronous, at most 300 s) and
`detachedModeTimeoutInSeconds` (5 to 3,600 s; when unset, detached calls get the synchronous
one). Oracle, "Changing Default Memory and Timeout Settings":
https://docs.oracle.com/iaas/Content/Functions/Tasks/functionscustomizing.htm

IAM: `read fn-function` grants FN_FUNCTION_READ, which GetFunction needs (Oracle, "Details for
Functions", https://docs.oracle.com/iaas/Content/Identity/Reference/functionspolicyreference.htm);
`use fn-invocation` is what lets a principal invoke a function (Oracle, "Controlling Access to
Invoke and Manage Functions",
https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsrestrictinguseraccess.htm: even
`manage fn-function` does not). Both the fan-out (fan_out/) and the deploy kit's policy and check
(deploy_kit/) render the statements from here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .clients import FunctionsClients
from .context import Invocation
from .errors import InvalidRequest, OwnFunctionUnknown
from .ocids import parse_ocid

FUNCTION_ID_VARIABLE = "FN_FN_ID"
FUNCTIONS_POLICY_DOC = "https://docs.oracle.com/iaas/Content/Identity/Reference/functionspolicyreference.htm"
DEFAULT_DYNAMIC_GROUP = "<function dynamic group>"


@dataclass(frozen=True)
class OwnFunction:
    function_id: str
    compartment_id: str
    invoke_endpoint: str
    timeout_seconds: int
    # None when unset: detached calls then get timeout_seconds.
    detached_timeout_seconds: int | None

    @property
    def effective_detached_timeout(self) -> int:
        return self.detached_timeout_seconds or self.timeout_seconds


def own_function_id(
    environ: Mapping[str, str] = os.environ, *, needed: str = "the function cannot invoke itself"
) -> str:
    """FN_FN_ID, checked as a function OCID before it goes into a URL (or a drill's mark).
    `needed` says what cannot be done without it."""
    value = environ.get(FUNCTION_ID_VARIABLE)
    if not value:
        raise OwnFunctionUnknown(
            f"{FUNCTION_ID_VARIABLE} is not set, so {needed}; OCI Functions sets it "
            "in every container (a local run must set it too)"
        )
    try:
        return parse_ocid(value, field=FUNCTION_ID_VARIABLE, types={"fnfunc"}, regional=False).value
    except InvalidRequest as exc:
        raise OwnFunctionUnknown(exc.message) from None


def read_function_statement(compartment_id: str, dynamic_group: str = DEFAULT_DYNAMIC_GROUP) -> str:
    """FN_FUNCTION_READ, for GetFunction: the invoke endpoint and the timeouts."""
    return f"Allow dynamic-group {dynamic_group} to read fn-function in compartment id {compartment_id}"


def invoke_function_statement(compartment_id: str, dynamic_group: str = DEFAULT_DYNAMIC_GROUP) -> str:
    """For InvokeFunction: the coordinator starting its children."""
    return f"Allow dynamic-group {dynamic_group} to use fn-invocation in compartment id {compartment_id}"


_described: dict[str, OwnFunction] = {}
_described_lock = threading.Lock()


def describe(
    functions: FunctionsClients, invocation: Invocation, region: str, function_id: str, *, fresh: bool = False
) -> OwnFunction:
    """GetFunction, once per container (the check asks `fresh`, since proving the call is its point)."""
    with _described_lock:
        known = _described.get(function_id)
    if known is not None and not fresh:
        return known
    data: Any = functions.management(region).get_function(function_id, retry_strategy=invocation.retry_strategy).data
    described = OwnFunction(
        function_id=function_id,
        compartment_id=str(data.compartment_id),
        invoke_endpoint=str(data.invoke_endpoint),
        timeout_seconds=int(data.timeout_in_seconds or 30),
        detached_timeout_seconds=int(data.detached_mode_timeout_in_seconds)
        if data.detached_mode_timeout_in_seconds
        else None,
    )
    with _described_lock:
        _described[function_id] = described
    return described
