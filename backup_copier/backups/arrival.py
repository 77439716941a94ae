"""No copy that expires on arrival: the one rule for whether a copy is worth starting.

A copy's expiry is decided by its destination region's rule (marks.expiry_for). When that
moment is already past, the copy would be deleted by the next expiry pass, and the next sweep
would find the backup uncopied and copy it again: a full cross-region transfer each round, and
a broken incremental chain in the destination. So such a copy is never started (reason
ExpiresOnArrival), except for a backup among its volume's newest KEEP_LAST_COPIES, whose copy
keep-last would keep whatever its expiry (keep_last.py): a volume whose backups stopped must
still reach its DR region.

The sweep ranks a compartment's backups as it reads them (NewestBackups); the event path asks
the source region only when the expiry is already past (among_newest), so the common path
costs nothing extra. Both rank within the backup's compartment, as the sweep reads it.

Keep-last counts copies, so the rank counts only backups that can have one: with
REQUIRED_FREEFORM_TAG set, the tagged ones. Otherwise a volume backed up daily but tagged for DR
weekly would see its tagged backup outranked by untagged ones that are never copied, and, with a
short region retention, reach its DR region not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.retention import RetentionRule
from ..shared.settings import Settings
from .keep_last import Key, Newest
from .listing import paged
from .marks import expiry_for, format_time
from .states import AVAILABLE

EXPIRES_ON_ARRIVAL = "ExpiresOnArrival"
# A list page when some of the volume's backups are not counted: they may be many (daily backups,
# weekly tags), and a page of `keep` would cost a call each.
FULL_PAGE = 100


def expires_on_arrival(backup: Any, rule: RetentionRule, now: datetime, among_newest: Callable[[], bool]) -> str | None:
    """Why a copy of `backup` into rule.region is not to be started, or None when it is.

    `among_newest` is asked only when the copy's expiry is already past.
    """
    expires = expiry_for(backup, rule)
    if expires is None or expires > now or among_newest():
        return None
    return (
        f"its copy in {rule.region} would expire at {format_time(expires)}, already past ({_rule_in_force(rule, backup)}), "
        "and it is not among its volume's newest KEEP_LAST_COPIES backups, whose copies are made whatever their "
        f"expiry; nothing was copied. If backups this old should reach {rule.region}, lengthen "
        f"{_what_to_lengthen(rule)}; if not, nothing is to be done."
    )


def counts_for_keep_last(spec: KindSpec, backup: Any) -> bool:
    """A backup keep-last ranks: AVAILABLE, not a volume backup inside a volume group backup
    (copied with its group), and not itself a copy made into this region from elsewhere."""
    return (
        backup.lifecycle_state == AVAILABLE
        and not getattr(backup, "volume_group_backup_id", None)
        and not getattr(backup, spec.source_attribute, None)
    )


def _volume_of(spec: KindSpec, backup: Any) -> Key:
    # A backup whose volume is not named ranks as a volume of its own, as in expire/plan.py.
    return (spec.kind.value, getattr(backup, spec.resource_attribute, None) or backup.id)


def every_backup(backup: Any) -> bool:
    return True


def copied_by_this_function(settings: Settings) -> Callable[[Any], bool]:
    """Which of a volume's backups this function copies in the course of events and sweeps."""
    if settings.required_tag() is None:
        return every_backup
    return lambda backup: settings.carries_required_tag(backup.freeform_tags)


@dataclass
class NewestBackups:
    """Per volume, the newest KEEP_LAST_COPIES backups that keep-last counts, in any order seen.

    `copied` says which backups the function copies at all (REQUIRED_FREEFORM_TAG); the rest are
    never copies in the destination, so they rank nowhere."""

    keep: int
    copied: Callable[[Any], bool] = every_backup
    _newest: Newest = field(init=False)

    def __post_init__(self) -> None:
        self._newest = Newest(self.keep)

    def see(self, spec: KindSpec, backup: Any) -> None:
        if counts_for_keep_last(spec, backup) and self.copied(backup):
            self._newest.see(_volume_of(spec, backup), backup.time_created, backup.id)

    def holds(self, spec: KindSpec, backup: Any) -> bool:
        return self._newest.holds(_volume_of(spec, backup), backup.id)


def among_newest(
    clients: Any,
    invocation: Invocation,
    region: str,
    spec: KindSpec,
    backup: Any,
    keep: int,
    copied: Callable[[Any], bool] = every_backup,
) -> bool:
    """Whether `backup` is among its volume's newest `keep` backups in its compartment that are `copied`.

    One List call, filtered by the volume, newest first, `keep` to a page (a full page when only
    some are copied); it pages on only past backups keep-last does not count (volume group
    members, copies, backups not copied), and stops at the first backup older than this one.
    The backup itself is ranked whatever its tags: an operator's re-drive asks for it by name.
    The filters are the SDK's (2.189): list_volume_backups takes volume_id and lifecycle_state, list_boot_volume_backups boot_volume_id and lifecycle_state,
    list_volume_group_backups volume_group_id only, each named as the model's attribute.
    """
    newest = NewestBackups(keep, lambda candidate: candidate.id == backup.id or copied(candidate))
    newest.see(spec, backup)
    resource = getattr(backup, spec.resource_attribute, None)
    if not resource:
        return newest.holds(spec, backup)
    filters: dict[str, str] = {spec.resource_attribute: resource}
    if spec.kind is not BackupKind.VOLUME_GROUP:
        filters["lifecycle_state"] = AVAILABLE
    list_call = getattr(clients.for_region(region), spec.list_operation)
    limit = keep if copied is every_backup else FULL_PAGE
    listing = paged(
        list_call, invocation, backup.compartment_id, limit=limit, sort_by="TIMECREATED", sort_order="DESC", **filters
    )
    counted = 0
    for candidate in listing:
        if (candidate.time_created, candidate.id) < (backup.time_created, backup.id):
            break  # older than the backup: nothing from here on can rank above it
        # Every filter is checked again: a service that ignored one cannot cause a wrong answer.
        if candidate.id == backup.id or getattr(candidate, spec.resource_attribute, None) != resource:
            continue
        if counts_for_keep_last(spec, candidate) and copied(candidate):
            newest.see(spec, candidate)
            counted += 1
            if counted >= keep:
                break
    return newest.holds(spec, backup)


def _rule_in_force(rule: RetentionRule, backup: Any) -> str:
    """Which of shared/retention.py's rules set the expiry, in the operator's words."""
    if rule.region_retention is not None:
        return f"{rule.setting}={rule.region_retention}"
    if getattr(backup, "expiration_time", None) is not None:
        return "the backup's own expirationTime, which the copy of a policy backup keeps"
    return f"COPY_RETENTION_DAYS={rule.default_days}"


def _what_to_lengthen(rule: RetentionRule) -> str:
    if rule.region_retention is not None:
        return rule.setting
    return f"that region's retention ({rule.setting}, which overrides the source's expiry and COPY_RETENTION_DAYS)"
