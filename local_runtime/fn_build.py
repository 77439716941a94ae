"""The function laid out as `fn build` lays it out without the Dockerfile, and without Docker.

This is the fallback build (delete the Dockerfile); the image the Dockerfile builds is laid
out by local_runtime/layout, which starts from the same cached install. `fn build` for
runtime python runs `pip install --target /python/ -r requirements.txt`, copies the
function's folder to /function, and runs `/python/bin/fdk /function/func.py handler` with
PYTHONPATH=/function:/python. The install is the slow part, so it is cached per
(requirements.txt, Python version) outside the work tree, where fresh clones find it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "backup-copier" / "fn-build"
# What the fallback image runs from /function. .dockerignore keeps the rest out, except the
# layout code the Dockerfile's build stage needs, which the fallback copies along unused.
FUNCTION_FILES = ("func.py", "func.yaml", "requirements.txt", "backup_copier")


def installed_requirements(requirements: Path, target_options: Sequence[str] = ()) -> Path:
    """A folder holding `pip install --target` of `requirements`, installed once and reused.

    `target_options` (`--platform ... --python-version ... --only-binary=:all:`) install the
    wheels of another Python or machine than this one; they are part of the cache's key.
    """
    key = requirements.read_bytes() + sys.version.encode() + " ".join(target_options).encode()
    digest = hashlib.sha256(key).hexdigest()[:16]
    target = CACHE_ROOT / digest / "python"
    if (target / "bin" / "fdk").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="python-", dir=target.parent))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(staging),
            *target_options,
            "-r",
            str(requirements),
        ],
        check=True,
    )
    try:
        # Atomic: a concurrent or interrupted build never leaves a half-installed cache.
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def lay_out_function(project_root: Path, destination: Path) -> Path:
    """Copy what the image holds to destination/function and return that folder."""
    function_dir = destination / "function"
    function_dir.mkdir(parents=True)
    for name in FUNCTION_FILES:
        source = project_root / name
        if source.is_dir():
            shutil.copytree(source, function_dir / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, function_dir / name)
    return function_dir
