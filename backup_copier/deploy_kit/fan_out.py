"""The kit for FAN_OUT=on: two IAM statements, the function update that gives children an hour,
an optional failure destination, and the check that proves what can be proven without invoking.

Statements, only when fan-out is used (shared/own_function.py renders them):
- `read fn-function`: FN_FUNCTION_READ, for GetFunction, which the coordinator calls once per
  container for its invoke endpoint (Oracle, "Details for Functions": fn-function, read);
- `use fn-invocation`: what InvokeFunction needs (Oracle, "Controlling Access to Invoke and
  Manage Functions": `use fn-invocation` lets a group invoke; even `manage fn-function` does not).
Both on the compartment of the function's application.

The update command: `oci fn function update container-function` (oci CLI 3.95.1; `update` became
a group with `container-function`, `archive-function` and `pbf-function`; older CLIs, such as
3.89, take `oci fn function update --function-id ...` directly). `--detached-mode-timeout-in-seconds`
is 5 to 3,600 (Oracle, "Changing Default Memory and Timeout Settings"). `--failure-destination`
replaces the whole setting, so the CLI asks for confirmation unless `--force` is given.

A failure destination receives, in Oracle's words (SDK, FailureDestinationDetails), "an
invocation record with the details of the error of the failed detached function invocation".
Its exact fields are *unconfirmed*: no Oracle page read here shows one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from ..shared.clients import FunctionsClients
from ..shared.context import Invocation
from ..shared.errors import OwnFunctionUnknown
from ..shared.outcomes import SERVICE_FAILURES, fan_out_verdict
from ..shared.own_function import (
    FUNCTIONS_POLICY_DOC,
    describe,
    invoke_function_statement,
    own_function_id,
    read_function_statement,
)
from ..shared.settings import Settings
from . import iam

DETACHED_TIMEOUT_SECONDS = 3600
INVOKE_ACCESS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsrestrictinguseraccess.htm"
TIMEOUTS_DOC = "https://docs.oracle.com/iaas/Content/Functions/Tasks/functionscustomizing.htm"
DETACHED_RELEASE_NOTE = "https://docs.oracle.com/iaas/releasenotes/functions/functions-long-running-functions.htm"


def statements(function_compartment_id: str, dynamic_group: str) -> list[str]:
    return [
        read_function_statement(function_compartment_id, dynamic_group),
        invoke_function_statement(function_compartment_id, dynamic_group),
    ]


def section(function_compartment_id: str, dynamic_group: str) -> iam.Section:
    """The policies command's section with --fan-out."""
    return iam.Section(
        "Fan out over detached invocations of the function itself (FAN_OUT=on only)",
        (
            f"read fn-function: FN_FUNCTION_READ, for GetFunction (the invoke endpoint and timeouts); {FUNCTIONS_POLICY_DOC}",
            f"use fn-invocation: for InvokeFunction, each child started detached; {INVOKE_ACCESS_DOC}",
        ),
        tuple(statements(function_compartment_id, dynamic_group)),
    )


def update_command(function_id: str, failure_topic_id: str | None = None) -> str:
    """The oci CLI command that lets each child run up to an hour (and, optionally, report failures)."""
    words = [
        "oci",
        "fn",
        "function",
        "update",
        "container-function",
        "--function-id",
        function_id,
        "--detached-mode-timeout-in-seconds",
        str(DETACHED_TIMEOUT_SECONDS),
    ]
    if failure_topic_id:
        destination = json.dumps({"kind": "NOTIFICATION", "topicId": failure_topic_id}, separators=(",", ":"))
        words += ["--failure-destination", destination, "--force"]
    return shlex.join(words)


