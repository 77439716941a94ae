"""The real oci CLI without its start-up each time: a fork server, for the tests that run it hundreds of times.

A fresh `oci` spends a second or two of CPU importing oci-cli before it reads its first word; a setup script runs
dozens of commands, and the deploy kit's tests run several scripts. server.py imports the CLI once per service and
forks a child per command that runs the CLI's own `oci` script, with the command's argv, environment, working
directory, umask and descriptors; client.py is the `oci` that hands a command over and exits with its status.
It is the same CLI, run the same way: each command a fresh fork of a process that never ran one, so nothing a
command leaves in-process reaches the next; a command whose environment differs in anything the import read runs
as a fresh process instead (server.py says what is checked). tests/control_plane/test_oci_fork.py runs the same
commands both ways and compares what they printed, exited with, recorded and sent.

shared(oci) starts one server per session (on first use; stopped when the session ends, or when the server sees
its stdin close) and answers None when it cannot start, so callers fall back to running the CLI as it is.
"""

from __future__ import annotations

import atexit
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

SERVER = Path(__file__).with_name("server.py")
CLIENT = Path(__file__).with_name("client.py")
START_SECONDS = 60.0
STOP_SECONDS = 10.0


@dataclass
class ForkServer:
    oci: Path
    folder: Path  # private (0700): the socket and the log
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.folder / "socket"

    @property
    def log(self) -> Path:
        return self.folder / "log"

    def command(self, *prefix: str) -> list[str]:
        """The argv that runs `oci <prefix> <words>` through the server, given the words after it; only the
        words are recorded in OCI_CALLS (when set)."""
        client = [sys.executable, "-S", "-P", str(CLIENT), str(self.socket)]
        return [*client, str(self.oci), str(len(prefix)), *prefix]

    def log_lines(self) -> list[str]:
        """One line per command: `forked <service> <pid>: <words>: <exit>`, or `plain (<why>): <words>`."""
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the server's signal to stop
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(oci: Path, environment: dict[str, str] | None = None) -> ForkServer | None:
    """A fork server for the CLI at `oci` (a script in its venv's bin), or None when it does not come up.
    Its zygotes import the CLI in `environment` (this process's by default): a command whose environment
    differs in what that import read runs as a fresh process."""
    folder = Path(tempfile.mkdtemp(prefix="oci-fork-"))  # short: a socket's path holds at most 107 bytes
    try:
        with (folder / "log").open("wb") as log:
            process = subprocess.Popen(
                [str(oci.parent / "python"), "-P", str(SERVER), str(oci), str(folder / "socket")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
            )
    except OSError as error:
        sys.stderr.write(f"the oci fork server did not start; the CLI runs plain: {error}\n")
        shutil.rmtree(folder, ignore_errors=True)
        return None
    server = ForkServer(oci, folder, process)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
    if not ready or process.stdout.readline() != b"ready\n":
        sys.stderr.write(f"the oci fork server did not start; the CLI runs plain: {server.log_lines()[-5:]}\n")
        server.stop()
        return None
    process.stdout.close()
    return server


_servers: dict[Path, ForkServer | None] = {}
_starting = threading.Lock()


def shared(oci: Path) -> ForkServer | None:
    """This process's fork server for `oci`: started on first use, stopped at exit; None if it cannot start."""
    with _starting:
        if oci not in _servers:
            server = _servers[oci] = start(oci)
            if server is not None:
                atexit.register(server.stop)
        return _servers[oci]
