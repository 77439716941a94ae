"""Issue 22's state machine: what one capability promises, every other keeps, whatever the order of steps.

A world starts with a few backups, some copied by this function back then (marked as it marks,
recorded on their source, due a day after their source). Steps interleave backups completing (all
three kinds, in three compartments, several backups per volume, manual and policy backups), events delivered and redelivered, sweeps and expiry passes
(FAN_OUT off and on with batches of 1 or 2, small maxCopies and maxDeletes, one compartment or all),
and the operator editing or removing marks, copying a marked copy by hand and deleting a copy by
hand. Each run may start after OCI finished the copies and deletions in flight (copies
completing), after `fn config` changed the retention settings (a new container), and with tag
updates throttled. After every step the five promises (world.py) are checked from the emulator's
own records.

Time: nothing here moves a clock. Backups are seeded as made some hours ago (6 to 102 hours, and
200, outside the sweep's 168-hour window), and retention is counted in days (1, 2, 3, 30 or never),
so a copy made now is often already past its expiry, or due long after the example ends; an
operator may also set a copy's expiry to a past time. The ages are whole days plus 6 hours (less a
minute per backup), so no expiry and no window edge falls within hours of a step: nothing depends
on how long a step takes. The world is old when it is seeded, rather than ageing while it runs.

One hook, named here: the retry clock runs RETRY_CLOCK times faster. shared/retries.py's delays and
least useful attempt, and backups/marker.py's MARK_SECONDS (10 s for one mark, retries included),
are divided by it, so a mark that throttling defeats gives up in a tenth of a second, not ten;
what is retried, how often, and what the function does after giving up are unchanged.

Profiles: the default suite runs a small derandomised one (the same examples in every run and on
CI); `make soak` (STATEFUL_PROFILE=soak) runs a long randomised one and prints how to reproduce a
failure. Either way pytest's closing line counts the steps run and each promise's checks (tally.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backup_copier.backups import marker
from backup_copier.shared import retries
from blockstorage_emulator import Emulator, Fault
from blockstorage_emulator.ocids import new_ocid
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import MARK_COPY, MARK_EXPIRES, SOURCE_REGION, event_for, new_compartment, rfc3339
from tests.stateful import world as promises
from tests.stateful.in_process import InProcessFunction
from tests.stateful.tally import TALLY
from tests.stateful.world import MARK_KEYS, REGION, Step, World, source_of

DESTINATIONS = ("us-ashburn-1", "eu-frankfurt-1")
COMPARTMENTS = 3
MAX_SOURCES = 10
SINCE_HOURS = 168
# The first of each list is what hypothesis tries most and shrinks to: a backup two days and a
# quarter old, and a one-day retention, make a copy that is due at once, where the seams are.
AGES_HOURS = (54, 30, 6, 78, 102, 200)
# The source's record of its copy in a region (docs/retention.md, "The mark: tag keys").
RECORD_PREFIX = "backup-copier-copy-in-"
KIND_OF = {"volumebackup": "volume", "bootvolumebackup": "boot_volume", "volumegroupbackup": "volume_group"}
PARENT_TYPES = {"volume": "volume", "boot_volume": "bootvolume", "volume_group": "volumegroup"}
# The function's timeout. An event's copy request waits out LimitExceeded (another copy of the same
# boot volume, or ten copies in flight) until the deadline; a short one keeps such a step to seconds.
# Not shorter: the fdk keeps 2 s back, and the function wants 1 s for a step (backups/listing.py).
TIMEOUT_SECONDS = 60
EVENT_TIMEOUT_SECONDS = 4
# A policy backup expires this long after it was made (OCI deletes it then; none is seeded expired).
POLICY_RETENTION = timedelta(days=14)

# The volumes (their kind and compartment) whose backups complete: every kind and every compartment,
# few enough that a volume soon has several backups, whose copies keep-last ranks.
VOLUMES = (("volume", 0), ("boot_volume", 1), ("volume_group", 2), ("volume", 1))
# (which volume, made how many hours ago, a policy backup or a manual one)
BACKUPS = st.tuples(st.integers(0, len(VOLUMES) - 1), st.sampled_from(AGES_HOURS), st.booleans())
# The world a run starts in: backups, each perhaps copied by this function back then (True), into
# every destination, marked to expire a day after its source, as COPY_RETENTION_DAYS=1 did then.
HISTORY = st.lists(st.tuples(BACKUPS, st.booleans()), min_size=2, max_size=6)
EARLIER_RETENTION = timedelta(days=1)
# Retention settings, as an operator sets them (docs/retention.md); a key left out is unset.
RETENTION = st.sampled_from(
    [
        {"COPY_RETENTION_DAYS": "1"},
        {"COPY_RETENTION_DAYS": "1", "KEEP_LAST_COPIES": "2"},
        {"COPY_RETENTION_DAYS_US_ASHBURN_1": "3", "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "2"},
        {"COPY_RETENTION_DAYS": "30", "COPY_RETENTION_DAYS_US_ASHBURN_1": "1", "KEEP_LAST_COPIES": "2"},
        {"COPY_RETENTION_DAYS_US_ASHBURN_1": "never", "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "2"},
        {},  # the defaults: copies of manual backups never expire, those of policy backups with their source
    ]
)
# `fn config` before a run: None leaves the settings as they are.
CONFIG = st.none() | RETENTION
FAN_OUT = st.sampled_from(["off", "1", "2"])  # FAN_OUT=on with FAN_OUT_BATCH of 1 or 2
LIMITS = st.sampled_from([10, 1, 2])
# Whether OCI finished the copies and deletions in flight before a run starts: a run hours after the
# last (a daily expiry pass, an hourly sweep) finds them done; a redelivered event finds them not.
LATER = st.sampled_from([True, False])
WHOLE_SCOPE = st.sampled_from([True, False])  # every compartment (compartmentIds), or the first alone
OPERATOR_ACTS = st.sampled_from(
    ["expires_not_a_time", "copy_key_removed", "mark_removed", "expires_past", "expires_never", "copy_by_hand",
     "delete_by_hand"]
)  # fmt: skip
# Throttling on marking (UpdateVolumeBackup and the like answer 429) during one run: none; the first
# tag update once, which its retries survive; or every update in one region for the whole run, so
# that each mark there (a destination) or each record of a copy on its source (the source region)
# gives up after MARK_SECONDS. Per region, so that what fails does not hang on how fast retries go.
MARKING = st.sampled_from(["none", "once", DESTINATIONS[0], SOURCE_REGION])
# How many times faster the retry clock runs here (see the module's docstring).
RETRY_CLOCK = 100
PICK = st.integers(min_value=0, max_value=30)

# No "explain" phase: it traces every line of every replay, which turns a minute of shrinking into ten.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
COMMON = settings(deadline=None, database=None, phases=PHASES, suppress_health_check=list(HealthCheck))
PROFILES = {
    "default": settings(COMMON, max_examples=30, stateful_step_count=30, derandomize=True, report_multiple_bugs=False),
    "soak": settings(COMMON, max_examples=300, stateful_step_count=50, print_blob=True),
}
PROFILE = os.environ.get("STATEFUL_PROFILE", "default")


class Promises(RuleBasedStateMachine):
    def __init__(self, emulator: Emulator, function: InProcessFunction) -> None:
        super().__init__()
        self.emulator = emulator
        self.function = function
        # Fresh compartments per example: the session's emulator never shows one example another's backups.
        self.world = World(emulator, tuple(new_compartment() for _ in range(COMPARTMENTS)), DESTINATIONS)
        self.sources: list[dict[str, Any]] = []
        self.volumes = [new_ocid(PARENT_TYPES[kind], SOURCE_REGION) for kind, _ in VOLUMES]
        self.delivered: set[str] = set()
        self.settings: dict[str, str] = {}
        self.last: Step | None = None
        TALLY.examples += 1

    # Steps

    @initialize(retention=RETENTION, history=HISTORY)
    def a_world_of_backups(self, retention: dict[str, str], history: list[tuple[tuple[Any, ...], bool]]) -> None:
        self.settings = retention
        for backup, copied_earlier in history:
            self.backup_completes(*backup)
            if copied_earlier:
                for region in DESTINATIONS:
                    self._copied_earlier(self.sources[-1], region)

    @precondition(lambda self: len(self.sources) < MAX_SOURCES)
    @rule(backup=BACKUPS)
    def a_backup_completes(self, backup: tuple[Any, ...]) -> None:
        self.backup_completes(*backup)

    def backup_completes(self, volume: int, hours_ago: int, policy: bool) -> None:
        before = self.world.begin()
        kind, compartment = VOLUMES[volume]
        # A minute apart per backup: one volume's backups are never made in the same second (the mark's
        # source-created, by which keep-last ranks copies, is to the second).
        created = datetime.now(UTC) - timedelta(hours=hours_ago, minutes=len(self.sources))
        options: dict[str, Any] = {"time_created": created, "volume_id": self.volumes[volume]}
        if policy:
            options |= {"source_type": "SCHEDULED", "expiration_time": created + POLICY_RETENTION}
        self.sources.append(
            self.emulator.add_backup(kind, SOURCE_REGION, self.world.compartments[compartment], **options)
        )
        self._ended("backup completes", before)

    @precondition(lambda self: self.sources)
    @rule(pick=PICK, later=LATER, config=CONFIG, marking=MARKING)
    def event_delivered(self, pick: int, later: bool, config: dict[str, str] | None, marking: str) -> None:
        source = self.sources[pick % len(self.sources)]
        name = "event redelivered" if source["id"] in self.delivered else "event delivered"
        self.delivered.add(source["id"])
        event = event_for(KIND_OF[promises.kind_of(source["id"])], source["id"], compartmentId=source["compartmentId"])
        self._invoke(name, event, Conditions(later, config, "off", marking), timeout_seconds=EVENT_TIMEOUT_SECONDS)

    @rule(max_copies=LIMITS, whole_scope=WHOLE_SCOPE, later=LATER, config=CONFIG, fan_out=FAN_OUT, marking=MARKING)
    def sweep(
        self, max_copies: int, whole_scope: bool, later: bool, config: dict[str, str] | None, fan_out: str, marking: str
    ) -> None:
        scope = self.world.compartments if whole_scope else self.world.compartments[:1]
        body = {"action": "reconcile", **_scope(scope), "sinceHours": SINCE_HOURS, "maxCopies": max_copies}
        self._invoke("sweep", body, Conditions(later, config, fan_out, marking), max_copies=max_copies, sweep=True)

    @precondition(lambda self: self._copies())
    @rule(max_deletes=LIMITS, whole_scope=WHOLE_SCOPE, later=LATER, config=CONFIG, fan_out=FAN_OUT)
    def expiry_pass(
        self, max_deletes: int, whole_scope: bool, later: bool, config: dict[str, str] | None, fan_out: str
    ) -> None:
        scope = self.world.compartments if whole_scope else self.world.compartments[:1]
        body = {"action": "expire", **_scope(scope), "maxDeletes": max_deletes}
        self._invoke("expiry pass", body, Conditions(later, config, fan_out, "none"), max_deletes=max_deletes)

    @precondition(lambda self: self._copies("AVAILABLE"))
    @rule(pick=PICK, act=OPERATOR_ACTS)
    def operator_acts(self, pick: int, act: str) -> None:
        """docs/retention.md's edits: keep a copy (expiry not a time, or never), take it out of the
        function's hands (no backup-copier-copy), remove the whole mark, let it go sooner; or copy a
        marked copy by hand, or delete a copy by hand."""
        before = self.world.begin()
        copies = self._copies("AVAILABLE")
        copy = copies[pick % len(copies)]
        if act == "copy_by_hand":
            # Into the other destination: OCI carries the tags, mark included.
            self.emulator.add_backup(
                KIND_OF[promises.kind_of(copy["id"])],
                next(region for region in DESTINATIONS if region != copy[REGION]),
                copy["compartmentId"],
                source_backup_id=copy["id"],
                volume_id=promises.resource_of(copy),
                freeform_tags=dict(copy["freeformTags"]),
            )
        elif act == "delete_by_hand":
            for backup_id in (copy["id"], *(copy.get("volumeBackupIds") or ())):
                self.emulator.set_lifecycle_state(backup_id, "TERMINATED")
        else:
            self.emulator.set_freeform_tags(copy["id"], _edited(copy["freeformTags"], act))
        self._ended(f"operator: {act}", before)

    def teardown(self) -> None:
        # Copies left CREATING would count against the next example's copy limit.
        self._oci_finishes()
        self.emulator.clear_faults()
        self.emulator.clear_function_invocations()

    # The promises, after every step

    @invariant()
    def deletions_were_due(self) -> None:
        self._check("deletions due", promises.deletions_were_due)

    @invariant()
    def marks_left_alone(self) -> None:
        self._check("marks left alone", promises.marks_left_alone)

    @invariant()
    def copied_once(self) -> None:
        self._check("copied once", lambda step: promises.copied_once(step, self.world))

    @invariant()
    def within_limits(self) -> None:
        self._check("within limits", promises.within_limits)

    @invariant()
    def sweep_covered_the_window(self) -> None:
        self._check("sweep covers", promises.sweep_covered_the_window)

    # Helpers

    def _check(self, name: str, check: Any) -> None:
        if self.last is None:
            return
        TALLY.checks[name] += 1
        broken = check(self.last)
        assert not broken, f"{name}, after {self.last.name}: " + "; ".join(broken)

    def _ended(self, name: str, before: promises.Snapshot, **details: Any) -> None:
        self.last = self.world.end(name, before, **details)
        TALLY.steps += 1

    def _invoke(
        self,
        name: str,
        body: dict[str, Any],
        conditions: Conditions,
        *,
        max_copies: int | None = None,
        max_deletes: int | None = None,
        sweep: bool = False,
        timeout_seconds: int = TIMEOUT_SECONDS,
    ) -> None:
        if conditions.later:
            self._oci_finishes()
        if conditions.config is not None:
            self.settings = conditions.config
        fan_out: dict[str, str | None] = {"FAN_OUT": None, "FAN_OUT_BATCH": None}
        if conditions.fan_out != "off":
            fan_out = {"FAN_OUT": "on", "FAN_OUT_BATCH": conditions.fan_out}
        self.function.use({**self.settings, **fan_out})
        before = self.world.begin()
        if conditions.throttled != "none":
            once = conditions.throttled == "once"
            region = None if once else conditions.throttled
            self.emulator.inject(
                Fault("update", region=region, count=1 if once else 10_000, status=429, code="TooManyRequests")
            )
        started = datetime.now(UTC)
        calls = self.function.invoke(body, timeout_seconds)
        self.emulator.clear_faults()
        check = self.world.sweep_check(before, calls, started) if sweep else None
        keep_last = int(self.settings.get("KEEP_LAST_COPIES") or 1)
        self._ended(
            f"{name} {conditions}", before, keep_last=keep_last, max_copies=max_copies, max_deletes=max_deletes,
            sweep=check, answers=[answer for _, answer in calls],
        )  # fmt: skip

    def _copied_earlier(self, source: dict[str, Any], region: str) -> None:
        """A copy this function made when `source` completed, marked as it marks (docs/retention.md's
        tag keys), and recorded on its source."""
        kind = KIND_OF[promises.kind_of(source["id"])]
        created = promises.parse_time(source["timeCreated"])
        assert created is not None
        copy_id = new_ocid(promises.kind_of(source["id"]), region)
        mark = promises.mark_tags(copy_id, source, created + EARLIER_RETENTION)
        self.emulator.add_backup(
            kind,
            region,
            source["compartmentId"],
            backup_id=copy_id,
            time_created=created + timedelta(minutes=5),
            source_backup_id=source["id"],
            volume_id=promises.resource_of(source),
            freeform_tags={**source["freeformTags"], **mark},
        )
        recorded = {**self.emulator.backup(source["id"])["freeformTags"], RECORD_PREFIX + region: copy_id}
        self.emulator.set_freeform_tags(source["id"], recorded)

    def _oci_finishes(self) -> None:
        self.emulator.complete_copies()
        self.emulator.finish_deletions()

    def _copies(self, state: str | None = None) -> list[dict[str, Any]]:
        """The function's copies (in `state`), in an order that replays the same: by source, region, then age."""
        order = {source["id"]: index for index, source in enumerate(self.sources)}
        found = [
            backup
            for backup in self.world.snapshot().values()
            if source_of(backup) in order
            and not backup.get("volumeGroupBackupId")
            and backup["lifecycleState"] in ((state,) if state else promises.PRESENT_STATES)
        ]
        found.sort(key=lambda b: (order[source_of(b) or ""], DESTINATIONS.index(b[REGION]), b["timeCreated"]))
        return found


