"""The scale benchmark's worlds: a tenancy of compartments holding every kind of backup, seeded fast.

Each compartment holds volumes, boot volumes and volume groups (each group's backup holds
GROUP_MEMBERS volume backups, which ListVolumeBackups returns too, as OCI's does), backed up once
a day; every backup but the newest day's has a marked copy in one destination region, as this
function leaves it, whose mark expires some days after its source was made. So the report has
a recovery point for every volume, the sweep finds the newest day's copies missing, and the
expiry pass finds copies due. Every backup carries what a real one carries besides our tags:
a few user tags and Oracle's default CreatedBy and CreatedOn defined tags ("In tenancies created
after December 17, 2019, the Oracle-Tags tag namespace and two tag defaults are automatically
added to the root compartment", Oracle, "Understanding Automatic Tag Defaults"), so a page is
as many bytes as a real one.

Two worlds, each in an emulator of its own (a subtree read over the tenancy reads all of it):
- MIXED, the scale table's: compartments of two sizes, as a real tenancy has. Nine in ten are
  SMALL (16 volumes of the three kinds, every list one page); every tenth is LARGE (56 volumes,
  1,680 volume backups: two pages). 20 volumes a compartment on average: 20,000 at 1,000.
- DENSE: 40 compartments of 510 volumes (20,400 in all), a week of daily backups, every kind's
  list two pages or more in both regions: the world in which issue 23's review measured the
  function's peak memory.

The world is written straight into the emulator's backend (Emulator.seed_backup: no HTTP).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backup_copier.backups.marks import Mark, record_key
from blockstorage_emulator import Emulator
from blockstorage_emulator import models as emulator_models
from blockstorage_emulator.ocids import short_region_code

from .world import DESTINATION_REGION, SOURCE_REGION, World

GROUP_MEMBERS = 2  # volume backups in each volume group backup
_USER_TAGS = {"environment": "production", "cost-centre": "cc-1234"}
# Who Oracle's CreatedBy names: the backup policy's scheduler for a source, this function for a copy.
_SCHEDULER = "ocid1.user.oc1..aaaaaaaabackuppolicyscheduler000000000000000000000000000000"
_FUNCTION = "ocid1.fnfunc.oc1.phx.aaaaaaaabackupcopierfunction0000000000000000000000000000"
_KINDS = ("volume", "boot_volume", "volume_group")
_PARENT_TYPE = {"volume": "volume", "boot_volume": "bootvolume", "volume_group": "volumegroup"}
_SHORT = {SOURCE_REGION: "phx", DESTINATION_REGION: "iad"}


@dataclass(frozen=True)
class Shape:
    """What one compartment holds."""

    name: str
    volumes: int
    boot_volumes: int
    groups: int  # volume groups
    days: int  # a backup a day of each, for this many days; the newest day's not yet copied
    expires_after_days: int  # each copy's mark expires this long after its source was made

    @property
    def resources(self) -> int:
        """What the report counts as volumes: volumes, boot volumes and volume groups."""
        return self.volumes + self.boot_volumes + self.groups

    def listed(self, kind: str, copies: bool = False) -> int:
        """Items of one kind's list in the compartment, in the source region or (copies) the destination."""
        per_day = {
            "volume": self.volumes + self.groups * GROUP_MEMBERS,
            "boot_volume": self.boot_volumes,
            "volume_group": self.groups,
        }[kind]
        return per_day * (self.days - 1 if copies else self.days)

    def backups(self) -> int:
        """Every backup the compartment holds, sources, members and copies."""
        return sum(self.listed(kind) + self.listed(kind, copies=True) for kind in _KINDS)


SMALL = Shape("small", volumes=10, boot_volumes=3, groups=3, days=30, expires_after_days=14)
LARGE = Shape("large", volumes=32, boot_volumes=12, groups=12, days=30, expires_after_days=14)
DENSE = Shape("dense", volumes=170, boot_volumes=170, groups=170, days=7, expires_after_days=3)
LARGE_EVERY = 10  # the 10th, 20th, ... compartment of the mixed world is LARGE
DENSE_COMPARTMENTS = 40


@dataclass(frozen=True)
class Layout:
    """How a world's compartments are shaped, by their number (0, 1, ...)."""

    name: str
    shapes: tuple[Shape, ...]

    def shape_of(self, number: int) -> Shape:
        return self.shapes[number % len(self.shapes)]


# The LARGE one last of each ten: the 1-compartment scope is a SMALL one, and from 10 compartments on,
# every scope holds one in ten (so the line through 1 and 10 compartments gives a 100's time per compartment).
MIXED = Layout("mixed", (SMALL,) * (LARGE_EVERY - 1) + (LARGE,))
DENSE_LAYOUT = Layout("dense", (DENSE,))


