"""The function behind the real fdk server, started and called the way the Fn agent does.

The agent sets FN_FORMAT=http-stream and FN_LISTENER=unix:<dir>/lsnr.sock, starts the
image's entrypoint (`fdk func.py handler`), waits for lsnr.sock to appear (the fdk binds
phonylsnr.sock, then symlinks lsnr.sock to it), and POSTs each call to /call with the
Fn-Call-Id and Fn-Deadline headers.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# fdk 0.1.x never updates the clock its keep-alive timer reads (fdk.async_http.protocol's
# current_time stays None; server.py updates a global of its own), so a connection left open
# past the 75 s keep-alive timeout makes the server re-arm that timer at zero delay and spin
# its event loop at full speed until the connection closes. A dozen idle test containers
# spinning would starve the machine, so a connection idle this long is closed; calls in quick
# succession (the benchmark's warm rounds) still share one, as with the Fn agent.
IDLE_CLOSE_SECONDS = 20.0
LOG_SERVICE = '"service":"backup-copier"'


@dataclass(frozen=True)
class Runtime:
    """Where a function process finds its code and its requirements, and how its fdk is started."""

    function_dir: Path
    python_path: list[Path]
    fdk_command: list[str]
    environment: dict[str, str] = field(default_factory=dict)


# The work tree itself, with this virtual environment's fdk and packages.
WORK_TREE = Runtime(PROJECT_ROOT, [PROJECT_ROOT], [str(Path(sys.executable).parent / "fdk")])
_default_runtime: Runtime | Callable[[], Runtime] = WORK_TREE


def set_default_runtime(runtime: Runtime | Callable[[], Runtime]) -> None:
    """What FunctionProcess runs when not told otherwise; a callable is called once, on first use.

    The test session points this at the image's layout (tests/conftest.py), so that every
    end-to-end test runs the function as the image holds it.
    """
    global _default_runtime
    _default_runtime = runtime


def default_runtime() -> Runtime:
    global _default_runtime
    if callable(_default_runtime):
        _default_runtime = _default_runtime()
    return _default_runtime


@dataclass(frozen=True)
class FnResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._socket_path)


class FunctionProcess:
    """One function container: a long-lived fdk process serving calls on a unix socket."""

    def __init__(
        self,
        environment: dict[str, str],
        *,
        function_dir: Path | None = None,
        python_path: list[Path] | None = None,
        fdk_command: list[str] | None = None,
    ) -> None:
        runtime = default_runtime() if function_dir is None else Runtime(function_dir, [function_dir], [])
        self.function_dir = runtime.function_dir
        self.environment = {**runtime.environment, **environment}
        self.python_path = python_path if python_path is not None else runtime.python_path
        self.fdk_command = fdk_command or runtime.fdk_command or WORK_TREE.fdk_command
        # Socket paths are limited to 107 bytes: keep the folder short and absolute.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="fn", dir="/tmp"))
        self.socket_path = self.socket_dir / "lsnr.sock"
        self.stderr_path = self.socket_dir / "stderr.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: _UnixConnection | None = None
        # The Fn agent sends a container one call at a time; callers on several threads queue here.
        self._one_call_at_a_time = threading.Lock()
        self._idle_closer: threading.Timer | None = None

    def start(self, timeout: float = 20.0) -> FunctionProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            **self.environment,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{self.socket_path}",
            "PYTHONPATH": os.pathsep.join(str(path) for path in self.python_path),
        }
        command = [*self.fdk_command, str(self.function_dir / "func.py"), "handler"]
        with open(self.stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(command, env=env, stdout=stderr, stderr=stderr, cwd=self.socket_dir)
        give_up = time.monotonic() + timeout
        while not self.socket_path.is_symlink():
            if self._process.poll() is not None:
                raise RuntimeError(f"fdk exited with {self._process.returncode}:\n{self.stderr()}")
            if time.monotonic() > give_up:
                self.stop()
                raise TimeoutError(f"fdk did not listen within {timeout} s:\n{self.stderr()}")
            time.sleep(0.005)
        return self

    def invoke(
        self,
        body: bytes | str | dict[str, Any] | list[Any],
        *,
        call_id: str | None = None,
        deadline_seconds: float = 30.0,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> FnResponse:
        """POST /call as the Fn agent does; the connection is kept alive between calls."""
        if isinstance(body, dict | list):
            body = json.dumps(body)
        payload = body.encode() if isinstance(body, str) else body
        deadline = datetime.now(UTC) + timedelta(seconds=deadline_seconds)
        headers = {
            "Fn-Call-Id": call_id or uuid.uuid4().hex.upper()[:26],
            "Fn-Deadline": deadline.isoformat().replace("+00:00", "Z"),
            "Content-Type": content_type,
            "Content-Length": str(len(payload)),
        }
        with self._one_call_at_a_time:
            if self._idle_closer is not None:
                self._idle_closer.cancel()
            response = self._send(payload, headers, timeout or deadline_seconds + 10)
            self._idle_closer = threading.Timer(IDLE_CLOSE_SECONDS, self._close_idle_connection)
            self._idle_closer.daemon = True
            self._idle_closer.start()
            return response

    def _close_idle_connection(self) -> None:
        with self._one_call_at_a_time:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _send(self, payload: bytes, headers: dict[str, str], timeout: float) -> FnResponse:
        for attempt in range(2):
            connection = self._connection or _UnixConnection(str(self.socket_path), timeout)
            try:
                connection.request("POST", "/call", body=payload, headers=headers)
                answer = connection.getresponse()
                response = FnResponse(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
            except (ConnectionError, http.client.RemoteDisconnected):
                # A kept-alive connection the server has since closed: reconnect once.
                connection.close()
                self._connection = None
                if attempt:
                    raise
                continue
            self._connection = connection
            return response
        raise AssertionError("unreachable")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def log_lines(self) -> list[dict[str, Any]]:
        """The function's structured log lines, oldest first."""
        return [json.loads(line) for line in self.stderr().splitlines() if LOG_SERVICE in line]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._idle_closer is not None:
            self._idle_closer.cancel()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def __enter__(self) -> FunctionProcess:
        return self.start()

    @staticmethod
    def stop_all(processes: list[FunctionProcess]) -> None:
        """Stop many at once: each takes a few hundred milliseconds to exit after SIGTERM, so they
        are all signalled first and then waited for, not one after the other."""
        for process in processes:
            if process._process is not None and process._process.poll() is None:
                process._process.terminate()
        for process in processes:
            process.stop()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
