"""A listed backup (or compartment) as the tenancy-wide passes read it: a few typed fields, from raw JSON.

The SDK turns each item of a list page into a model of 20-odd fields, parsing every timestamp
with `datetime.strptime`: about 85% of a tenancy-wide run's CPU (docs/performance.md). A
record here holds only the fields some pass reads, and a page of them is validated from the
response's bytes in one call of pydantic-core (`TypeAdapter(list[Record]).validate_json`),
several times cheaper in CPU and memory (bench/parse_table.py measures it).

Field names are the SDK models' attribute names, so a record reads like the model it stands
in for (`backup.time_created`, `getattr(backup, spec.source_attribute)`); the JSON keys are
the API's camelCase, which tests check against each SDK model's `attribute_map`.

An item that does not read (no id, an id that is not an OCID, a timestamp that is not one)
must not cost the whole page: the page is then read again item by item, and each bad item is
returned as an ItemProblem, counted and named by the caller, never acted on.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, ConfigDict, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from ..shared.kinds import BackupKind
from ..shared.ocids import MAX_OCID_LENGTH, OCID_PATTERN

# Strict, so a value of the wrong JSON type is a problem rather than coerced ("true" is not a
# boolean, a number is not a timestamp); keys are the API's camelCase; unknown keys are ignored.
# The keys the camel-case rule would spell otherwise.
_API_KEYS: dict[str, str] = {"size_in_gbs": "sizeInGBs"}
_CONFIG = ConfigDict(strict=True, alias_generator=lambda name: _API_KEYS.get(name) or to_camel(name))
# Every id a pass may put in a URL (delete, update) is an OCID by Oracle's grammar (shared/ocids.py).
Ocid = Annotated[str, StringConstraints(pattern=OCID_PATTERN, max_length=MAX_OCID_LENGTH)]
# Pydantic's words where they would quote a regular expression at an operator.
_PLAIN_WORDS = {"string_pattern_mismatch": "not an OCID"}
# The problems named per item, and the characters quoted of a bad value.
_MAX_PROBLEMS_PER_ITEM = 3
_QUOTED_CHARACTERS = 40


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """What every kind of backup carries that a pass reads.

    id, lifecycleState and timeCreated are required: every pass sorts, stops or decides on
    them. Lifecycle states are kept as sent: the SDK folds a state it does not know into
    "UNKNOWN_ENUM_VALUE", and no pass tells the two apart (each asks whether a state is one of
    the states it knows, backups/states.py).
    """

    __pydantic_config__: ClassVar[ConfigDict] = _CONFIG

    id: Ocid
    lifecycle_state: str
    time_created: AwareDatetime
    compartment_id: str | None = None
    display_name: str | None = None
    # Marks and records of copies live here (backups/marks.py).
    freeform_tags: dict[str, str] | None = None
    # When a backup policy's backup expires; a copy's own expiry is decided from it.
    expiration_time: AwareDatetime | None = None
    # The retention lock, which the expiry pass never deletes through (expire/plan.py).
    is_prevent_deletion_enabled: bool | None = None
    is_retention_lock_enabled: bool | None = None
    time_retention_expires_at: AwareDatetime | None = None
    # The source volume's size (a group's: its volumes'), which a restore drill restores at (drill/).
    size_in_gbs: int | None = None


@dataclass(frozen=True, slots=True)
class VolumeBackupRecord(BackupRecord):
    source_volume_backup_id: str | None = None
    volume_id: str | None = None
    # Set on a volume backup that belongs to a volume group backup.
    volume_group_backup_id: str | None = None


@dataclass(frozen=True, slots=True)
class BootVolumeBackupRecord(BackupRecord):
    source_boot_volume_backup_id: str | None = None
    boot_volume_id: str | None = None
    volume_group_backup_id: str | None = None


@dataclass(frozen=True, slots=True)
class VolumeGroupBackupRecord(BackupRecord):
    source_volume_group_backup_id: str | None = None
    volume_group_id: str | None = None


# The same records without their freeform tags, for a pass that reads none (the report): a
# marked copy's tags (the mark's five, and whatever the source carried) are about half of its
# record's memory and a sixth of its parse (a page of 1,000 marked copies: 0.69 MiB against 1.33,
# 2.6 ms of CPU against 3.1, tracemalloc and time.thread_time). Nor do they keep what only the
# passes that read tags use (expiry, retention lock, size), nor the compartment's OCID, which the
# read of a compartment knows (a string of 136 bytes in every record): a page of 1,000 copies of
# the dense world then holds 0.59 MiB, against 0.72 with them. The keys are skipped, not read.
# Each of these fields is None in such a record (a field that is not init is not read).


# The fields a record for a pass that reads no tag leaves unread, with their types.
_UNREAD_WITHOUT_TAGS: tuple[tuple[str, Any], ...] = (
    ("freeform_tags", dict[str, str] | None),
    ("compartment_id", str | None),
    ("expiration_time", AwareDatetime | None),
    ("is_prevent_deletion_enabled", bool | None),
    ("is_retention_lock_enabled", bool | None),
    ("time_retention_expires_at", AwareDatetime | None),
    ("size_in_gbs", int | None),
)


def _untagged(record: type[BackupRecord]) -> type[BackupRecord]:
    """`record` with each field of _UNREAD_WITHOUT_TAGS None and its key skipped (no init, so not read)."""
    untagged: type[BackupRecord] = dataclasses.make_dataclass(
        f"Untagged{record.__name__}",
        [(name, annotation, field(default=None, init=False)) for name, annotation in _UNREAD_WITHOUT_TAGS],
        bases=(record,),
        frozen=True,
        slots=True,
    )
    untagged.__module__ = __name__
    return untagged


@dataclass(frozen=True, slots=True)
class CompartmentRecord:
    """A compartment as a scope's walk reads it (backups/compartments.py)."""

    __pydantic_config__: ClassVar[ConfigDict] = _CONFIG

    id: Ocid
    lifecycle_state: str


