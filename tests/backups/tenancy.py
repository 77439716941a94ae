"""A seeded tenancy holding every case the passes tell apart, for the tests that read it two ways."""

from __future__ import annotations

import uuid
from datetime import timedelta

from blockstorage_emulator import Emulator
from blockstorage_emulator.models import format_time
from tests.helpers import NOW, SOURCE_REGION, seed_backup, seed_copy

KINDS = ("volume", "boot_volume", "volume_group")


def seed_tenancy(emulator: Emulator) -> tuple[str, list[str]]:
    """A parent compartment and three below it, each holding every case a pass tells apart."""
    parent = emulator.add_compartment(emulator.tenancy_id, f"equivalence-{uuid.uuid4().hex[:8]}")
    compartments = [emulator.add_compartment(parent, f"team-{number}") for number in range(3)]
    emulator.add_compartment(parent, "closed", lifecycle_state="INACTIVE")
    for number, compartment in enumerate(compartments):
        for kind in KINDS:
            seed_copy(emulator, compartment, kind, hours_ago=100 + number, expires=NOW - timedelta(days=1))
            seed_copy(emulator, compartment, kind, hours_ago=80, tags={"team": "payments", "cost-centre": "7"})
            seed_copy(emulator, compartment, kind, hours_ago=60, marked=False)
            seed_copy(emulator, compartment, kind, hours_ago=40, state="FAULTY")
            seed_backup(emulator, compartment, kind, hours_ago=20, copy_state="CREATING")
            seed_backup(emulator, compartment, kind, hours_ago=10, state="CREATING")
            emulator.add_backup(
                kind,
                SOURCE_REGION,
                compartment,
                source_type="SCHEDULED",
                time_created=NOW - timedelta(hours=5),
                expiration_time=NOW + timedelta(days=30),
            )
            _, locked = seed_copy(emulator, compartment, kind, hours_ago=30)
            emulator.serve_fields(
                locked["id"],
                {
                    "isRetentionLockEnabled": True,
                    "timeRetentionExpiresAt": format_time(NOW + timedelta(days=7)),
                    "isPreventDeletionEnabled": False,
                },
            )
            _, prevented = seed_copy(emulator, compartment, kind, hours_ago=31)
            emulator.serve_fields(prevented["id"], {"isPreventDeletionEnabled": True, "isRetentionLockEnabled": False})
    return parent, compartments
