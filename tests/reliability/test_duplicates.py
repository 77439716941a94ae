"""At-least-once delivery: redelivered and concurrent events end with exactly one copy."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, FunctionFactory, event_for
from tests.reliability.conftest import count_copies, deliver

CONTAINERS = 3


@pytest.fixture(scope="module")
def containers(emulator: Emulator, principal: ResourcePrincipal) -> Iterator[list[FunctionProcess]]:
    """Several function containers behind the same emulator, as OCI scales a busy function."""
    environment = {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
    }
    processes = [FunctionProcess(environment).start() for _ in range(CONTAINERS)]
    yield processes
    for process in processes:
        process.stop()


def test_sequential_redelivery_makes_one_copy(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("boot_volume")
    outcomes = [
        deliver(function(), event_for("boot_volume", backup["id"]), duplicate=attempt > 0)[1]["outcome"]
        for attempt in range(5)
    ]
    assert outcomes == ["copied"] + ["already_copied"] * 4
    count_copies(emulator, [backup["id"]], DESTINATION_REGION)
    assert len(emulator.copies_of(backup["id"])) == 1


@pytest.mark.parametrize("kind", ["volume", "boot_volume", "volume_group"])
def test_concurrent_redelivery_across_containers_makes_one_copy(
    kind: str, emulator: Emulator, containers: list[FunctionProcess], new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup(kind)
    event = event_for(kind, backup["id"])
    start = threading.Barrier(len(containers) * 2)

    def deliver_when_all_ready(index: int) -> dict[str, Any]:
        start.wait()
        return deliver(containers[index % len(containers)], event, duplicate=index > 0)[1]

    with ThreadPoolExecutor(len(containers) * 2) as pool:
        results = list(pool.map(deliver_when_all_ready, range(len(containers) * 2)))

    copies = emulator.copies_of(backup["id"], DESTINATION_REGION)
    assert len(copies) == 1
    assert {r["outcome"] for r in results} <= {"copied", "already_copied"}
    assert {r["copies"][0]["copyId"] for r in results} == {copies[0]["id"]}
    count_copies(emulator, [backup["id"]], DESTINATION_REGION)


def test_burst_under_the_copy_limit(
    emulator: Emulator, containers: list[FunctionProcess], new_backup: Callable[..., dict[str, Any]]
) -> None:
    """100+ distinct backups, each delivered twice, over several containers, against the
    10-in-flight limit while copies keep finishing in the background."""
    emulator.copy_limit = 10
    kinds = ["volume", "volume_group"] * 60
    backups = [new_backup(kind) for kind in kinds]
    deliveries = [(kind, b["id"], repeat) for repeat in (False, True) for kind, b in zip(kinds, backups, strict=True)]
    finished = threading.Event()

    def copies_keep_finishing() -> None:
        # Only once the limit has refused a copy: on a slow machine, finishing copies from the
        # start could keep fewer than 10 in flight, and the burst would test nothing.
        while not finished.wait(0.3):
            if any(request.error_code == "LimitExceeded" for request in emulator.requests):
                emulator.complete_copies()

    def send(index: int) -> dict[str, Any]:
        kind, backup_id, repeat = deliveries[index]
        return deliver(
            containers[index % len(containers)], event_for(kind, backup_id), deadline_seconds=8, duplicate=repeat
        )[1]

    finisher = threading.Thread(target=copies_keep_finishing, daemon=True)
    finisher.start()
    try:
        with ThreadPoolExecutor(len(containers) * 2) as pool:
            results = list(pool.map(send, range(len(deliveries))))
    finally:
        finished.set()
        finisher.join()

    by_backup: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_backup.setdefault(result["backupId"], []).append(result)
    for backup in backups:
        made = emulator.copies_of(backup["id"], DESTINATION_REGION)
        answers = by_backup[backup["id"]]
        assert len(made) <= 1
        if not made:
            # No copy is only acceptable with a failed answer that names the limit.
            assert all(a["outcome"] == "failed" and a["reasonCode"] == "LimitExceeded" for a in answers), answers
    limit_hits = sum(1 for r in emulator.requests if r.error_code == "LimitExceeded")
    assert limit_hits > 0, "the burst never reached the copy limit: it tested nothing"
    count_copies(emulator, [b["id"] for b in backups], DESTINATION_REGION)
