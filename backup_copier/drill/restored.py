"""A volume, boot volume or volume group as the drill sees it: the few fields of the SDK's model it needs.

Kept small, since a pass holds every drill of its scope until it acts; read from a listing or
from a fresh Get, whose ETag then comes with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from . import marks
from .tags import Operations, merge_tags

# Volume.lifecycle_state, BootVolume.lifecycle_state and VolumeGroup.lifecycle_state (SDK 2.189): a
# restore is PROVISIONING, then (not a group) RESTORING; a group may also be UPDATE_PENDING.
GONE_STATES = frozenset({"TERMINATING", "TERMINATED"})
AVAILABLE = "AVAILABLE"
FAULTY = "FAULTY"


@dataclass(frozen=True)
class Restored:
    spec: KindSpec
    id: str
    region: str
    compartment_id: str
    availability_domain: str
    state: str
    size_in_gbs: int | None
    hydrated: bool
    # The backup its sourceDetails name; None for a resource that was not restored from one.
    source_backup_id: str | None
    # A volume or boot volume in a group: the group's OCID.
    group_id: str | None
    tags: dict[str, str]
    # A volume group's volumes and boot volumes.
    member_ids: tuple[str, ...] = ()
    etag: str | None = field(default=None, compare=False)

    @classmethod
    def of(cls, spec: KindSpec, region: str, model: Any, etag: str | None = None) -> Restored:
        source = getattr(model, "source_details", None)
        return cls(
            spec=spec,
            id=model.id,
            region=region,
            compartment_id=model.compartment_id,
            availability_domain=model.availability_domain,
            state=str(model.lifecycle_state),
            size_in_gbs=getattr(model, "size_in_gbs", None),
            hydrated=bool(getattr(model, "is_hydrated", False)),
            source_backup_id=getattr(source, spec.restore.source_id_attribute, None) if source else None,
            group_id=getattr(model, "volume_group_id", None),
            tags=dict(marks.tags_of(model)),
            member_ids=tuple(getattr(model, "volume_ids", None) or ()),
            etag=etag,
        )

    @property
    def mark(self) -> marks.DrillMark | None:
        return marks.read_mark(self.tags)

    @property
    def operations(self) -> Operations:
        return Operations.of_restored(self.spec)

    @property
    def kind(self) -> str:
        return self.spec.kind.value

    @property
    def is_member(self) -> bool:
        mark = self.mark
        return mark is not None and mark.group_id is not None

    def started(self) -> datetime | None:
        mark = self.mark
        return mark.started if mark else None


def write_mark(
    clients: BlockStorageClients, resource: Restored, mark: marks.DrillMark, invocation: Invocation
) -> Restored:
    """The whole mark written on `resource` (its other tags kept, merged with If-Match): the resource as
    written, with its new ETag. Raises what the update raised (tags.TagsChanging, a service failure)."""
    written, etag = merge_tags(
        clients.for_region(resource.region),
        resource.operations,
        resource.id,
        lambda current: marks.rewritten_tags(marks.tags_of(current), mark),
        invocation,
    )
    return Restored.of(resource.spec, resource.region, written, etag)
