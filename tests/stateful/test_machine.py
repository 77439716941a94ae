"""Issue 22's state machine: what one capability promises, every other keeps, whatever the order of steps.

A world starts with a few backups, some copied by this function back then (marked as it marks,
recorded on their source, due a day after their source). Steps interleave backups completing (all
three kinds, in three compartments, several backups per volume, manual and policy backups, tagged
for DR or not), events delivered and redelivered (carrying the backup's tags), sweeps and expiry passes
(FAN_OUT off and on with batches of 1 or 2, small maxCopies and maxDeletes, one compartment or all),
and the operator editing or removing marks, copying a marked copy by hand and deleting a copy by
hand. Each run may start after OCI finished the copies and deletions in flight (copies
completing), after `fn config` changed the retention settings or REQUIRED_FREEFORM_TAG (a new
container), and with tag updates throttled. After every step the six promises (world.py) are
checked from the emulator's own records.

Restore drills (issue 25) run among them: drill passes over the compartments and destinations
(small maxRestores, one destination or both, dry runs, DRILL_TIMEOUT_MINUTES of 15 in some
containers), the restores they start moving on in OCI (restoring, AVAILABLE, FAULTY, hydrated; by
one OCID or all; every one before a pass that runs later) and deletions finishing, and the operator attaching a drill volume (from its own
compartment or another), detaching it, cloning one, restoring a copy or a backup of a drill by
hand, copying a drill's mark onto another volume and removing a drill's function key; and drills
settling (OCI finishes every restore, two passes run). So a copy being drilled may expire, a sweep
or an expiry pass may run beside a drill, and an operator's edit may land between two passes. Five
more promises (drills.py) are checked after every step, from the emulator's records too.

Time: nothing here moves a clock. Backups are seeded as made some hours ago (6 to 102 hours, and
200, outside the sweep's 168-hour window), and retention is counted in days (1, 2, 3, 30 or never),
so a copy made now is often already past its expiry, or due long after the example ends; an
operator may also set a copy's expiry to a past time. The ages are whole days plus 6 hours (less a
minute per backup), so no expiry and no window edge falls within hours of a step: nothing depends
on how long a step takes. The world is old when it is seeded, rather than ageing while it runs.

Hooks, named here. The retry clock runs RETRY_CLOCK times faster. shared/retries.py's delays and
least useful attempt, backups/marker.py's MARK_SECONDS (10 s for one mark, retries included) and
drill/tags.py's WRITE_SECONDS (the same for a drill's tag write) are divided by it, so a mark that
throttling defeats gives up in a tenth of a second, not ten; what is retried, how often, and what the function does after giving up are unchanged. The drill
reads its clock from drill/marks.py's utc_now, which here runs ahead by the minutes the machine's
"minutes pass" steps add: a drill's timeout comes within a step, not within hours. And a fan-out's
turn (fan_out/budget.py's turn_of, the hour of the run) is the run's number in the example: the
same examples replay the same, in any hour (production keeps its clock).

Profiles: the default suite runs a small derandomised one (the same examples in every run and on
CI); `make soak` (STATEFUL_PROFILE=soak) runs a long randomised one and prints how to reproduce a
failure. Either way pytest's closing line counts the steps run and each promise's checks (tally.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
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
from backup_copier.drill import marks as drill_marks
from backup_copier.drill import tags as drill_tags
from backup_copier.fan_out import coordinator
from backup_copier.shared import retries
from blockstorage_emulator import Emulator, Fault
from blockstorage_emulator.ocids import new_ocid, short_region_code
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import MARK_COPY, MARK_EXPIRES, SOURCE_REGION, event_for, new_compartment, rfc3339
from tests.stateful import drills
from tests.stateful import world as promises
from tests.stateful.drills import DrillRun, DrillWorld
from tests.stateful.in_process import FUNCTION_ID, Call, InProcessFunction
from tests.stateful.tally import TALLY
from tests.stateful.world import MARK_KEYS, REGION, Step, source_of

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
# (which volume, made how many hours ago, a policy backup or a manual one, tagged for DR or not)
BACKUPS = st.tuples(st.integers(0, len(VOLUMES) - 1), st.sampled_from(AGES_HOURS), st.booleans(), st.booleans())
# The freeform tag that REQUIRED_FREEFORM_TAG asks for, as docs/deploying.md's example; a tagged backup carries it.
DR_TAG = {"dr-copy": "true"}
REQUIRED_TAG = "dr-copy=true"
# The world a run starts in: backups, each perhaps copied by this function back then (True), into
# every destination, marked to expire a day after its source, as COPY_RETENTION_DAYS=1 did then.
HISTORY = st.lists(st.tuples(BACKUPS, st.booleans()), min_size=2, max_size=6)
EARLIER_RETENTION = timedelta(days=1)
# Retention settings, as an operator sets them (docs/retention.md); a key left out is unset.
RETENTION_CHOICES: tuple[dict[str, str], ...] = (
    {"COPY_RETENTION_DAYS": "1"},
    {"COPY_RETENTION_DAYS": "1", "KEEP_LAST_COPIES": "2"},
    {"COPY_RETENTION_DAYS_US_ASHBURN_1": "3", "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "2"},
    {"COPY_RETENTION_DAYS": "30", "COPY_RETENTION_DAYS_US_ASHBURN_1": "1", "KEEP_LAST_COPIES": "2"},
    {"COPY_RETENTION_DAYS_US_ASHBURN_1": "never", "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "2"},
    {},  # the defaults: copies of manual backups never expire, those of policy backups with their source
)
# Each with REQUIRED_FREEFORM_TAG or without: only tagged backups are copied, and with a short
# retention, keep-last's rank (of tagged backups alone) decides whether a tagged backup older than
# untagged ones still reaches that region.
RETENTION = st.builds(
    lambda retention, tag: {**retention, "REQUIRED_FREEFORM_TAG": REQUIRED_TAG} if tag else dict(retention),
    st.sampled_from(RETENTION_CHOICES),
    st.booleans(),
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

# Restore drills: small maxRestores; every destination (None) or one; dryRun absent, false or true.
MAX_RESTORES = st.sampled_from([1, 2, 3])
DRILL_REGIONS = st.sampled_from([None, *DESTINATIONS])
DRY_RUN = st.sampled_from([None, False, True])
# DRILL_TIMEOUT_MINUTES before a pass: None leaves it as it is; 15 is the least it may be; 120 its default.
DRILL_TIMEOUTS = st.sampled_from([None, "15", "120"])
# OCI moves a restore on: one drill's (a group's volumes follow it) or every one's; or deletions finish.
RESTORE_ACTS = st.sampled_from(
    ["finish", "begin", "fail", "hydrate", "finish_all", "begin_all", "hydrate_all", "deletions"]
)
# How far the drill's clock moves in a "minutes pass" step: past 15 minutes, or past 120.
MINUTES = st.sampled_from([20, 130])
# What an operator makes of a drill or a copy (docs/drills.md, "The proof"): a clone of a drill volume;
# a restore by hand of a copy, or of a backup of a drill volume (each carries its source's tags); a
# restore of the drill's copy with the drill's mark copied on (whole, or without its resource key, or
# naming another function); and a drill kept by removing its function key.
BY_HAND = st.sampled_from(
    ["clone", "restore_copy", "restore_drill_backup", "copy_mark", "copy_mark_unbound", "other_function",
     "remove_function_key"]
)  # fmt: skip
# The drills an operator attaches, clones or copies a mark from (a group is not attached, nor cloned here).
VOLUME_KINDS = ("volume", "boot_volume")
OTHER_FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaaanotherdeploymentofthisone"
RESTORED_SOURCE_TYPES = {"volume": "volumeBackup", "boot_volume": "bootVolumeBackup"}
CLONE_SOURCE_TYPES = {"volume": "volume", "boot_volume": "bootVolume"}

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
        self.world = DrillWorld(
            emulator, tuple(new_compartment() for _ in range(COMPARTMENTS)), DESTINATIONS, function_id=FUNCTION_ID
        )
        self.sources: list[dict[str, Any]] = []
        # OCIDs in the order of VOLUMES: the drill's turns break ties by volume OCID, which must replay the same.
        unique = new_compartment()[-32:]
        self.volumes = [_ordered_ocid(PARENT_TYPES[kind], unique, index) for index, (kind, _) in enumerate(VOLUMES)]
        self.delivered: set[str] = set()
        self.settings: dict[str, str] = {}
        self.last: Step | None = None
        # DRILL_TIMEOUT_MINUTES, kept apart from the retention settings that promise 3 reads.
        self.drill_settings: dict[str, str] = {}
        # Where an operator's instance lives when it attaches a drill volume from another compartment.
        self.elsewhere = new_compartment()
        CLOCK.reset()
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

    def backup_completes(self, volume: int, hours_ago: int, policy: bool, tagged: bool) -> None:
        before = self.world.begin()
        kind, compartment = VOLUMES[volume]
        # A minute apart per backup: one volume's backups are never made in the same second (the mark's
        # source-created, by which keep-last ranks copies, is to the second).
        created = datetime.now(UTC) - timedelta(hours=hours_ago, minutes=len(self.sources))
        options: dict[str, Any] = {
            "time_created": created,
            "volume_id": self.volumes[volume],
            "freeform_tags": dict(DR_TAG) if tagged else {},
        }
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
        # The event carries the tags the backup completed with, as OCI's do (data.freeFormTags).
        event = event_for(
            KIND_OF[promises.kind_of(source["id"])],
            source["id"],
            compartmentId=source["compartmentId"],
            freeFormTags=dict(source["freeformTags"]),
        )
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
        self._ended(f"operator: {act}", before, kind="operator edits a copy")

    # Restore drills

    @rule(
        max_restores=MAX_RESTORES, whole_scope=WHOLE_SCOPE, region=DRILL_REGIONS, dry_run=DRY_RUN, later=LATER,
        timeout=DRILL_TIMEOUTS, fan_out=FAN_OUT, marking=MARKING,
    )  # fmt: skip
    def drill_pass(
        self,
        max_restores: int,
        whole_scope: bool,
        region: str | None,
        dry_run: bool | None,
        later: bool,
        timeout: str | None,
        fan_out: str,
        marking: str,
    ) -> None:
        """A pass of the drill's schedule (FAN_OUT=on runs it in place). `later`: the schedule's interval
        has passed, and OCI has finished the restores in flight as well as the copies and deletions."""
        if later:
            self.emulator.finish_restores()
        scope = self.world.compartments if whole_scope else self.world.compartments[:1]
        body: dict[str, Any] = {"action": "drill", **_scope(scope), "maxRestores": max_restores}
        if region is not None:
            body["destinationRegions"] = [region]
        if dry_run is not None:
            body["dryRun"] = dry_run
        if timeout is not None:
            self.drill_settings = {"DRILL_TIMEOUT_MINUTES": timeout}
        regions = (region,) if region else DESTINATIONS
        self._invoke(
            f"drill pass (maxRestores {max_restores}, {len(scope)} compartments, {regions}, dryRun {dry_run}, "
            f"timeout {self.drill_settings or 'default'})",
            body,
            Conditions(later, None, fan_out, marking),
            drill=lambda calls: DrillRun(body, calls[0][1], scope, regions, max_restores, bool(dry_run)),
        )

    # Only once a drill exists to name: cheap as it is, it would otherwise take a third of the steps.
    @precondition(lambda self: self.world.created)
    @rule(pick=PICK)
    def drill_body_names_an_ocid(self, pick: int) -> None:
        """A drill body that names a drill, a volume of the operator's or a copy: refused, nothing sent."""
        named = [r["id"] for r in self.world.live_drills()] + [c["id"] for c in self._copies()]
        ocid = named[pick % len(named)] if named else self.volumes[pick % len(self.volumes)]
        body = {"action": "drill", **_scope(self.world.compartments), "maxRestores": 1, "volumeId": ocid}
        self._invoke(
            "drill pass, its body naming an OCID",
            body,
            Conditions(False, None, "off", "none"),
            drill=lambda calls: DrillRun(body, calls[0][1], self.world.compartments, DESTINATIONS, 1, False, ocid),
        )

    @precondition(lambda self: self.world.created)
    @rule(act=RESTORE_ACTS, pick=PICK)
    def restores_progress(self, act: str, pick: int) -> None:
        """OCI moves the drills' restores on (emulator: begin_restoring, finish_restores, fail_restore,
        hydrate, by one OCID or every one), or finishes the deletions in flight."""
        before = self.world.begin()
        drills_ = [r for r in self.world.live_drills() if self.world.created[r["id"]] == drills.DRILL]
        chosen = drills_[pick % len(drills_)]["id"] if drills_ else None
        if act == "deletions":
            self.emulator.finish_deletions()
        elif act.endswith("_all"):
            getattr(
                self.emulator,
                {"finish": "finish_restores", "begin": "begin_restoring", "hydrate": "hydrate"}[
                    act.removesuffix("_all")
                ],
            )()
        elif chosen is not None and act == "fail":
            self.emulator.fail_restore(chosen)
        elif chosen is not None and act == "hydrate":
            available = self.world.live_drills(states=("AVAILABLE",))
            if available:
                self.emulator.hydrate(available[pick % len(available)]["id"])
        elif chosen is not None:
            getattr(self.emulator, {"finish": "finish_restores", "begin": "begin_restoring"}[act])(chosen)
        self._ended(f"OCI: restores {act}", before, kind="restores progress")

    @rule(minutes=MINUTES)
    def minutes_pass(self, minutes: int) -> None:
        """The drill's clock moves on (see the module's docstring): restores in flight near their timeout."""
        before = self.world.begin()
        CLOCK.offset += timedelta(minutes=minutes)
        self._ended(f"{minutes} minutes pass", before, kind="minutes pass")

    @precondition(lambda self: self.world.live_drills(kinds=VOLUME_KINDS, states=("AVAILABLE",)))
    @rule(pick=PICK, elsewhere=st.booleans())
    def operator_attaches(self, pick: int, elsewhere: bool) -> None:
        """An operator attaches a drill volume to an instance, in the volume's compartment (the drill's
        listing shows it) or in another (it does not: OCI refuses the delete with 409)."""
        before = self.world.begin()
        volumes = self.world.live_drills(kinds=VOLUME_KINDS, states=("AVAILABLE",))
        volume = volumes[pick % len(volumes)]
        self.emulator.attach(volume["id"], compartment_id=self.elsewhere if elsewhere else None)
        self._ended(
            f"operator: attaches {drills.kind_of(volume)} {'from another compartment' if elsewhere else ''}",
            before,
            kind="operator attaches",
        )

    @precondition(lambda self: self._attached())
    @rule(pick=PICK)
    def operator_detaches(self, pick: int) -> None:
        before = self.world.begin()
        attached = self._attached()
        self.emulator.detach(attached[pick % len(attached)]["id"])
        self._ended("operator: detaches", before)

    @precondition(lambda self: self.world.live_drills())
    @rule(pick=PICK, act=BY_HAND)
    def operator_restores_by_hand(self, pick: int, act: str) -> None:
        """What an operator makes of a drill or a copy that carries a drill's tags (tests/drill's safety
        tests make the same): see BY_HAND."""
        before = self.world.begin()
        every = self.world.live_drills()
        volumes = self.world.live_drills(kinds=VOLUME_KINDS) or every
        drill = volumes[pick % len(volumes)]
        kind, tags = drills.kind_of(drill), dict(drill["freeformTags"])
        if act == "remove_function_key":
            kept = every[pick % len(every)]
            self.emulator.set_volume_tags(
                kept["id"], {k: v for k, v in kept["freeformTags"].items() if k != "backup-copier-drill-function"}
            )
        elif kind == "volume_group":
            pass  # a group of the operator's is not modelled: nothing to make
        elif act == "clone":
            self._by_hand(drill, {"type": CLONE_SOURCE_TYPES[kind], "id": drill["id"]}, tags)
        elif act == "restore_copy":
            copies = [c for c in self._copies("AVAILABLE") if promises.kind_of(c["id"]) != "volumegroupbackup"]
            if copies:
                copy = copies[pick % len(copies)]
                self._by_hand(
                    copy,
                    {"type": RESTORED_SOURCE_TYPES[KIND_OF[promises.kind_of(copy["id"])]], "id": copy["id"]},
                    copy["freeformTags"],
                )
        elif act == "restore_drill_backup":
            backup = self.emulator.add_backup(kind, drill[REGION], drill["compartmentId"], freeform_tags=tags)
            self._by_hand(drill, {"type": RESTORED_SOURCE_TYPES[kind], "id": backup["id"]}, tags)
        else:
            if act == "copy_mark_unbound":
                tags.pop("backup-copier-drill-resource", None)
            elif act == "other_function":
                tags["backup-copier-drill-function"] = OTHER_FUNCTION_ID
            self._by_hand(drill, {"type": RESTORED_SOURCE_TYPES[kind], "id": drills.source_id(drill) or ""}, tags)
        self._ended(f"operator: {act}", before, kind="operator makes a drill's like")

    @precondition(lambda self: self.world.live_drills(kinds=("volume_group",)))
    @rule(pick=PICK)
    def operator_adds_a_volume_to_a_drill_group(self, pick: int) -> None:
        """An operator adds a volume of their own to a drill's volume group (UpdateVolumeGroup): membership
        proves nothing, so the drill must never mark it nor delete it (promises 6 and 9 judge that)."""
        before = self.world.begin()
        groups = self.world.live_drills(kinds=("volume_group",))
        group = groups[pick % len(groups)]
        # Restored from a backup of their own: a volume with a source, as most are.
        backup = self.emulator.add_backup("volume", group[REGION], group["compartmentId"])
        theirs = self.emulator.add_volume(
            "volume",
            group[REGION],
            group["compartmentId"],
            availability_domain=group["availabilityDomain"],
            source_details={"type": "volumeBackup", "id": backup["id"]},
        )
        self.emulator.set_group_members(group["id"], [*group["volumeIds"], theirs["id"]])
        self._ended("operator: adds a volume to a drill's group", before, kind="operator makes a drill's like")

    @precondition(lambda self: self.world.live_drills())
    @rule()
    def drills_settle(self) -> None:
        """Hours later: OCI has finished every restore; a pass over the whole scope ends what it can, OCI
        finishes the deletions (a deleted group's volumes leave it), and a second pass deletes those."""
        self.emulator.complete_copies()
        self.function.use({**self.settings, **self.drill_settings})
        before = self.world.begin()
        self.emulator.finish_restores()
        body = {"action": "drill", **_scope(self.world.compartments), "maxRestores": 1}
        answers = []
        for _ in range(2):
            answers.append(self.function.invoke(body, TIMEOUT_SECONDS)[0][1])
            self.emulator.finish_deletions()
        run = DrillRun(body, answers[-1], self.world.compartments, DESTINATIONS, 1, False, earlier=tuple(answers[:-1]))
        self._ended("drills settle", before, run=run, settled=True)

    def teardown(self) -> None:
        # Copies left CREATING would count against the next example's copy limit.
        self._oci_finishes()
        self.emulator.clear_faults()
        self.emulator.clear_function_invocations()
        # The next example's listings need not page through this one's volumes (its compartments are new).
        self.emulator.clear_volumes()

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

    @invariant()
    def newest_reach_every_region(self) -> None:
        self._check("newest reach every region", promises.newest_reach_every_region)

    @invariant()
    def drill_deletes_proven_drills(self) -> None:
        self._check("drill deletes proven", lambda step: drills.drill_deletes_proven_drills(step, self.world))

    @invariant()
    def drills_attached_are_kept(self) -> None:
        self._check("drills attached kept", lambda step: drills.drills_attached_are_kept(step, self.world))

    @invariant()
    def drills_within_max_restores(self) -> None:
        self._check("drills within maxRestores", lambda step: drills.drills_within_max_restores(step, self.world))

    @invariant()
    def drills_left_to_the_drill(self) -> None:
        self._check("drills left to the drill", lambda step: drills.drills_left_to_the_drill(step, self.world))

    @invariant()
    def drills_end(self) -> None:
        self._check("drills end", lambda step: drills.drills_end(step, self.world))

    # Helpers

    def _check(self, name: str, check: Any) -> None:
        if self.last is None:
            return
        TALLY.checks[name] += 1
        broken = check(self.last)
        assert not broken, f"{name}, after {self.last.name}: " + "; ".join(broken)

    def _ended(self, name: str, before: promises.Snapshot, *, kind: str = "", **details: Any) -> None:
        """The step ends: the world reads what it did. `kind`, the step without its arguments, for the tally."""
        self.last = self.world.end(name, before, **details)
        TALLY.steps += 1
        TALLY.kinds[kind or name] += 1

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
        drill: Callable[[list[Call]], DrillRun] | None = None,
    ) -> None:
        if conditions.later:
            self._oci_finishes()
        if conditions.config is not None:
            self.settings = conditions.config
        fan_out: dict[str, str | None] = {"FAN_OUT": None, "FAN_OUT_BATCH": None}
        if conditions.fan_out != "off":
            fan_out = {"FAN_OUT": "on", "FAN_OUT_BATCH": conditions.fan_out}
        self.function.use({**self.settings, **self.drill_settings, **fan_out})
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
        check = self.world.sweep_check(before, calls, started, self.settings) if sweep else None
        keep_last = int(self.settings.get("KEEP_LAST_COPIES") or 1)
        self._ended(
            f"{name} {conditions}", before, kind=name.split(" (")[0], keep_last=keep_last, max_copies=max_copies, max_deletes=max_deletes,
            sweep=check, answers=[answer for _, answer in calls], run=drill(calls) if drill else None,
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

    def _by_hand(self, like: dict[str, Any], source: dict[str, str], tags: dict[str, str]) -> None:
        """A volume (boot volume) of the operator's, restored or cloned from `source`, beside `like`."""
        kind = "volume" if source["type"] in ("volume", "volumeBackup") else "boot_volume"
        self.emulator.add_volume(
            kind, like[REGION], like["compartmentId"], source_details=source, freeform_tags=dict(tags)
        )

    def _attached(self) -> list[dict[str, Any]]:
        return [a for a in self.emulator.attachments() if a["lifecycleState"] == "ATTACHED"]

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


def _ordered_ocid(resource_type: str, unique: str, index: int) -> str:
    """An OCID of the source region whose unique part sorts as `index` does."""
    return f"ocid1.{resource_type}.oc1.{short_region_code(SOURCE_REGION)}.{unique:a<56}{index:04d}"


class MachineClock:
    """The drill's clock (real time, ahead by what "minutes pass" steps added) and a fan-out's turn
    (the run's number in the example), so that an example replays the same in any hour."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.turns = 0

    def reset(self) -> None:
        self.offset, self.turns = timedelta(), 0

    def drill_now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def turn_of(self, moment: datetime) -> int:
        self.turns += 1
        return self.turns


CLOCK = MachineClock()


def _scope(compartments: Sequence[str]) -> dict[str, Any]:
    return {"compartmentIds": list(compartments)} if len(compartments) > 1 else {"compartmentId": compartments[0]}


@pytest.fixture
def machine_function(
    emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InProcessFunction]:
    """The handler in this process, with the machine's hooks (see the module's docstring)."""
    # Time compression: every retry constant a RETRY_CLOCK-th of its value.
    monkeypatch.setattr(marker, "MARK_SECONDS", marker.MARK_SECONDS / RETRY_CLOCK)
    monkeypatch.setattr(drill_tags, "WRITE_SECONDS", drill_tags.WRITE_SECONDS / RETRY_CLOCK)
    for name in ("BASE_DELAY_SECONDS", "MAX_DELAY_SECONDS", "MIN_ATTEMPT_SECONDS"):
        monkeypatch.setattr(retries, name, getattr(retries, name) / RETRY_CLOCK)
    monkeypatch.setattr(drill_marks, "utc_now", CLOCK.drill_now)
    monkeypatch.setattr(coordinator, "turn_of", CLOCK.turn_of)
    function = InProcessFunction(emulator, principal, DESTINATIONS)
    try:
        yield function
    finally:
        function.close()


@pytest.mark.timeout(3600 if PROFILE == "soak" else 900)
def test_every_promise_holds_after_every_step(emulator: Emulator, machine_function: InProcessFunction) -> None:
    # hypothesis takes a factory as well as a class (it only calls it); its stub names the class alone.
    run_state_machine_as_test(lambda: Promises(emulator, machine_function), settings=PROFILES[PROFILE])  # type: ignore[arg-type]


def test_a_volume_tagged_for_dr_now_and_then_reaches_every_region(
    emulator: Emulator, machine_function: InProcessFunction
) -> None:
    """Promise 6 on the machine's own steps, as hypothesis prints a run it shrank: REQUIRED_FREEFORM_TAG and
    a 1-day Ashburn retention; volume 0's tagged backup 54 hours old, untagged ones 30 and 6 hours old;
    a sweep. The derandomised profile need not draw this world; the soak does, now and then."""
    state = Promises(emulator, machine_function)
    try:
        retention = {"COPY_RETENTION_DAYS_US_ASHBURN_1": "1", "REQUIRED_FREEFORM_TAG": REQUIRED_TAG}
        history = [((0, 54, False, True), False), ((0, 30, False, False), False), ((0, 6, False, False), False)]
        state.a_world_of_backups(retention=retention, history=history)
        state.sweep(max_copies=10, whole_scope=True, later=True, config=None, fan_out="off", marking="none")
        state.newest_reach_every_region()
        state.sweep_covered_the_window()
        state.copied_once()
        tagged = state.sources[0]
        assert {copy[REGION] for copy in state.world.snapshot().values() if source_of(copy) == tagged["id"]} == set(
            DESTINATIONS
        ), "the tagged backup reached both regions, its Ashburn copy past its expiry on arrival"
    finally:
        state.teardown()


def test_a_volume_added_to_a_drill_group_is_never_the_drills(
    emulator: Emulator, machine_function: InProcessFunction
) -> None:
    """The drill's promises on the machine's own steps: a volume group copy is drilled, its restore finishes,
    an operator adds a volume to the drill's group, and the drills settle. Before d7cadd4 the added volume was
    marked as the drill's and deleted once the group was gone."""
    state = Promises(emulator, machine_function)
    try:
        state.a_world_of_backups(retention={}, history=[((2, 6, False, False), True)])
        state.drill_pass(
            max_restores=1, whole_scope=True, region=None, dry_run=None, later=True, timeout=None, fan_out="off",
            marking="none",
        )  # fmt: skip
        state.restores_progress(act="finish_all", pick=0)
        [group] = state.world.live_drills(kinds=("volume_group",))
        state.operator_adds_a_volume_to_a_drill_group(pick=0)
        state.drills_settle()
        state.drill_deletes_proven_drills()
        state.drills_left_to_the_drill()
        added = set(emulator.volume(group["id"])["volumeIds"]) - set(group["volumeIds"])
        [theirs] = [emulator.volume(volume) for volume in added]
        assert theirs["lifecycleState"] == "AVAILABLE"
        assert not [key for key in theirs["freeformTags"] if key.startswith("backup-copier-drill-")]
    finally:
        state.teardown()
