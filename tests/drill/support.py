"""What the drill's tests share: the function's drill settings, one pass through the fdk socket, and
drills seeded straight into the emulator as a pass would have left them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, FunctionFactory, rfc3339

# The function's own OCID (FN_FN_ID, which OCI Functions sets): the drill's mark names it.
FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaadrillfunctiondrillfunction"
OTHER_FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaaanotherdeploymentofthisone"

# The drill's tag keys, written out: they are a documented interface (docs/drills.md), so a change to
# them must fail here rather than pass silently.
DRILL_FUNCTION = "backup-copier-drill-function"
DRILL_COPY = "backup-copier-drill-copy"
DRILL_VOLUME = "backup-copier-drill-volume"
DRILL_STARTED = "backup-copier-drill-started"
DRILL_RESOURCE = "backup-copier-drill-resource"
DRILL_GROUP = "backup-copier-drill-group"
DRILL_RUNNING = "backup-copier-drill-running"
DRILL_LAST = "backup-copier-drill-last"
DRILL_PASSED = "backup-copier-drill-passed"
DRILL_LEFT = "backup-copier-drill-left"

_SOURCE_TYPE = {"volume": "volumeBackup", "boot_volume": "bootVolumeBackup"}


def drill_function(emulator: Emulator, function: FunctionFactory, **settings: str) -> FunctionProcess:
    """The function as a drill runs it: its own OCID, and Compute's attachment listings in the emulator."""
    return function(FN_FN_ID=FUNCTION_ID, COMPUTE_ENDPOINT=emulator.compute_endpoint_template, **settings)


def drill_pass(process: FunctionProcess, compartment: str | None = None, **fields: Any) -> dict[str, Any]:
    """One pass: the answer, whose HTTP status must match its outcome."""
    body: dict[str, Any] = {"action": "drill", **fields}
    if compartment is not None and "compartmentIds" not in fields:
        body["compartmentId"] = compartment
    answer = process.invoke(body, deadline_seconds=30)
    result: dict[str, Any] = answer.json()
    assert answer.status == (502 if result["outcome"] in ("failed", "rejected") else 200), result
    return result


def mark(copy: dict[str, Any], volume_id: str, *, minutes_ago: float, function_id: str = FUNCTION_ID) -> dict[str, str]:
    return {
        DRILL_FUNCTION: function_id,
        DRILL_COPY: copy["id"],
        DRILL_VOLUME: volume_id,
        DRILL_STARTED: rfc3339(datetime.now(UTC) - timedelta(minutes=minutes_ago)),
    }


def seed_drill(
    emulator: Emulator,
    compartment: str,
    copy: dict[str, Any],
    *,
    kind: str = "volume",
    state: str = "AVAILABLE",
    minutes_ago: float = 10,
    function_id: str = FUNCTION_ID,
    bound: bool = True,
    volume_id: str | None = None,
) -> dict[str, Any]:
    """A volume (or boot volume) restored from `copy`, carrying the drill's mark as the function writes it;
    `bound`: its mark names its own OCID (else nothing binds it, as when a pass stopped right after the create)."""
    volume = volume_id or copy.get("volumeId") or copy.get("bootVolumeId") or ""
    resource = emulator.add_volume(
        kind,
        DESTINATION_REGION,
        compartment,
        lifecycle_state=state,
        is_hydrated=False,
        source_details={"type": _SOURCE_TYPE[kind], "id": copy["id"]},
        freeform_tags=mark(copy, volume, minutes_ago=minutes_ago, function_id=function_id),
    )
    if bound:
        emulator.set_volume_tags(resource["id"], {**resource["freeformTags"], DRILL_RESOURCE: resource["id"]})
    return emulator.volume(resource["id"])


def record_running(emulator: Emulator, copy_id: str, resource_id: str) -> dict[str, Any]:
    """The copy's running record names `resource_id`, as a drill's first pass writes it; the copy as it is now."""
    emulator.set_freeform_tags(copy_id, {**emulator.backup(copy_id)["freeformTags"], DRILL_RUNNING: resource_id})
    return emulator.backup(copy_id)


def deletes(emulator: Emulator) -> list[str]:
    """The OCIDs of the volumes, boot volumes and groups a DELETE was sent for, in order."""
    return [
        request.path.rsplit("/", 1)[1]
        for request in emulator.requests
        if request.method == "DELETE" and request.operation.startswith("delete_") and "Backup" not in request.path
    ]


def state(emulator: Emulator, resource_id: str) -> str:
    return str(emulator.volume(resource_id)["lifecycleState"])
