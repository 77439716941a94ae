"""Reading a compartment's backups page by page, within the invocation's time, as the SDK's models.

The tenancy-wide passes read lean records instead (lean_listing.py, through scope_pass.py);
these are the few list calls that act on one backup (arrival.py's rank of one backup, the
expiry's proof that a copy is gone), and the model path of scope_pass.py's test-only switch.
One page in memory at a time, and a check of the time left before each request, so a run
stops cleanly before the platform kills it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..shared.context import Invocation
from ..shared.deadline import OutOfTime
from ..shared.kinds import KindSpec

# The largest page the List operations accept: "1 is the minimum, 1000 is the maximum" (Oracle's
# API reference for ListVolumeBackups, ListBootVolumeBackups, ListVolumeGroupBackups and Identity's
# ListCompartments, as its Private Cloud Appliance edition prints it; OCI's own edition renders the
# range in the browser, so there it is unconfirmed). A tenancy-wide read is mostly waiting on list calls: a page of a
# thousand is a tenth of the calls of the default hundred. Peak memory grows with it (one page
# per worker): docs/performance.md has the measured figure.
PAGE_SIZE = 1000
# Time a step (one list page, or one check and copy) needs; with less left, a run stops
# and answers rather than be killed mid-step.
STEP_SECONDS = 1.0


# Set while a worker reads one compartment of a scope (per_compartment.py): once the run has
# ended (its answer is being written, or it failed), the worker's next step stops. A context
# variable, not a field of the invocation, because the invocation is shared with the steps that
# act after the reading, which must not be stopped by the reading's end.
_run_ended: ContextVar[threading.Event | None] = ContextVar("run_ended", default=None)


@contextmanager
def stopping_when(ended: threading.Event) -> Iterator[None]:
    """Within this block, check_time() raises OutOfTime once `ended` is set."""
    token = _run_ended.set(ended)
    try:
        yield
    finally:
        _run_ended.reset(token)


def check_time(invocation: Invocation) -> None:
    ended = _run_ended.get()
    if invocation.deadline.remaining() < STEP_SECONDS or (ended is not None and ended.is_set()):
        raise OutOfTime()


def pages(
    clients: Any,
    invocation: Invocation,
    region: str,
    spec: KindSpec,
    compartment_id: str,
    order: str,
    **filters: str,
) -> Iterator[Any]:
    """Every backup of `spec`'s kind in the compartment, by creation time in `order` (ASC or DESC)."""
    list_call = getattr(clients.for_region(region), spec.list_operation)
    return paged(list_call, invocation, compartment_id, sort_by="TIMECREATED", sort_order=order, **filters)


def paged(list_call: Any, invocation: Invocation, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """Every item a paged List operation returns, PAGE_SIZE at a time, checking the time before each page."""
    page = None
    while True:
        check_time(invocation)
        call_kwargs: dict[str, Any] = {"limit": PAGE_SIZE, "retry_strategy": invocation.retry_strategy, **kwargs}
        if page:
            call_kwargs["page"] = page
        response = list_call(*args, **call_kwargs)
        items, page = response.data, response.headers.get("opc-next-page")
        # Let go of this page before the next is fetched: its items go one by one, as they are handed over.
        del response
        items.reverse()
        while items:
            yield items.pop()
        if not page:
            return
