"""`make archive`: dist/backup-copier-<version>-py<X.Y>-<arch>.zip, the layout's two trees zipped.

For this interpreter's Python and machine (func.yaml's 3.11 on x86 by default) the archive
holds the cached python tree the tests run (local_runtime/layout, cached by
`cached_python_tree`) and a fresh function tree, both byte-compiled with unchecked hashes and
naming their files as /python/... and /function/..., so that the bytes do not depend on where
they were built. For another Python version on this machine's architecture, the target's
wheels are installed with `pip install --platform ... --python-version ... --only-binary=:all:`
and the same layout code runs under that Python (foreign.py). Either way the imports of the
function are checked against the result before it is zipped; an archive that cannot be checked
here is refused (target.py).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from local_runtime.fn_build import installed_requirements
from local_runtime.layout.build import IMAGE_ROOT, cached_python_tree, write_function_tree
from local_runtime.layout.check import check_function_imports

from .target import ArchiveRefused, Target, checking_interpreter
from .zipped import archive_entries, sha256_of, write_zip

MB = 1000 * 1000
# Oracle: uploaded directly up to 25 MB, read from Object Storage up to 250 MB ("About
# Code-only Functions"). Whether Oracle's MB is 10^6 or 2^20 bytes is not said: 10^6 is the safe side.
DIRECT_UPLOAD_LIMIT = 25 * MB
OBJECT_STORAGE_LIMIT = 250 * MB
PREFIX = "backup-copier"


class LayoutFailed(Exception):
    """The layout for another Python failed under that Python; its message says why."""


@dataclass(frozen=True)
class ArchiveReport:
    path: Path
    target: Target
    size_bytes: int
    sha256: str
    files: int

    def over_direct_upload(self) -> int:
        """Bytes beyond what can be uploaded directly (0 when it fits)."""
        return max(0, self.size_bytes - DIRECT_UPLOAD_LIMIT)

    def summary(self) -> str:
        lines = [
            f"wrote {self.path}: {self.size_bytes / MB:.1f} MB ({self.size_bytes:,} bytes) in {self.files} files",
            f"sha256 {self.sha256}",
        ]
        if self.over_direct_upload():
            lines.append(
                f"over the {DIRECT_UPLOAD_LIMIT // MB} MB direct upload by {self.over_direct_upload() / MB:.1f} MB: "
                "upload it to Object Storage and create the function with `... archive-function object-storage ...` "
                "(docs/deploying.md)"
            )
        else:
            lines.append(
                f"fits the {DIRECT_UPLOAD_LIMIT // MB} MB direct upload (`... archive-function direct-archive ...`)"
            )
        return "\n".join(lines)


def func_yaml_value(project_root: Path, wanted: str) -> str:
    for line in (project_root / "func.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == wanted:
            return value.strip()
    raise ArchiveRefused(f"func.yaml has no {wanted}")


def archive_name(project_root: Path, target: Target) -> str:
    version = func_yaml_value(project_root, "version")
    return f"{PREFIX}-{version}-py{target.python}-{target.arch}.zip"


def build_archive(
    project_root: Path,
    dist: Path,
    target: Target,
    interpreter: str | None = None,
    checked_function_dir: Path | None = None,
) -> ArchiveReport:
    """Write the target's archive into `dist`, replacing older ones for the same target.

    `checked_function_dir`: a function tree of the current code that lay_out_current_code has
    already written and checked (the test session's), zipped instead of writing another.
    """
    checker = checking_interpreter(target, interpreter)  # refuses before anything is installed or written
    with tempfile.TemporaryDirectory(prefix="archive-") as scratch:
        if target.is_this_interpreter() and interpreter is None:
            function_dir, python_dir = _lay_out_here(project_root, Path(scratch), checked_function_dir)
        else:
            function_dir, python_dir = _lay_out_under(checker, project_root, target, Path(scratch))
        entries = archive_entries([("function", function_dir), ("python", python_dir)])
        dist.mkdir(parents=True, exist_ok=True)
        path = dist / archive_name(project_root, target)
        write_zip(entries, path)
    for stale in dist.glob(f"{PREFIX}-*-py{target.python}-{target.arch}.zip*"):
        if stale != path:
            stale.unlink()  # an older version's archive for the same target
    size = path.stat().st_size
    if size > OBJECT_STORAGE_LIMIT:
        path.unlink()
        raise ArchiveRefused(
            f"the archive is {size / MB:.1f} MB, over the {OBJECT_STORAGE_LIMIT // MB} MB a code-only function can read"
        )
    return ArchiveReport(path, target, size, sha256_of(path), len(entries))


def _lay_out_here(project_root: Path, scratch: Path, checked_function_dir: Path | None) -> tuple[Path, Path]:
    python_dir, _ = cached_python_tree(project_root)
    if checked_function_dir is not None:
        return checked_function_dir, python_dir
    function_dir = write_function_tree(project_root, scratch / "function", shown_as=IMAGE_ROOT / "function")
    check_function_imports(function_dir, python_dir)
    return function_dir, python_dir


def _lay_out_under(interpreter: str, project_root: Path, target: Target, scratch: Path) -> tuple[Path, Path]:
    installed = installed_requirements(project_root / "requirements.txt", target.pip_options())
    completed = subprocess.run(
        [interpreter, "-S", "-B", "-m", "local_runtime.archive.foreign", str(installed), str(scratch)],
        cwd=project_root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        raise LayoutFailed(f"the layout under Python {target.python} failed:\n{completed.stderr.strip()}")
    return scratch / "function", scratch / "python"
