"""The payloads in events/, shared by the tests, the demo and the README's `fn invoke` examples."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blockstorage_emulator import Emulator

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
_KIND_BY_OCID_TYPE = {"volumebackup": "volume", "bootvolumebackup": "boot_volume", "volumegroupbackup": "volume_group"}


@dataclass(frozen=True)
class SampleBackup:
    """A backup an event in events/ refers to, to be seeded into the emulator."""

    kind: str
    backup_id: str
    compartment_id: str
    display_name: str
    region: str
    # An event that reports a failed backup is about a backup OCI marks FAULTY.
    lifecycle_state: str = "AVAILABLE"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return document


def names() -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.glob("*.json"))


def backups(region: str = "us-phoenix-1") -> list[SampleBackup]:
    """Every distinct backup the event files name."""
    found: dict[str, SampleBackup] = {}
    for name in names():
        data = load(name).get("data")
        if not isinstance(data, dict):
            continue
        backup_id = data["resourceId"]
        found.setdefault(
            backup_id,
            SampleBackup(
                kind=_KIND_BY_OCID_TYPE[backup_id.split(".")[1]],
                backup_id=backup_id,
                compartment_id=data["compartmentId"],
                display_name=data["resourceName"],
                region=region,
                lifecycle_state="FAULTY"
                if (data.get("additionalDetails") or {}).get("status") == "operationFailed"
                else "AVAILABLE",
            ),
        )
    return list(found.values())


def seed(emulator: Emulator, region: str = "us-phoenix-1") -> None:
    """Every backup the event files name, in the emulator, so that sending those events copies them."""
    for backup in backups(region):
        emulator.add_backup(
            backup.kind,
            backup.region,
            backup.compartment_id,
            backup_id=backup.backup_id,
            display_name=backup.display_name,
            lifecycle_state=backup.lifecycle_state,
        )