RECORDS: dict[BackupKind, type[BackupRecord]] = {
    BackupKind.VOLUME: VolumeBackupRecord,
    BackupKind.BOOT_VOLUME: BootVolumeBackupRecord,
    BackupKind.VOLUME_GROUP: VolumeGroupBackupRecord,
}

UNTAGGED_RECORDS: dict[BackupKind, type[BackupRecord]] = {kind: _untagged(record) for kind, record in RECORDS.items()}

Record = TypeVar("Record")


@dataclass(frozen=True)
class ItemProblem:
    """An item of a page that is not a record: where it was, its id if it has one, and why."""

    position: int
    item_id: str | None
    problem: str


class UnreadablePage(ValueError):
    """The body of a list page is not a JSON array: no item of it can be trusted."""


class PageReader(Generic[Record]):
    """Reads one list page's raw bytes into records of one type."""

    def __init__(self, record: type[Record]) -> None:
        self.record = record
        self._page: TypeAdapter[list[Record]] = TypeAdapter(list[record])  # type: ignore[valid-type]
        self._item: TypeAdapter[Record] = TypeAdapter(record)

    def read(self, body: bytes) -> tuple[list[Record], list[ItemProblem]]:
        """The page's records, and a problem for each item that is not one."""
        try:
            return self._page.validate_json(body), []
        except ValidationError:
            pass  # some item is bad (or the body is not an array): find which, item by item
        try:
            items = json.loads(body)
        except ValueError as error:
            raise UnreadablePage(f"the body is not JSON ({error})") from None
        if not isinstance(items, list):
            raise UnreadablePage(f"the body is a JSON {type(items).__name__}, not an array")
        records: list[Record] = []
        problems: list[ItemProblem] = []
        for position, item in enumerate(items):
            try:
                # The item as JSON again, so that it is validated exactly as on the fast path.
                records.append(self._item.validate_json(json.dumps(item)))
            except ValidationError as error:
                problems.append(ItemProblem(position, _id_of(item), _describe(error)))
        return records, problems

    def fields(self) -> dict[str, str]:
        """Each field of the record and its key in the API's JSON."""
        alias: Callable[[str], str] = _CONFIG["alias_generator"]  # type: ignore[assignment]
        return {field.name: alias(field.name) for field in dataclasses.fields(self.record)}  # type: ignore[arg-type]


def _id_of(item: Any) -> str | None:
    """The item's id to name it by, escaped to ASCII (it may not be an OCID); None when it has none."""
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return _escaped(item["id"], limit=MAX_OCID_LENGTH)
    return None


def _describe(error: ValidationError) -> str:
    """`timeCreated: Input should be a valid datetime... (got '2026-13-01')`: which key, and why."""
    described = []
    for detail in error.errors(include_url=False)[:_MAX_PROBLEMS_PER_ITEM]:
        where = ".".join(str(part) for part in detail["loc"]) or "the item"
        said = f"{where}: {_PLAIN_WORDS.get(detail['type'], detail['msg'])}"
        if detail["type"] != "missing" and isinstance(detail.get("input"), str | int | float | bool):
            said += f" (got '{_escaped(str(detail['input']))}')"
        described.append(said)
    if error.error_count() > _MAX_PROBLEMS_PER_ITEM:
        described.append(f"and {error.error_count() - _MAX_PROBLEMS_PER_ITEM} more")
    return "; ".join(described)


def _escaped(text: str, limit: int = _QUOTED_CHARACTERS) -> str:
    """An excerpt escaped to ASCII, so that nothing from a response reaches a log raw."""
    return ascii(text[:limit])[1:-1] + ("…" if len(text) > limit else "")
