"""Changing the freeform tags of a copy or a drill resource without losing anyone else's.

OCI replaces the whole map on update, so every write reads the resource's tags and ETag, merges,
and updates with If-Match; a 412 (changed in between) reads and merges again. As for the copy's
mark (backups/marker.py), the write gets a few seconds of the invocation, retries included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oci import exceptions as oci_exceptions

from ..shared.context import Invocation
from ..shared.kinds import KindSpec

WRITE_SECONDS = 10.0
_ETAG_ATTEMPTS = 3


class TagsChanging(Exception):
    """The tags kept changing between the read and the update."""


@dataclass(frozen=True)
class Operations:
    """How one kind of resource is read and updated: the SDK's method names and details class."""

    get: str
    update: str
    details_class: str

    @classmethod
    def of_copy(cls, spec: KindSpec) -> Operations:
        return cls(spec.get_operation, spec.update_operation, spec.update_details_class)

    @classmethod
    def of_restored(cls, spec: KindSpec) -> Operations:
        restore = spec.restore
        return cls(restore.get_operation, restore.update_operation, restore.update_details_class)


def merge_tags(
    client: Any,
    operations: Operations,
    resource_id: str,
    change: Callable[[Any], dict[str, str]],
    invocation: Invocation,
    known: tuple[Any, str | None] | None = None,
) -> tuple[Any, str | None]:
    """Update the resource's freeform tags to change(current model); return the model as written, and its ETag.

    `known` is the resource as just read (its model and ETag), which saves the first read. change()
    returns; a ServiceError other than 412 is the caller's to answer.
    """
    # Deferred for cold start, as in shared/clients.py: importing this module must not load oci.core.
    from oci.core import models

    within = invocation.within(WRITE_SECONDS)
    current = known
    for _ in range(_ETAG_ATTEMPTS):
        if current is None:
            read = getattr(client, operations.get)(resource_id, retry_strategy=within.retry_strategy)
            current = (read.data, read.headers.get("etag"))
        model, etag = current
        details = getattr(models, operations.details_class)(freeform_tags=change(model))
        kwargs: dict[str, Any] = {"retry_strategy": within.retry_strategy}
        if etag:
            kwargs["if_match"] = etag
        try:
            written = getattr(client, operations.update)(resource_id, details, **kwargs)
            return written.data, written.headers.get("etag")
        except oci_exceptions.ServiceError as error:
            if error.status != 412:
                raise
            current = None
    raise TagsChanging(f"the tags of {resource_id} changed {_ETAG_ATTEMPTS} times while being merged")
