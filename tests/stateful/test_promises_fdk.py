"""Each of the machine's promises (world.py's six, drills.py's five) on its key scenario, through the real fdk socket.

The machine (test_machine.py) runs the handler in this process for speed; these run the function
as it is deployed, one fdk process per settings (a coordinator and its children's containers for
fan-out), and check each step with the same code, from the emulator's own records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FunctionProcess
from tests.drill import support as drill_support
from tests.fan_out.support import children, containers, fan_out_settings
from tests.fan_out.support import invoke as invoke_coordinator
from tests.helpers import (
    DESTINATION_REGION,
    MARK_COPY,
    MARK_EXPIRES,
    NOW,
    SOURCE_REGION,
    FunctionFactory,
    event_for,
    new_compartment,
    seed_backup,
    seed_copy,
)
from tests.stateful import drills
from tests.stateful import world as promises
from tests.stateful.drills import DrillRun, DrillWorld
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


def _sweep(world: World, process: FunctionProcess, max_copies: int = 10, **settings: str) -> Step:
    compartments = list(world.compartments)
    body = {"action": "reconcile", "compartmentIds": compartments, "sinceHours": 168, "maxCopies": max_copies}
    if len(compartments) == 1:
        body = {"action": "reconcile", "compartmentId": compartments[0], "sinceHours": 168, "maxCopies": max_copies}
    before = world.begin()
    started = datetime.now(UTC)
    answer = process.invoke(body, deadline_seconds=60).json()
    check = world.sweep_check(before, [(body, answer)], started, settings)
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


def test_each_volume_s_newest_tagged_backup_reaches_every_region(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 6: REQUIRED_FREEFORM_TAG=dr-copy=true and COPY_RETENTION_DAYS_US_ASHBURN_1=1, and a volume
    backed up daily but tagged for DR now and then: tagged 78 and 54 hours ago, untagged 30 and 6. Each
    tagged backup's copy would be past its expiry on arrival; the newer is copied all the same, since
    keep-last keeps it (the untagged ones are never copies, so they outrank nothing); the older is skipped."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    required_tag = "dr-copy=true"
    settings = {"COPY_RETENTION_DAYS_US_ASHBURN_1": "1", "REQUIRED_FREEFORM_TAG": required_tag}
    process = function(**settings)
    volume = "ocid1.volume.oc1.phx." + "t" * 60
    older, newest_tagged, *_ = (
        emulator.add_backup(
            "volume",
            SOURCE_REGION,
            compartment,
            time_created=NOW - timedelta(hours=hours_ago),
            volume_id=volume,
            freeform_tags=tags,
        )
        for hours_ago, tags in ((78, {"dr-copy": "true"}), (54, {"dr-copy": "true"}), (30, {}), (6, {}))
    )

    step = _sweep(world, process, **settings)

    assert step.sweep is not None and step.sweep.enough_budget
    assert _broken(world, step) == {}
    # Not vacuous: the promise looked at the newest tagged backup, which now has its copy; the older has none.
    newest = promises.newest_copied(step.after, world.compartments, 1, required_tag)
    assert [backup["id"] for backup in newest] == [newest_tagged["id"]]
    assert len(emulator.copies_of(newest_tagged["id"], DESTINATION_REGION)) == 1
    assert emulator.copies_of(older["id"]) == []


# The drill's five promises (drills.py): the function creates every drill here, over passes, as the
# machine's drills are; what an operator makes is seeded straight into the emulator.


def _drill_world(emulator: Emulator, compartment: str) -> DrillWorld:
    return DrillWorld(emulator, (compartment,), (DESTINATION_REGION,), function_id=drill_support.FUNCTION_ID)


def _drill(world: DrillWorld, process: FunctionProcess, name: str, **fields: Any) -> Step:
    """One drill pass over the world's compartment, judged as the machine judges one."""
    (compartment,) = world.compartments
    body = {"action": "drill", "compartmentId": compartment, **fields}
    before = world.begin()
    answer = drill_support.drill_pass(process, compartment, **fields)
    run = DrillRun(body, answer, world.compartments, world.destinations, int(fields.get("maxRestores", 2)), False)
    return world.end(name, before, run=run)


