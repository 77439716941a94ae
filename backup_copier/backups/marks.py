"""The mark: freeform tags by which this function recognises a copy it made, and when that copy expires.

A copy carries the source's tags (OCI copies them with the backup), so a mark is only valid
on the backup it names: `backup-copier-copy` must equal the backup's own OCID, and
`backup-copier-source-backup` the backup it was copied from. A copy someone makes by hand
of a marked copy inherits a mark that names another backup, and is never taken for ours.

The source backup records each copy made of it under `backup-copier-copy-in-<region>`, so a
copy whose own mark could not be written (refused while CREATING, say) is still known to
be this function's, and a later sweep can mark it. And once the expiry pass has deleted that
copy, under `backup-copier-expired-in-<region>`, so that no run copies it there again
(expired.py).

Once a copy carries any of the mark's keys, valid or not, its mark is no longer this
function's to write: an operator who edits or removes keys is taking the copy back, and a
copy whose keys name another backup inherited them. may_repair() is the one rule for which
copies may still be marked (docs/retention.md, "What the tags of a copy say").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..shared.kinds import KindSpec
from ..shared.retention import RetentionRule

PREFIX = "backup-copier-"
COPY_KEY = PREFIX + "copy"
SOURCE_BACKUP_KEY = PREFIX + "source-backup"
SOURCE_RESOURCE_KEY = PREFIX + "source-resource"
SOURCE_CREATED_KEY = PREFIX + "source-created"
EXPIRES_KEY = PREFIX + "expires"
NEVER = "never"
# The value of MARK_DEFINED_TAG on a marked copy, for `target.resource.tag.<ns>.<key> = 'backup-copier'`.
DEFINED_TAG_VALUE = "backup-copier"
MARK_KEYS = (COPY_KEY, SOURCE_BACKUP_KEY, SOURCE_RESOURCE_KEY, SOURCE_CREATED_KEY, EXPIRES_KEY)


@dataclass(frozen=True)
class Mark:
    copy_id: str
    source_backup_id: str
    source_resource_id: str | None
    source_created: datetime | None
    expires: datetime | None  # None: never

    def tags(self) -> dict[str, str]:
        return {
            COPY_KEY: self.copy_id,
            SOURCE_BACKUP_KEY: self.source_backup_id,
            SOURCE_RESOURCE_KEY: self.source_resource_id or "",
            SOURCE_CREATED_KEY: format_time(self.source_created) if self.source_created else "",
            EXPIRES_KEY: format_time(self.expires) if self.expires else NEVER,
        }


@dataclass(frozen=True)
class MarkReading:
    """What a backup's tags say about it, read fresh each time (an operator may edit them)."""

    mark: Mark | None
    # Why a backup that carries some of the keys is still not taken as marked.
    problem: str | None = None


def expiry_for(source: Any, retention: RetentionRule) -> datetime | None:
    """Decided once, when the copy is made, by its destination region's rule (shared/retention.py)."""
    expiration = getattr(source, "expiration_time", None)
    created = getattr(source, "time_created", None)
    return retention.expiry(
        _utc(expiration) if isinstance(expiration, datetime) else None,
        _utc(created) if isinstance(created, datetime) else None,
    )


def mark_for(copy_id: str, source: Any, spec: KindSpec, retention: RetentionRule) -> Mark:
    created = getattr(source, "time_created", None)
    return Mark(
        copy_id=copy_id,
        source_backup_id=source.id,
        source_resource_id=getattr(source, spec.resource_attribute, None),
        source_created=_utc(created) if isinstance(created, datetime) else None,
        expires=expiry_for(source, retention),
    )


def marked_tags(existing: dict[str, str] | None, mark: Mark) -> dict[str, str]:
    """The copy's tags with the mark added: OCI replaces the whole map on update, so the
    tags already there (the source's, carried over) are kept, except this function's own
    keys inherited from the source, which would only mislead."""
    kept = {key: value for key, value in (existing or {}).items() if not key.startswith(PREFIX)}
    return {**kept, **mark.tags()}


def carries_mark_keys(backup: Any) -> bool:
    """Whether any of the mark's keys is on the backup, whatever its value."""
    tags: dict[str, str] = getattr(backup, "freeform_tags", None) or {}
    return any(key in tags for key in MARK_KEYS)