@dataclass(frozen=True)
class Conditions:
    """What holds when a run starts: OCI finished what was in flight (`later`), `fn config` changed,
    FAN_OUT, and how many tag updates answer 429 during it."""

    later: bool
    config: dict[str, str] | None
    fan_out: str
    throttled: str

    def __str__(self) -> str:
        said = ["hours later" if self.later else "at once"]
        if self.config is not None:
            said.append(f"settings now {self.config}")
        if self.fan_out != "off":
            said.append(f"FAN_OUT_BATCH={self.fan_out}")
        if self.throttled == "once":
            said.append("one tag update throttled")
        elif self.throttled != "none":
            said.append(f"tag updates in {self.throttled} throttled")
        return "(" + ", ".join(said) + ")"


def _edited(tags: dict[str, str], edit: str) -> dict[str, str]:
    edited = dict(tags)
    if edit == "expires_not_a_time":
        edited[MARK_EXPIRES] = "keep-for-audit"
    elif edit == "copy_key_removed":
        edited.pop(MARK_COPY, None)
    elif edit == "mark_removed":
        edited = {key: value for key, value in edited.items() if key not in MARK_KEYS}
    elif edit == "expires_past":
        edited[MARK_EXPIRES] = rfc3339(datetime.now(UTC) - timedelta(days=1))
    else:
        edited[MARK_EXPIRES] = "never"
    return edited


def _scope(compartments: tuple[str, ...]) -> dict[str, Any]:
    return {"compartmentIds": list(compartments)} if len(compartments) > 1 else {"compartmentId": compartments[0]}


@pytest.mark.timeout(3600 if PROFILE == "soak" else 900)
def test_every_promise_holds_after_every_step(
    emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Time compression (see the module's docstring): every retry constant a fiftieth of its value.
    monkeypatch.setattr(marker, "MARK_SECONDS", marker.MARK_SECONDS / RETRY_CLOCK)
    for name in ("BASE_DELAY_SECONDS", "MAX_DELAY_SECONDS", "MIN_ATTEMPT_SECONDS"):
        monkeypatch.setattr(retries, name, getattr(retries, name) / RETRY_CLOCK)
    function = InProcessFunction(emulator, principal, DESTINATIONS)
    try:
        # hypothesis takes a factory as well as a class (it only calls it); its stub names the class alone.
        run_state_machine_as_test(lambda: Promises(emulator, function), settings=PROFILES[PROFILE])  # type: ignore[arg-type]
    finally:
        function.close()