def _started(step: Step) -> list[dict[str, Any]]:
    volumes = step.volumes
    return [resource for resource_id, resource in volumes.after.items() if resource_id not in volumes.before]


def _drills_broken(world: DrillWorld, *steps: Step) -> dict[str, dict[str, list[str]]]:
    """The drill's promises and the six others each step broke, by step: {} when every one held."""
    found = {
        f"{number} {step.name}": {**promises.check_all(step, world), **drills.check_all(step, world)}
        for number, step in enumerate(steps, 1)
    }
    return {name: broken for name, broken in found.items() if broken}


def test_a_drill_deletes_only_what_it_created_marked_and_proves(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 6: a volume's drill, beside a clone of it, a restore of its copy by hand carrying its
    mark whole and without its resource key, and another deployment's mark: the drill alone is deleted."""
    compartment = new_compartment()
    world = _drill_world(emulator, compartment)
    process = drill_support.drill_function(emulator, function)
    copy = seed_copy(emulator, compartment, "volume")[1]
    steps = [_drill(world, process, "pass 1", maxRestores=1)]
    [drill] = _started(steps[0])
    tags = emulator.volume(drill["id"])["freeformTags"]
    unbound = {k: v for k, v in tags.items() if k != drill_support.DRILL_RESOURCE}
    theirs = {**tags, drill_support.DRILL_FUNCTION: drill_support.OTHER_FUNCTION_ID}
    for source, carried in (
        ({"type": "volume", "id": drill["id"]}, tags),
        ({"type": "volumeBackup", "id": copy["id"]}, tags),
        ({"type": "volumeBackup", "id": copy["id"]}, unbound),
        ({"type": "volumeBackup", "id": copy["id"]}, theirs),
    ):
        emulator.add_volume("volume", DESTINATION_REGION, compartment, source_details=source, freeform_tags=carried)
    emulator.finish_restores()
    steps.append(_drill(world, process, "pass 2", maxRestores=1))

    assert _drills_broken(world, *steps) == {}
    assert drill_support.deletes(emulator) == [drill["id"]]  # the check looked at a deletion


def test_a_drill_attached_is_never_deleted_nor_its_refused_delete_sent_again(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Promise 7: two drills, one attached from its own compartment (no delete is sent), one from another
    (OCI refuses the delete with 409 Conflict once; the next pass does not send it again)."""
    compartment = new_compartment()
    world = _drill_world(emulator, compartment)
    process = drill_support.drill_function(emulator, function)
    for kind in ("volume", "boot_volume"):
        seed_copy(emulator, compartment, kind)
    steps = [_drill(world, process, "pass 1", maxRestores=2)]
    here, elsewhere = sorted(_started(steps[0]), key=lambda r: r["id"].split(".")[1])
    emulator.finish_restores()
    emulator.attach(here["id"])
    emulator.attach(elsewhere["id"], compartment_id=new_compartment())
    steps += [_drill(world, process, "pass 2", maxRestores=2), _drill(world, process, "pass 3", maxRestores=2)]

    assert _drills_broken(world, *steps) == {}
    refused = [r for step in steps for r in step.requests if r.operation.startswith("delete_")]
    assert [(promises.resource_id(r), r.status) for r in refused] == [(elsewhere["id"], 409)]


def test_max_restores_holds_across_the_scope_after_a_pass(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 8: three volumes and maxRestores 2; one drill finishes, the next pass ends it and starts one."""
    compartment = new_compartment()
    world = _drill_world(emulator, compartment)
    process = drill_support.drill_function(emulator, function)
    for _ in range(3):
        seed_copy(emulator, compartment, "volume")
    steps = [_drill(world, process, "pass 1", maxRestores=2)]
    emulator.finish_restores(_started(steps[0])[0]["id"])
    steps.append(_drill(world, process, "pass 2", maxRestores=2))

    assert _drills_broken(world, *steps) == {}
    assert run_of(steps[-1]) and len(drills.in_flight(steps[-1].volumes, world, run_of(steps[-1]))) == 2


def test_a_sweep_an_expiry_pass_and_a_dry_run_leave_drills_alone(emulator: Emulator, function: FunctionFactory) -> None:
    """Promise 9: a drill in flight whose copy expires: the expiry pass deletes the copy, and neither it,
    a sweep nor a dry-run pass sends a volume a write (the dry run sends nothing but reads)."""
    compartment = new_compartment()
    world = _drill_world(emulator, compartment)
    process = drill_support.drill_function(emulator, function)
    copy = seed_copy(emulator, compartment, "volume", hours_ago=54, expires=NOW - timedelta(hours=1), volume_id=VOLUME)[
        1
    ]
    steps = [_drill(world, process, "pass", maxRestores=1)]
    # A newer copy of the volume arrives: the drilled one is no longer among the newest, and it is due.
    seed_copy(emulator, compartment, "volume", hours_ago=30, volume_id=VOLUME)
    emulator.finish_restores()
    steps.append(_run(world, process, "expiry pass", {"action": "expire", "compartmentId": compartment}))
    steps.append(_sweep(world, process))
    before = world.begin()
    body = {"action": "drill", "compartmentId": compartment, "dryRun": True}
    answer = drill_support.drill_pass(process, compartment, dryRun=True)
    steps.append(
        world.end("dry run", before, run=DrillRun(body, answer, world.compartments, world.destinations, 2, True))
    )

    assert _drills_broken(world, *steps) == {}
    assert emulator.backup(copy["id"])["lifecycleState"] == "TERMINATING"  # the copy being drilled expired
    assert [e["state"] for e in answer["drills"]] == ["passed"] and answer["drills"][0]["deleted"] is False


def test_drills_end_once_restores_finish_whatever_became_of_their_copies(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Promise 10: a volume's drill whose copy expired, and a volume group's drill: restores finish, two
    passes later both are deleted, the group's volumes too."""
    compartment = new_compartment()
    world = _drill_world(emulator, compartment)
    process = drill_support.drill_function(emulator, function)
    seed_copy(emulator, compartment, "volume", hours_ago=54, expires=NOW - timedelta(hours=1), volume_id=VOLUME)
    seed_copy(emulator, compartment, "volume_group")
    steps = [_drill(world, process, "pass", maxRestores=2)]
    seed_copy(emulator, compartment, "volume", hours_ago=30, volume_id=VOLUME)
    steps.append(_run(world, process, "expiry pass", {"action": "expire", "compartmentId": compartment}))
    emulator.finish_deletions()
    before = world.begin()
    emulator.finish_restores()
    answers = []
    for _ in range(2):
        answers.append(drill_support.drill_pass(process, compartment, maxRestores=2))
        emulator.finish_deletions()
    body = {"action": "drill", "compartmentId": compartment, "maxRestores": 2}
    run = DrillRun(body, answers[-1], world.compartments, world.destinations, 2, False, earlier=tuple(answers[:-1]))
    steps.append(world.end("drills settle", before, run=run, settled=True))

    assert _drills_broken(world, *steps) == {}
    assert [promises.resource_id(r) for r in steps[1].requests if r.operation == "delete"] != []  # a copy expired
    ended = [world.created[i] for i, r in steps[-1].volumes.after.items() if r["lifecycleState"] == "TERMINATED"]
    assert sorted(ended) == ["drill", "drill", "member", "member"]  # the check looked at drills that ended


def run_of(step: Step) -> DrillRun | None:
    return step.volumes.run if step.volumes else None
