"""Writing the mark: onto a copy just made (or one the source's record names), and the records onto the source.

All are updates of freeform tags, which OCI replaces whole: each reads the backup's
current tags and ETag, merges, and sends the update with If-Match, so a tag an operator
adds at the same moment is never overwritten (a 412 means: read again and merge again).
A refusal (409 while the copy is being created, 429, 5xx) is retried, but only for
MARK_SECONDS: a copy takes minutes to hours, and the answer must not wait for it.

The source carries two records, each per destination region: the copy made of it (written
with the mark), and the copy the expiry pass deleted (record_expiry, written by the expiry pass
after the deletion; backups/expired.py reads it).

Whether a copy's mark may be written at all is decided on that same fresh read, by
marks.may_repair (or marks.may_mark_new_copy for the copy just made): a copy that carries
any of the mark's keys is left as it is, whatever a listing minutes earlier said.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oci import exceptions as oci_exceptions

from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from ..shared.metrics import COPY_MARK_FAILURES, Metric
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.retention import RetentionRule
from . import marks
from .states import GONE_STATES

# Time one mark may take, retries included; what is left goes to the other destinations.
MARK_SECONDS = 10.0
# Reads and merges after a 412 before giving up: only a tag war would need more.
_ETAG_ATTEMPTS = 3


@dataclass(frozen=True)
class MarkResult:
    marked: bool
    expires: datetime | None
    reason_code: str | None = None
    reason: str | None = None
    # The copy's tags were found not to be this function's to write, and left as they were.
    left_alone: bool = False

    @classmethod
    def as_found(cls, reading: marks.MarkReading) -> MarkResult:
        """A copy whose tags the function leaves alone, as its tags read."""
        if reading.mark is not None:
            return cls(True, reading.mark.expires, left_alone=True)
        if reading.problem is None:
            return cls(
                False,
                None,
                "NotMarked",
                "nothing records this copy as this function's (made by hand or by a backup policy, or its mark "
                "and its record both failed); it is never deleted",
                left_alone=True,
            )
        return cls(
            False,
            None,
            "MarkInvalid",
            f"{reading.problem}. The function never rewrites the tags of a copy that carries any of its mark "
            "keys, and the expiry pass keeps it; to let it expire, put the whole mark back by hand "
            "(docs/retention.md).",
            left_alone=True,
        )

    @classmethod
    def dry_run(cls) -> MarkResult:
        """A dry run writes no mark, and that is no failure: {"marked": false}."""
        return cls(False, None, left_alone=True)

    @property
    def failed(self) -> bool:
        """The mark was to be written and could not be (update refused, tags changing): not a copy left alone."""
        return not self.marked and not self.left_alone and self.reason_code is not None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"marked": self.marked}
        if self.marked or not self.left_alone:
            # The expiry it carries, or the one it was to be marked with.
            body["expires"] = marks.format_time(self.expires) if self.expires else marks.NEVER
        if self.reason_code:
            body["markReasonCode"] = self.reason_code
            body["markReason"] = self.reason
        return body


def mark_failure_counts(by_region: Mapping[str, int], compartment_id: str) -> list[Metric]:
    """copy_mark_failures: how many copies into each destination region could not be marked, posted into
    the source backups' compartment, where the deploy kit's alarm reads its sum (recovery_point.py).
    Only counts above zero: an invocation that marked every copy posts nothing."""
    return [
        Metric(COPY_MARK_FAILURES, {"destinationRegion": region}, count, compartment_id=compartment_id)
        for region, count in sorted(by_region.items())
        if count
    ]


class _Stale(Exception):
    """The backup's ETag kept changing under us."""


class _LeftAlone(Exception):
    """The backup as read is not this function's to mark (marks.may_repair): nothing is written."""

    def __init__(self, found: Any) -> None:
        super().__init__()
        self.found = found


# A backup as last read or written (its SDK model), and the ETag that came with it.
Known = tuple[Any, str | None]
# What to send, given the backup as it stands: the keyword arguments of Update*BackupDetails.
Changes = Callable[[Any], dict[str, Any]]