class Tenancy:
    """A world: compartments under the emulator's tenancy, and their backups."""

    def __init__(self, world: World, layout: Layout = MIXED) -> None:
        self.world = world
        self.layout = layout
        self.emulator: Emulator = world.emulator
        self.compartments: list[str] = []
        self.shapes: dict[str, Shape] = {}  # compartment -> its shape
        self.backups = 0
        self._now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self._serial = 0

    @property
    def volumes(self) -> int:
        return sum(shape.resources for shape in self.shapes.values())

    def grow_to(self, count: int) -> None:
        with _counted_member_ocids():
            while len(self.compartments) < count:
                self._add_compartment(len(self.compartments))

    def _add_compartment(self, number: int) -> None:
        shape = self.layout.shape_of(number)
        compartment = self.emulator.add_compartment(self.emulator.tenancy_id, f"team-{number:04d}")
        user_tags = {"team": f"team-{number:04d}", **_USER_TAGS}
        counts = {"volume": shape.volumes, "boot_volume": shape.boot_volumes, "volume_group": shape.groups}
        for kind in _KINDS:
            for resource in range(counts[kind]):
                resource_id = self._ocid(_PARENT_TYPE[kind], SOURCE_REGION)
                for day in range(shape.days):
                    created = self._now - timedelta(days=day, hours=resource % 24)
                    name = f"team-{number:04d}-{kind[0]}{resource:03d}-d{day:02d}"
                    self._seed_pair(kind, shape, compartment, resource_id, name, created, day, user_tags)
        self.shapes[compartment] = shape
        self.compartments.append(compartment)

    def _seed_pair(
        self,
        kind: str,
        shape: Shape,
        compartment: str,
        resource_id: str,
        name: str,
        created: datetime,
        day: int,
        user_tags: dict[str, str],
    ) -> None:
        """One source backup and, but on the newest day, its marked copy."""
        members = {"members": GROUP_MEMBERS} if kind == "volume_group" else {}
        resource_type = kind.replace("_", "") + "backup"
        source_id = self._ocid(resource_type, SOURCE_REGION)
        copy_id = self._ocid(resource_type, DESTINATION_REGION) if day > 0 else None
        self.emulator.seed_backup(
            kind,
            SOURCE_REGION,
            compartment,
            backup_id=source_id,
            volume_id=resource_id,
            display_name=name,
            time_created=created,
            source_type="SCHEDULED",
            freeform_tags={**user_tags, record_key(DESTINATION_REGION): copy_id} if copy_id else user_tags,
            defined_tags=_oracle_tags(_SCHEDULER, created),
            **members,
        )
        self.backups += 1 + GROUP_MEMBERS * bool(members)
        if copy_id is None:
            return
        expires = created + timedelta(days=shape.expires_after_days)
        mark = Mark(copy_id, source_id, resource_id, created, expires)
        copied = created + timedelta(hours=1)
        self.emulator.seed_backup(
            kind,
            DESTINATION_REGION,
            compartment,
            backup_id=copy_id,
            volume_id=resource_id,
            display_name=name,
            time_created=copied,
            source_backup_id=source_id,
            source_type="SCHEDULED",
            freeform_tags={**user_tags, **mark.tags()},
            defined_tags=_oracle_tags(_FUNCTION, copied),
            **members,
        )
        self.backups += 1 + GROUP_MEMBERS * bool(members)

    def _ocid(self, resource_type: str, region: str) -> str:
        # Counted, not random: secrets.choice for millions of OCIDs would take longer than the reads.
        # Fixed width, so every compartment of a shape lists pages of the same length (sdk_cost.py).
        self._serial += 1
        return f"ocid1.{resource_type}.oc1.{_SHORT[region]}.scale{self._serial:055d}"

    def bodies(self, action: str) -> list[bytes]:
        """One invocation over the whole tenancy: {"compartmentId": <tenancy>, "subtree": true}."""
        extra = {} if action == "report" else {"dryRun": True}
        scope = {"compartmentId": self.emulator.tenancy_id, "subtree": True}
        return [json.dumps({"action": action, **scope, **extra}).encode()]

    def environment(self, workers: int) -> dict[str, str]:
        return function_environment(self.world, workers)


def function_environment(world: World, workers: int) -> dict[str, str]:
    """As a deployed function runs: metrics on (the default), posted to the emulator's Monitoring."""
    emulator = world.emulator
    return {
        **world.function_environment(),
        "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
        "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
        "METRICS": "true",
        "MAX_CONCURRENCY": str(workers),
    }


_members = itertools.count(1)


@contextmanager
def _counted_member_ocids() -> Iterator[None]:
    """While seeding, the emulator names a volume group backup's members with counted OCIDs.

    It draws each member's OCID and its volume's at random (ocids.random_part: 60 calls of
    secrets.choice), which took four fifths of the time to seed a million backups. Counted ones
    are as unique and as long; the backend is the same, only its source of names is swapped,
    and put back before any request is served.
    """
    drawn = emulator_models.new_ocid

    def counted(resource_type: str, region: str) -> str:
        return f"ocid1.{resource_type}.oc1.{short_region_code(region)}.member{next(_members):054d}"

    emulator_models.new_ocid = counted
    try:
        yield
    finally:
        emulator_models.new_ocid = drawn


def _oracle_tags(created_by: str, created: datetime) -> dict[str, dict[str, str]]:
    created_on = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"Oracle-Tags": {"CreatedBy": created_by, "CreatedOn": created_on}}
