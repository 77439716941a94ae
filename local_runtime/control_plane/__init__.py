"""A stand-in for OCI's control plane and the fn CLI, for running the deploy kit's setup scripts for real.

cloud.py keeps the state the real oci CLI creates, lists and updates (IAM, Events, Resource
Scheduler, Monitoring, Functions); fn_cli.py is the fn CLI's syntax and effects on the same
functions; workstation.py is the shell that runs a script with both on its PATH. enforce_recorded_iam
hands what a run created to the emulator, which then allows the function only what it was granted.
It lives beside oci_cli.py and fdk_process.py, the other local stand-ins, so both the deploy kit's
tests and the end-to-end tests import it, and mypy checks it.
"""

from __future__ import annotations

from collections.abc import Collection

from blockstorage_emulator import Emulator

from .cloud import ControlPlane, RecordedPolicy, Sent
from .fn_cli import FnCli, FnInvocation, FnRun, Invoker
from .workstation import ScriptRun, Workstation, workstation


def enforce_recorded_iam(emulator: Emulator, plane: ControlPlane, *, leave_out: Collection[str] = ()) -> None:
    """The emulator enforces what a run created: every dynamic group's rule, every policy where it is
    attached; without the statements in `leave_out`, to see what the function says when one is missing."""
    policies = plane.policies()
    if not policies:
        raise ValueError("the run created no policy: nothing to enforce")
    missing = set(leave_out) - {statement for policy in policies for statement in policy.statements}
    if missing:
        raise ValueError(f"the run created no such statement: {sorted(missing)}")
    kept = [(policy, [s for s in policy.statements if s not in leave_out]) for policy in policies]
    (first, statements), *others = kept
    emulator.enforce_policies(statements, plane.dynamic_groups(), compartment_id=first.compartment_id)
    for policy, statements in others:
        emulator.add_policy(statements, compartment_id=policy.compartment_id)


__all__ = [
    "ControlPlane",
    "FnCli",
    "FnInvocation",
    "FnRun",
    "Invoker",
    "RecordedPolicy",
    "ScriptRun",
    "Sent",
    "Workstation",
    "enforce_recorded_iam",
    "workstation",
]
