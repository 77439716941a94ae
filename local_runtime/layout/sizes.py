"""How much a tree weighs: the apparent size of its files, which is what an image layer stores."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TreeSize:
    total_bytes: int
    bytecode_bytes: int
    files: int


def tree_size(root: Path) -> TreeSize:
    total = bytecode = files = 0
    for directory, _, names in os.walk(root):
        for name in names:
            size = (Path(directory) / name).lstat().st_size
            total += size
            files += 1
            if name.endswith(".pyc"):
                bytecode += size
    return TreeSize(total, bytecode, files)
