"""Each of the machine's five promises (world.py) on its key scenario, through the real fdk socket.

The machine (test_machine.py) runs the handler in this process for speed; these run the function
as it is deployed, one fdk process per settings (a coordinator and its children's containers for
fan-out), and check each step with the same code, from the emulator's own records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FunctionProcess
from tests.fan_out.support import children, containers, fan_out_settings
from tests.fan_out.support import invoke as invoke_coordinator
from tests.helpers import (
    DESTINATION_REGION,
    MARK_COPY,
    MARK_EXPIRES,
    NOW,
    FunctionFactory,
    event_for,
    new_compartment,
    seed_backup,
    seed_copy,
)
from tests.stateful import world as promises
from tests.stateful.world import Step, World

VOLUME = "ocid1.volume.oc1.phx." + "s" * 60


def _broken(world: World, *steps: Step) -> dict[str, dict[str, list[str]]]:
    """The promises each step broke, by step: {} when every one held."""
    found = {f"{number} {step.name}": promises.check_all(step, world) for number, step in enumerate(steps, 1)}
    return {name: broken for name, broken in found.items() if broken}


def _run(world: World, process: FunctionProcess, name: str, body: dict[str, Any], **limits: Any) -> Step:
    before = world.begin()
    answer = process.invoke(body, deadline_seconds=60).json()
    assert answer["outcome"] not in ("rejected", "failed"), answer
    return world.end(name, before, **limits)


def _sweep(world: World, process: FunctionProcess, max_copies: int = 10) -> Step:
    compartments = list(world.compartments)
    body = {"action": "reconcile", "compartmentIds": compartments, "sinceHours": 168, "maxCopies": max_copies}
    if len(compartments) == 1:
        body = {"action": "reconcile", "compartmentId": compartments[0], "sinceHours": 168, "maxCopies": max_copies}
    before = world.begin()
    started = datetime.now(UTC)
    answer = process.invoke(body, deadline_seconds=60).json()
    check = world.sweep_check(before, [(body, answer)], started)
    return world.end("sweep", before, max_copies=max_copies, sweep=check)


def _event(world: World, process: FunctionProcess, source: dict[str, Any]) -> Step:
    kind = {"volumebackup": "volume", "bootvolumebackup": "boot_volume", "volumegroupbackup": "volume_group"}
    event = event_for(kind[promises.kind_of(source["id"])], source["id"], compartmentId=source["compartmentId"])
    return _run(world, process, "event", event)


def _our_copy(emulator: Emulator, source: dict[str, Any]) -> dict[str, Any]:
    (copy,) = emulator.copies_of(source["id"], DESTINATION_REGION)
    return copy


def test_deletions_are_due_marked_and_not_the_newest(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 1: three marked copies of one volume past their expiry; one kept by the operator (an
    expiry that is not a time), one copied onwards by hand (its mark names the original), and the newest."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    oldest, kept, _ = (
        seed_copy(emulator, compartment, hours_ago=hours_ago, expires=NOW - timedelta(hours=1), volume_id=VOLUME)[1]
        for hours_ago in (102, 78, 54)
    )
    emulator.set_freeform_tags(kept["id"], {**kept["freeformTags"], MARK_EXPIRES: "keep-for-audit"})
    emulator.add_backup(
        "volume",
        DESTINATION_REGION,
        compartment,
        source_backup_id=oldest["id"],
        volume_id=VOLUME,
        freeform_tags=dict(oldest["freeformTags"]),
    )

    step = _run(world, function(), "expiry pass", {"action": "expire", "compartmentId": compartment})

    assert _broken(world, step) == {}
    deleted = [promises.resource_id(r) for r in step.requests if r.operation == "delete" and r.status == 204]
    assert deleted == [oldest["id"]]  # the check looked at a deletion, not at nothing


def test_marks_the_operator_changed_are_left_alone(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 2 (finding 1): copies the function made and marked; the operator sets one's expiry to
    something that is not a time and removes the other's backup-copier-copy. A redelivered event and
    a sweep leave both marks as the operator left them."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    process = function()
    kept, released = (seed_backup(emulator, compartment, "volume", hours_ago) for hours_ago in (30, 6))
    for source in (kept, released):
        _event(world, process, source)
    emulator.complete_copies()
    kept_copy, released_copy = _our_copy(emulator, kept), _our_copy(emulator, released)
    emulator.set_freeform_tags(kept_copy["id"], {**kept_copy["freeformTags"], MARK_EXPIRES: "keep-for-audit"})
    emulator.set_freeform_tags(
        released_copy["id"], {k: v for k, v in released_copy["freeformTags"].items() if k != MARK_COPY}
    )

    steps = [_event(world, process, kept), _sweep(world, process)]

    assert _broken(world, *steps) == {}


def test_a_source_is_copied_into_a_region_once(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 3 (finding 2): COPY_RETENTION_DAYS_<REGION>=3 and two backups of one volume, older
    than that, in the sweep's window: the older copy is deleted, and must not be copied again."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    process = function(COPY_RETENTION_DAYS_US_ASHBURN_1="3")
    for hours_ago in (102, 78):
        seed_backup(emulator, compartment, "volume", hours_ago, volume_id=VOLUME)

    steps = [_sweep(world, process)]
    emulator.complete_copies()
    steps.append(_run(world, process, "expiry pass", {"action": "expire", "compartmentId": compartment}))
    steps.append(_sweep(world, process))

    assert _broken(world, *steps) == {}


def test_limits_bound_the_coordinator_and_its_children_together(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 4 (finding 3): FAN_OUT=on with batches of two compartments, three compartments, and
    in the first and the last a missing copy and a due one: maxCopies 1 and maxDeletes 1 bound the
    whole scope, not each batch."""
    compartments = (new_compartment(), new_compartment(), new_compartment())
    world = World(emulator, compartments, (DESTINATION_REGION,))
    coordinator = function(**fan_out_settings(emulator, batch=2))
    containers(emulator, function)
    for position, compartment in enumerate(compartments[::2]):
        seed_backup(emulator, compartment, "volume", hours_ago=10)
        volume = f"ocid1.volume.oc1.phx.{'d' * 59}{position}"
        seed_copy(emulator, compartment, hours_ago=72, expires=NOW - timedelta(days=1), volume_id=volume)
        seed_copy(emulator, compartment, hours_ago=24, volume_id=volume)
    steps = []
    for body, limits in (
        ({"action": "reconcile", "maxCopies": 1, "kinds": ["volume"], "sinceHours": 12}, {"max_copies": 1}),
        ({"action": "expire", "maxDeletes": 1}, {"max_deletes": 1}),
    ):
        before = world.begin()
        emulator.clear_function_invocations()
        invoke_coordinator(coordinator, {**body, "compartmentIds": list(compartments)})
        children(emulator)
        steps.append(world.end(str(body["action"]), before, **limits))

    assert _broken(world, *steps) == {}


def test_a_sweep_with_enough_budget_covers_its_window(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 5: every kind, a backup outside the window, one already copied, a volume group's
    members, and two backups of one boot volume (OCI copies one at a time): each backup in the
    window ends with a copy or a reason the answer names."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    process = function()
    boot_volume = "ocid1.bootvolume.oc1.phx." + "b" * 60
    for kind, hours_ago in (("volume", 30), ("volume_group", 54), ("volume", 200)):
        seed_backup(emulator, compartment, kind, hours_ago)
    seed_backup(emulator, compartment, "volume", 78, copy_state="AVAILABLE")
    for hours_ago in (6, 7):
        seed_backup(emulator, compartment, "boot_volume", hours_ago, volume_id=boot_volume)

    step = _sweep(world, process)

    assert step.sweep is not None and step.sweep.enough_budget
    assert _broken(world, step) == {}
    assert promises.in_window(step.after, world.compartments, step.sweep.window_start)  # not vacuous
