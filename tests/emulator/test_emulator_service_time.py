"""Injected latency and switched-on throttling: a real region's service times and 429s, on loopback.

Concurrency is shown by counting requests in flight at once, never by timing them.
"""

from __future__ import annotations

import threading
import time

import oci
import pytest

from blockstorage_emulator import Emulator
from blockstorage_emulator.faults import LatencyPlan
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import COMPARTMENT_ID, ClientFactory, IdentityFactory

# Long enough that nothing finishes on its own while the test looks; clear_requests() ends it.
HELD = 30.0


def test_latency_applies_to_its_operation_and_star_to_block_storage_alone() -> None:
    plan = LatencyPlan()
    plan.set("list", 0.05)
    plan.set("*", 0.01)

    assert (plan.seconds("list"), plan.seconds("get"), plan.seconds("list_compartments")) == (0.05, 0.01, 0.0)
    plan.set("list_compartments", 0.02)
    plan.set("list", 0)
    assert (plan.seconds("list"), plan.seconds("list_compartments"), plan.seconds("post_metrics")) == (0.01, 0.02, 0)
    with pytest.raises(ValueError, match="operation must be one of"):
        plan.set("list_instances", 1)
    with pytest.raises(ValueError, match="negative"):
        plan.set("list", -1)


def test_a_list_takes_at_least_its_latency(
    emulator: Emulator, client: ClientFactory, identity: IdentityFactory
) -> None:
    emulator.set_latency("list", 0.05)
    emulator.set_latency("list_compartments", 0.05)

    for call in (
        lambda: client().list_volume_backups(COMPARTMENT_ID),
        lambda: identity().list_compartments(emulator.tenancy_id),
    ):
        started = time.monotonic()
        assert call().status == 200
        assert time.monotonic() - started >= 0.05


def test_slow_requests_are_served_at_the_same_time_and_hold_up_no_other(
    emulator: Emulator, client: ClientFactory, identity: IdentityFactory
) -> None:
    emulator.set_latency("list", HELD)
    emulator.set_latency("list_compartments", HELD)
    backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    statuses: list[int] = []
    calls = [
        lambda: client().list_volume_backups(COMPARTMENT_ID),
        lambda: client(DESTINATION_REGION).list_boot_volume_backups(COMPARTMENT_ID),
        lambda: client().list_volume_group_backups(COMPARTMENT_ID),
        lambda: identity().list_compartments(emulator.tenancy_id),
    ]
    threads = [threading.Thread(target=lambda call=call: statuses.append(call().status)) for call in calls]
    for thread in threads:
        thread.start()

    all_four_at_once = emulator.wait_for_in_flight(4, timeout=10)
    served_meanwhile = client().get_volume_backup(backup["id"]).status
    still_waiting = emulator.in_flight
    logged_meanwhile = [request.operation for request in emulator.requests]
    emulator.clear_requests()  # ends the held waits
    for thread in threads:
        thread.join(timeout=10)

    assert all_four_at_once
    assert served_meanwhile == 200
    assert still_waiting == 4
    assert logged_meanwhile == ["get"]
    assert statuses == [200] * 4


@pytest.mark.parametrize("service", ["blockstorage", "identity"])
def test_a_switched_on_call_rate_answers_429_past_it(
    emulator: Emulator,
    client: ClientFactory,
    identity: IdentityFactory,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
) -> None:
    calls = {
        "blockstorage": lambda: client().list_volume_backups(COMPARTMENT_ID),
        "identity": lambda: identity().list_compartments(emulator.tenancy_id),
    }
    other = calls["identity" if service == "blockstorage" else "blockstorage"]

    def status() -> int:
        try:
            return int(calls[service]().status)
        except oci.exceptions.ServiceError as error:
            return int(error.status)

    assert emulator.call_rate(service).limit is None  # off unless a test switches it on
    # Time held still: the calls fall in one second however slow the machine is.
    monkeypatch.setattr(emulator.call_rate(service), "clock", lambda: 1000.0)
    emulator.limit_call_rate(service, 3)

    assert [status() for _ in range(4)] == [200, 200, 200, 429]
    assert [other().status for _ in range(4)] == [200] * 4
    throttled = [request for request in emulator.requests if request.status == 429]
    assert [request.error_code for request in throttled] == ["TooManyRequests"]
    monkeypatch.setattr(emulator.call_rate(service), "clock", lambda: 1001.0)
    assert status() == 200
    emulator.clear_faults()
    assert emulator.call_rate(service).limit is None
    assert [status() for _ in range(4)] == [200] * 4


def test_call_rate_names_its_services(emulator: Emulator) -> None:
    assert emulator.call_rate("monitoring").limit == 50
    with pytest.raises(ValueError, match="service must be one of"):
        emulator.limit_call_rate("objectstorage", 1)
    with pytest.raises(ValueError, match="at least 1"):
        emulator.limit_call_rate("identity", 0)