@dataclass
class Marker:
    """Marks the copies of one source backup; remembers the source's tags and ETag between destinations."""

    spec: KindSpec
    clients: BlockStorageClients
    invocation: Invocation
    # Settings.retention_for: each destination region's copies get that region's rule.
    retention_for: Callable[[str], RetentionRule]
    # MARK_DEFINED_TAG as (namespace, key): the mark also sets it, for IAM conditions to test.
    defined_tag: tuple[str, str] | None = None
    # The source as last read or written (None: read it first), so that recording a copy
    # costs one update, not a read and an update.
    source_known: Known | None = None

    def mark_new_copy(
        self, source: Any, source_region: str, region: str, copy: Any, copy_etag: str | None
    ) -> MarkResult:
        """Record the copy on its source, then mark the copy; either may fail without undoing the copy."""
        mark = marks.mark_for(copy.id, source, self.spec, self.retention_for(region))
        recorded, self.source_known = self._try(
            source_region,
            source.id,
            lambda current: {"freeform_tags": marks.recorded_tags(current.freeform_tags, region, copy.id)},
            self.source_known,
        )
        result = self._mark(region, mark, (copy, copy_etag) if copy_etag else None, marks.may_mark_new_copy)
        if result.marked or result.left_alone or recorded is None:
            return result
        # Neither write went through: nothing in OCI says this function made the copy.
        return MarkResult(
            False,
            mark.expires,
            result.reason_code,
            f"{result.reason} Recording the copy on its source failed too ({recorded[1]}), so no later run can "
            f"tell this function made it: it will never be deleted; tag it by hand (docs/retention.md) to let it expire.",
        )

    def repair(self, source: Any, region: str, copy_id: str) -> MarkResult:
        """Mark a copy that the source's record names as this function's, but that carries none of
        the mark's keys yet (marks.may_repair, checked on a fresh read): its expiry is decided now,
        by the rule in force now. Any other copy is left as it is (left_alone)."""
        mark = marks.mark_for(copy_id, source, self.spec, self.retention_for(region))
        return self._mark(region, mark, None, lambda current: marks.may_repair(current, self.spec, source, region))

    def _mark(self, region: str, mark: marks.Mark, known: Known | None, allowed: Callable[[Any], bool]) -> MarkResult:
        def changes(current: Any) -> dict[str, Any]:
            if not allowed(current):
                raise _LeftAlone(current)
            return self._mark_changes(current, mark)

        try:
            problem, _ = self._try(region, mark.copy_id, changes, known)
        except _LeftAlone as left:
            return MarkResult.as_found(marks.read_mark(left.found, self.spec))
        if problem is None:
            return MarkResult(True, mark.expires)
        code, sentence = problem
        return MarkResult(
            False,
            mark.expires,
            code,
            f"the copy was made but not marked ({sentence}), so it will not expire yet; the next reconcile sweep "
            "marks it, and an unmarked copy is never deleted.",
        )

    def _mark_changes(self, current: Any, mark: marks.Mark) -> dict[str, Any]:
        changes: dict[str, Any] = {"freeform_tags": marks.marked_tags(current.freeform_tags, mark)}
        if self.defined_tag:
            # Defined tags are replaced whole too: every namespace already there is kept.
            namespace, key = self.defined_tag
            defined = {name: dict(values) for name, values in (current.defined_tags or {}).items()}
            defined.setdefault(namespace, {})[key] = marks.DEFINED_TAG_VALUE
            changes["defined_tags"] = defined
        return changes

    def _try(
        self, region: str, backup_id: str, changes: Changes, known: Known | None
    ) -> tuple[tuple[str, str] | None, Known | None]:
        return merge_tags(self.spec, self.clients, self.invocation, region, backup_id, changes, known)


# Why a tag update did not go through: (reason code, sentence).
Problem = tuple[str, str]


