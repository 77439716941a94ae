"""Deleting what a drill restored, only as read and proven, never what is attached.

The caller has just read the resource (its ETag) and proven it a drill of this function
(marks.proof). Then, as the expiry pass does for copies (expire/deletion.py):
- a volume or boot volume attached to an instance (Compute's ListVolumeAttachments /
  ListBootVolumeAttachments, in its compartment) is left, and reported: an operator may be using
  it for a real recovery. An attachment from an instance in another compartment is not in that
  listing; OCI then refuses the delete with 409, which is reported the same way and marked on
  the resource (`backup-copier-drill-left`), so that no later pass sends that delete again (a 409
  IncorrectState, a refusal for the resource's state, is tried again by the next pass);
- the delete is sent with If-Match on the read's ETag: a resource changed since (412) waits for
  the next pass, and no 409 is retried;
- a volume group is deleted first, once each of its members carries the drill's mark (a group's
  create-request tags do not reach its members) and none is attached. Deleting a group leaves its
  volumes (Oracle: "Individual volumes are not deleted, only the volume group is deleted"), and a
  volume cannot be deleted while it is still in its group: each member is deleted by a later pass,
  once it has left the group, checked for the mark as any drill is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from oci import exceptions as oci_exceptions

from ..backups.listing import paged
from ..backups.marks import format_time
from ..shared.clients import BlockStorageClients, ComputeClients
from ..shared.context import Invocation
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.retries import is_retryable_except_409
from . import marks, tags
from .restored import GONE_STATES, Restored

# Attachment states in which the volume is held by its instance (VolumeAttachment.lifecycle_state).
HOLDING_STATES = frozenset({"ATTACHING", "ATTACHED", "DETACHING"})
LEFT_KEY = marks.PREFIX + "left"
# What the drill's permissions are called in the sentences that answer a refusal.
DRILL_STATEMENTS = "the drill's statements (docs/drills.md, 'IAM')"

Done = Literal["deleted", "gone", "attached", "refused", "changed", "waiting", "failed"]


@dataclass(frozen=True)
class Ending:
    done: Done
    reason_code: str | None = None
    reason: str | None = None


@dataclass
class Teardown:
    clients: BlockStorageClients
    compute: ComputeClients
    invocation: Invocation

    def volume(self, drill: Restored) -> Ending:
        """Delete a proven volume or boot volume (a drill's own, or a member that has left its group)."""
        if LEFT_KEY in drill.tags:
            return self._left(drill)
        held = self._held(drill, drill, "so it is left as it is")
        return held or self._delete(drill)

    def group(self, group: Restored, members: Sequence[Restored]) -> Ending:
        """Delete a proven volume group once every member is marked and none is attached; members stay."""
        if LEFT_KEY in group.tags:
            return self._left(group)
        unmarked = [member.id for member in members if marks.read_mark(member.tags) is None]
        if unmarked:
            return Ending(
                "waiting",
                "MembersUnmarked",
                f"{len(unmarked)} of its volumes do not carry the drill's mark yet, so the group is kept until they "
                "do (deleting it first would leave volumes nothing proves are the drill's)",
            )
        for member in members:
            held = self._held(
                member, group, f"so the group and its volumes are left as they are (its volume {member.id})"
            )
            if held:
                return held
        return self._delete(group)

    def _held(self, volume: Restored, drill: Restored, left: str) -> Ending | None:
        """An Ending when `volume` is attached (or its attachments cannot be read): `drill` is then left."""
        try:
            holder = self.attached_to(volume)
        except SERVICE_FAILURES as error:
            return self._failed(error, f"list the attachments of {volume.id}", drill)
        if holder is None:
            return None
        return Ending(
            "attached",
            "LeftAttached",
            f"attached to instance {holder}, {left}: someone may be using it for a real recovery. Detach it to let "
            "a later pass delete it, or remove its backup-copier-drill-function tag to keep it",
        )

    def attached_to(self, volume: Restored) -> str | None:
        """The instance holding the volume, from Compute's listing of the volume's compartment; None if none."""
        restore = volume.spec.restore
        if restore.attachments_operation is None or restore.attachments_filter is None:
            return None
        filters: dict[str, str] = {"compartment_id": volume.compartment_id, restore.attachments_filter: volume.id}
        if restore.attachments_operation == "list_boot_volume_attachments":
            filters["availability_domain"] = volume.availability_domain
        listing = getattr(self.compute.for_region(volume.region), restore.attachments_operation)
        for attachment in paged(listing, self.invocation, **filters):
            if attachment.lifecycle_state in HOLDING_STATES:
                return str(attachment.instance_id)
        return None

    def _delete(self, drill: Restored) -> Ending:
        client = self.clients.for_region(drill.region)
        strategy = self.invocation.retrying_only(is_retryable_except_409).retry_strategy
        try:
            getattr(client, drill.spec.restore.delete_operation)(drill.id, if_match=drill.etag, retry_strategy=strategy)
            return Ending("deleted")
        except oci_exceptions.ServiceError as error:
            if error.status == 412:
                return Ending("changed", "ChangedSinceRead", "it changed between its read and its delete: next pass")
            if error.status in (404, 409):
                return self._after_refusal(client, drill, error)
            return self._failed(error, f"delete {drill.id}", drill)
        except SERVICE_FAILURES as error:
            return self._failed(error, f"delete {drill.id}", drill)

    def _after_refusal(self, client: Any, drill: Restored, error: oci_exceptions.ServiceError) -> Ending:
        """A 404 or 409 on the delete: gone (another pass deleted it), or refused. A 404 on what was just
        read is a missing permission; a 409 is OCI holding it (attached from another compartment)."""
        try:
            fresh = getattr(client, drill.spec.restore.get_operation)(
                drill.id, retry_strategy=self.invocation.retry_strategy
            ).data
        except oci_exceptions.ServiceError as again:
            if again.status == 404:
                return Ending("gone")
            return self._failed(error, f"delete {drill.id}", drill)
        except SERVICE_FAILURES:
            return self._failed(error, f"delete {drill.id}", drill)
        if fresh.lifecycle_state in GONE_STATES:
            return Ending("gone")
        if error.status == 404:
            return self._failed(error, f"delete {drill.id}", drill)
        if error.code == "IncorrectState":
            # Refused for its state (a restore still running past the timeout, say): not held by anyone,
            # so the next pass sends the delete again. Whether OCI refuses one is unconfirmed.
            return Ending(
                "waiting",
                "DeleteRefused",
                f"OCI refused its delete while it is {fresh.lifecycle_state} (409 IncorrectState); the next pass "
                "tries again",
            )
        moment = format_time(marks.utc_now())
        note = f"{moment} {error.code}"
        try:
            tags.merge_tags(
                client,
                drill.operations,
                drill.id,
                lambda current: {**marks.tags_of(current), LEFT_KEY: note},
                self.invocation,
            )
            written = f"; {LEFT_KEY} now says so, and no pass sends its delete again (remove that tag to let one)"
        except (*SERVICE_FAILURES, tags.TagsChanging):
            written = ""
        return Ending(
            "refused",
            "LeftAttached",
            f"OCI refused its delete: 409 {error.code} ({str(error.message or '')[:200]}), most likely attached to an "
            f"instance in another compartment, which the attachment listing of its own cannot show. It is left as it "
            f"is{written}",
        )

    def _left(self, drill: Restored) -> Ending:
        return Ending(
            "refused",
            "LeftAttached",
            f"OCI refused its delete earlier ({LEFT_KEY}: {drill.tags[LEFT_KEY]}), so no pass sends it again; remove "
            "that tag to let the next pass try, or delete it by hand once it is free",
        )

    def _failed(self, error: BaseException, action: str, drill: Restored) -> Ending:
        verdict = verdict_for(
            error,
            action=action,
            region=drill.region,
            refused=f"The function's dynamic group lacks a permission the drill needs there: add {DRILL_STATEMENTS}.",
        )
        return Ending("failed", verdict.reason_code, verdict.reason)
