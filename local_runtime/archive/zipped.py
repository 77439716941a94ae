"""A reproducible ZIP: the same files make the same bytes, whenever and wherever they are zipped.

Entries are sorted, each with the same time (1980-01-01, the earliest a ZIP can hold), a mode
of 0644 or 0755 (whether the file is executable, nothing else of the file system), no folder
entries, and DEFLATE at zlib's default level 6 (level 9 saves 0.1 MB of 17 MB and takes four
times as long). What is left that could differ is zlib itself: the same zlib version
compresses the same bytes the same way.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_REGULAR_FILE = 0o100000


def archive_entries(roots: Iterable[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """(name in the archive, file) for every file under each (prefix, folder), sorted by name."""
    entries = []
    for prefix, root in roots:
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory) / name
                if path.is_symlink() or not path.is_file():
                    raise ValueError(f"{path} is not a regular file; the archive holds only files")
                entries.append((f"{prefix}/{path.relative_to(root).as_posix()}", path))
    return sorted(entries)


def write_zip(entries: list[tuple[str, Path]], destination: Path) -> None:
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that unzip applies the mode below
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (_REGULAR_FILE | mode) << 16
            archive.writestr(info, path.read_bytes(), compresslevel=6)
    partial.replace(destination)  # a reader never sees half an archive


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