def merge_tags(
    spec: KindSpec,
    clients: BlockStorageClients,
    invocation: Invocation,
    region: str,
    backup_id: str,
    changes: Changes,
    known: Known | None,
) -> tuple[Problem | None, Known | None]:
    """Update the backup with changes(current), within MARK_SECONDS: (None, what was written) when
    done, else ((code, sentence), None). The one tag write of the function's marks and records."""
    bounded = invocation.within(MARK_SECONDS)
    client = clients.for_region(region)
    current = known
    try:
        for _ in range(_ETAG_ATTEMPTS):
            if current is None:
                read = getattr(client, spec.get_operation)(backup_id, retry_strategy=bounded.retry_strategy)
                current = (read.data, read.headers.get("etag"))
            model, etag = current
            try:
                written = _update(spec, client, backup_id, changes(model), etag, bounded)
            except oci_exceptions.ServiceError as error:
                if error.status != 412:
                    raise
                current = None  # changed since read: read again and merge again
                continue
            return None, (written.data, written.headers.get("etag"))
        raise _Stale()
    except _LeftAlone:
        raise
    except _Stale:
        return ("TagsChanging", f"the tags of {backup_id} changed {_ETAG_ATTEMPTS} times while being merged"), None
    except Exception as error:  # the copy is made (or deleted) whatever happens here: never fail its answer
        return _refused(error, spec, region, backup_id), None


def _refused(error: BaseException, spec: KindSpec, region: str, backup_id: str) -> Problem:
    # Not "run the check": it cannot prove an update without writing one.
    refused = (
        f"The backup was deleted, or the function's dynamic group lacks {spec.update_permission} in "
        f"{region}: add the mark statements of `.venv/bin/python -m backup_copier.deploy_kit policies`."
    )
    verdict = verdict_for(error, action=f"tag {backup_id} in {region}", region=region, refused=refused)
    return verdict.reason_code, verdict.reason


def record_expiry(
    spec: KindSpec,
    clients: BlockStorageClients,
    invocation: Invocation,
    source_region: str,
    source_id: str,
    region: str,
    copy_id: str,
) -> Problem | None:
    """Record on the source backup that the expiry pass deleted its copy `copy_id` in `region`
    (backup-copier-expired-in-<region>; expired.py is the rule that reads it). None when written,
    or when there is no source to write on; else why not, for the expiry pass's answer.

    A source that reads 404 is taken as gone, with nothing left to copy: the same dynamic group
    reads source backups on every copy and sweep, and the preflight check proves it may. A 404 on
    the update itself, after that read, is a refusal (UPDATE missing in the source region), said so.
    """
    bounded = invocation.within(MARK_SECONDS)
    try:
        read = getattr(clients.for_region(source_region), spec.get_operation)(
            source_id, retry_strategy=bounded.retry_strategy
        )
    except oci_exceptions.ServiceError as error:
        if error.status == 404:
            return None
        return _refused(error, spec, source_region, source_id)
    except SERVICE_FAILURES as error:
        return _refused(error, spec, source_region, source_id)
    if read.data.lifecycle_state in GONE_STATES:
        return None
    problem, _ = merge_tags(
        spec,
        clients,
        invocation,
        source_region,
        source_id,
        lambda current: {"freeform_tags": marks.EXPIRY_RECORD.tags(current.freeform_tags, region, copy_id)},
        (read.data, read.headers.get("etag")),
    )
    return problem


def _update(
    spec: KindSpec, client: Any, backup_id: str, changes: dict[str, Any], etag: str | None, invocation: Invocation
) -> Any:
    # Deferred for cold start, as in clients.py: importing this module must not load oci.core.
    from oci.core import models

    details = getattr(models, spec.update_details_class)(**changes)
    kwargs: dict[str, Any] = {"retry_strategy": invocation.retry_strategy}
    if etag:
        kwargs["if_match"] = etag
    return getattr(client, spec.update_operation)(backup_id, details, **kwargs)
