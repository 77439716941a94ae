"""What a /python tree puts into the image (the layout, or `pip install --target` whole), and what takes the room."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InstalledSize:
    total_bytes: int
    bytecode_bytes: int
    largest: list[tuple[str, int]]  # top-level entries, largest first


def installed_size(folder: Path, top: int = 5) -> InstalledSize:
    """Apparent sizes (what an image layer stores), per top-level package or module."""
    by_entry: dict[str, int] = {}
    bytecode = 0
    for directory, _, files in os.walk(folder):
        relative = Path(directory).relative_to(folder)
        entry = relative.parts[0] if relative.parts else None
        for name in files:
            size = (Path(directory) / name).lstat().st_size
            by_entry[entry or name] = by_entry.get(entry or name, 0) + size
            if name.endswith(".pyc"):
                bytecode += size
    largest = sorted(by_entry.items(), key=lambda item: item[1], reverse=True)[:top]
    return InstalledSize(sum(by_entry.values()), bytecode, largest)