def kit(function_id: str, function_compartment_id: str, dynamic_group: str, failure_topic_id: str | None) -> str:
    """What `python -m backup_copier.deploy_kit fan-out` prints."""
    lines = [
        "# Fan-out (FAN_OUT=on): a reconcile, expire or report over many compartments is split over detached",
        "# invocations of the function itself, one per FAN_OUT_BATCH compartments (docs/operations.md).",
        "",
        "# 1. IAM: the function reads itself (GetFunction) and invokes itself (InvokeFunction).",
        f"#    read fn-function: FN_FUNCTION_READ, GetFunction; {FUNCTIONS_POLICY_DOC}",
        f"#    use fn-invocation: invoking a function; {INVOKE_ACCESS_DOC}",
        *statements(function_compartment_id, dynamic_group),
        "",
        "# 2. Let each child run up to an hour (detached invocations only; synchronous ones keep their timeout).",
        f"#    {TIMEOUTS_DOC}",
        f"#    {DETACHED_RELEASE_NOTE}",
    ]
    if failure_topic_id:
        lines += [
            "#    With a failure destination: a child that fails or times out is published to the topic, so it",
            "#    reaches a person. Oracle delivers 'an invocation record with the details of the error'; its",
            "#    fields are UNCONFIRMED. Whether the topic needs a policy for the Functions service to publish",
            "#    is UNCONFIRMED too: check the topic's subscription gets a message after the first failed child.",
        ]
    lines += [
        update_command(function_id, failure_topic_id),
        "",
        "# 3. Turn it on (and, optionally, the batch size: 1 to 1000 compartments, default 100).",
        "fn config function <app> <function> FAN_OUT on",
        "",
        '# 4. Prove it without invoking anything: {"action": "check"} now reads the function and its timeouts.',
        "fn invoke <app> <function> < events/check.json",
    ]
    return "\n".join(lines) + "\n"


def check_own_function(
    settings: Settings, signer: Any, region: str | None, invocation: Invocation, environ: Mapping[str, str]
) -> tuple[bool, str, str | None]:
    """(ok, detail, fix): GetFunction works and children get more time than one synchronous call."""
    try:
        function_id = own_function_id(environ)
    except OwnFunctionUnknown as error:
        return False, error.message, "run the check in OCI Functions, which sets FN_FN_ID in every container"
    if not region:
        return False, "the resource principal names no region, so the function cannot be read", None
    try:
        own = describe(FunctionsClients(settings, signer), invocation, region, function_id, fresh=True)
    except SERVICE_FAILURES as error:
        compartment = _claim(signer, "res_compartment") or "<the function's compartment OCID>"
        fix = read_function_statement(compartment, iam.DEFAULT_DYNAMIC_GROUP)
        return False, fan_out_verdict(error, step="read this function (GetFunction)", permission_fix=fix).reason, fix
    if own.detached_timeout_seconds is None or own.detached_timeout_seconds <= own.timeout_seconds:
        set_to = "not set" if own.detached_timeout_seconds is None else f"{own.detached_timeout_seconds} s"
        return (
            False,
            f"detachedModeTimeoutInSeconds is {set_to} and timeoutInSeconds {own.timeout_seconds} s: a child of a "
            "fan-out would get no more time than one synchronous invocation",
            update_command(function_id),
        )
    return (
        True,
        f"GetFunction works (invoke endpoint read); a child runs up to {own.detached_timeout_seconds} s, a synchronous "
        f"invocation {own.timeout_seconds} s. Nothing was invoked.",
        None,
    )


def invoke_note(region_compartment: str | None) -> tuple[str, str]:
    """What the check cannot prove without invoking: (detail, fix)."""
    statement = invoke_function_statement(
        region_compartment or "<the function's compartment OCID>", iam.DEFAULT_DYNAMIC_GROUP
    )
    return (
        "use fn-invocation is proven only by invoking, which the check never does; a coordinator denied it "
        "answers failed naming the statement",
        statement,
    )


def _claim(signer: Any, name: str) -> str | None:
    try:
        value = signer.get_claim(name)
    except Exception:
        return None
    return str(value) if value else None