def may_repair(copy: Any, spec: KindSpec, source: Any, region: str) -> bool:
    """Whether the function may write a mark on `copy`, a copy it did not make in this invocation.

    Only a copy that carries none of the mark's keys (its marking failed, so nothing was
    written) and that its source's record names (so this function made it). Any key at all
    means someone else wrote it, or the copy inherited it: the function leaves such a copy's
    tags as they are, and the expiry pass keeps it. Checked on the copy as read right before
    the write (marker.py), whichever path asks.
    """
    return (
        not carries_mark_keys(copy)
        and getattr(copy, spec.source_attribute, None) == source.id
        and recorded_copy(source, region) == copy.id
    )


def may_mark_new_copy(copy: Any) -> bool:
    """The one exception to may_repair: a copy this invocation has just created (its id came
    from the copy response), whose tags OCI copied from its source.

    Mark keys on it at that moment came from the source (a backup of a volume restored from a
    marked copy carries that copy's mark) and describe another backup: left in place, they
    would make the new copy MarkInvalid, never to expire. So marked_tags() replaces them;
    unless the copy key already names the copy itself, which no inherited key can (the copy
    did not exist when they were written): someone wrote it since, a twin invocation or an
    operator, and it is left alone.
    """
    tags: dict[str, str] = getattr(copy, "freeform_tags", None) or {}
    return tags.get(COPY_KEY) != copy.id


def read_mark(backup: Any, spec: KindSpec) -> MarkReading:
    """The backup's mark if it is valid; else, when it carries any of the keys, the problem that keeps it."""
    tags: dict[str, str] = getattr(backup, "freeform_tags", None) or {}
    present = [key for key in MARK_KEYS if key in tags]
    if not present:
        return MarkReading(None)
    if COPY_KEY not in tags:
        return MarkReading(
            None, f"it carries {', '.join(present)} but not {COPY_KEY} (removed by hand, or only part of a mark)"
        )
    if tags[COPY_KEY] != backup.id:
        return MarkReading(
            None,
            f"its {COPY_KEY} tag names another backup (inherited: it is a copy of a marked copy, or a backup "
            "of a volume restored from one; or changed by hand)",
        )
    source = getattr(backup, spec.source_attribute, None)
    if not source or tags.get(SOURCE_BACKUP_KEY) != source:
        return MarkReading(None, f"its {SOURCE_BACKUP_KEY} tag does not name the backup it was copied from")
    expires_text = tags.get(EXPIRES_KEY)
    if expires_text is None:
        # An operator removed the expiry: the copy is kept.
        expires = None
    elif expires_text.strip().lower() == NEVER:
        expires = None
    else:
        expires = parse_time(expires_text)
        if expires is None:
            return MarkReading(None, f"its {EXPIRES_KEY} tag is not a time ({expires_text[:40]!r})")
    return MarkReading(
        Mark(
            copy_id=backup.id,
            source_backup_id=source,
            source_resource_id=getattr(backup, spec.resource_attribute, None) or tags.get(SOURCE_RESOURCE_KEY) or None,
            source_created=parse_time(tags.get(SOURCE_CREATED_KEY, "")),
            expires=expires,
        )
    )


@dataclass(frozen=True)
class SourceRecord:
    """A tag on a source backup, one per destination region, naming one of its copies there."""

    prefix: str

    def key(self, region: str) -> str:
        return self.prefix + region

    def copy_in(self, source: Any, region: str) -> str | None:
        """The copy in `region` this record names on the source backup, if any."""
        tags: dict[str, str] = getattr(source, "freeform_tags", None) or {}
        return tags.get(self.key(region))

    def tags(self, existing: dict[str, str] | None, region: str, copy_id: str) -> dict[str, str]:
        """The source's tags with the record added (OCI replaces the map whole: the rest is kept)."""
        return {**(existing or {}), self.key(region): copy_id}


# The copy made of the source in each region; and the copy the expiry pass deleted there (expired.py).
COPY_RECORD = SourceRecord(PREFIX + "copy-in-")
EXPIRY_RECORD = SourceRecord(PREFIX + "expired-in-")
# The copy record's operations under the names the rest of the code (and the bench) calls them by.
record_key, recorded_copy, recorded_tags = COPY_RECORD.key, COPY_RECORD.copy_in, COPY_RECORD.tags


def format_time(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
