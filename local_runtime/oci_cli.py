"""The real `oci` CLI, in a virtual environment of its own, for the tests that check the deploy kit's commands.

oci-cli pins its own version of the OCI SDK; installed beside the function's packages it
would decide the SDK the function is tested with. So it lives in a virtual environment of its
own under ~/.cache/backup-copier/oci-cli/<version>/, built once (about a minute, from PyPI)
when missing and reused by every later run and work tree. A lock keeps two sessions from
building it at once; the marker file is written last, so a half-built environment is rebuilt.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from local_runtime.fn_build import CACHE_ROOT
from local_runtime.layout.observe import base_interpreter

OCI_CLI_VERSION = "3.95.1"
OCI_CLI_CACHE = CACHE_ROOT.parent / "oci-cli"
_MARKER = ".installed"


def oci_cli(version: str = OCI_CLI_VERSION) -> Path:
    """The `oci` executable of oci-cli `version`, installed if it is not yet."""
    home = OCI_CLI_CACHE / version
    executable = home / "bin" / "oci"
    if (home / _MARKER).is_file():
        return executable
    OCI_CLI_CACHE.mkdir(parents=True, exist_ok=True)
    with (OCI_CLI_CACHE / f"{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building it: wait, then use theirs
        if not (home / _MARKER).is_file():
            shutil.rmtree(home, ignore_errors=True)
            subprocess.run([base_interpreter(), "-m", "venv", str(home)], check=True, timeout=300)
            subprocess.run(
                [
                    str(home / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    f"oci-cli=={version}",
                ],
                check=True,
                timeout=900,
            )
            (home / _MARKER).write_text(version + "\n")
    return executable
