"""An operator's shell for running a printed setup script for real: bash, the real oci CLI, and fn.

`oci` on the PATH is oci-cli itself (local_runtime/oci_cli.py's cached install), given a generated
API key and `--endpoint` this control plane's local HTTP server, so it sends the requests it would
send to OCI and reads the answers a ControlPlane gives; each command's words are recorded as bash
handed them over. `fn` on the PATH is a small shim that hands its words (and, for invoke, its
stdin) to the same server, where FnCli runs them against the same functions the oci CLI reads
and updates: one state, whichever tool a script uses.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .cloud import ControlPlane
from .fn_cli import FnCli, FnRun

FN_PATH = "/__fn__"
SCRIPT_TIMEOUT_SECONDS = 900

# What `oci` runs: records its words, one JSON list a line, then the real CLI against the control plane.
_OCI_WRAPPER = """#!/bin/sh
{python} -c 'import json, os, sys; open(os.environ["OCI_CALLS"], "a").write(json.dumps(sys.argv[1:]) + "\\n")' "$@"
exec {oci} --config-file {config} --endpoint {endpoint} "$@"
"""
# What `fn` runs. fn reads stdin only for invoke, and only when it is not a terminal (commands/invoke_others.go).
_FN_SHIM = """#!{python}
import base64, json, os, sys, urllib.request
argv = sys.argv[1:]
stdin = sys.stdin.buffer.read() if argv[:1] in (["invoke"], ["iv"]) and not sys.stdin.isatty() else b""
body = json.dumps({{"argv": argv, "stdin": base64.b64encode(stdin).decode()}}).encode()
request = urllib.request.Request(os.environ["FN_CONTROL_PLANE"] + "{path}", data=body, headers={{"content-type": "application/json"}})
answer = json.load(urllib.request.urlopen(request, timeout={timeout}))
sys.stdout.write(answer["stdout"])
sys.stderr.write(answer["stderr"])
sys.exit(answer["exit"])
"""


@dataclass(frozen=True)
class ScriptRun:
    """One run of a script: its exit, its output, and each oci and fn command it ran."""

    returncode: int
    stdout: str
    stderr: str
    oci_calls: list[list[str]]  # each oci command's words, as bash handed them over
    fn_runs: list[FnRun]


def _handler(plane: ControlPlane, fn: FnCli) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = json.loads(raw) if raw else None
            headers: dict[str, str] = {}
            if url.path == FN_PATH:
                run = fn.run(list(body["argv"]), base64.b64decode(body["stdin"]))
                status, answer = 200, {"stdout": run.stdout, "stderr": run.stderr, "exit": run.exit_code}
            else:
                reply = plane.answer(self.command, url.path, dict(parse_qsl(url.query)), body)
                status, answer, headers = reply.status, reply.body, reply.headers
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            for name, value in {"content-type": "application/json", "opc-request-id": "local", **headers}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines would flood test output."""

    return Handler


def _api_key(folder: Path, tenancy_id: str) -> Path:
    """An oci CLI config with a generated API key: the CLI signs, nobody checks."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = folder / "key.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    config = folder / "config"
    config.write_text(
        "[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaaexampleuser\n"
        "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\n"
        f"key_file={pem}\ntenancy={tenancy_id}\nregion=us-phoenix-1\n"
    )
    pem.chmod(0o600)
    config.chmod(0o600)
    return config


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o700)


@dataclass
class Workstation:
    folder: Path
    plane: ControlPlane
    fn: FnCli
    endpoint: str

    @property
    def bin(self) -> Path:
        return self.folder / "bin"

    def run(self, script: str, extra_environment: dict[str, str] | None = None) -> ScriptRun:
        """`bash <script>` in the workstation's folder; the calls of this run only."""
        number = len(list(self.folder.glob("script-*.sh")))
        path = self.folder / f"script-{number}.sh"
        path.write_text(script)
        calls = self.folder / f"oci-calls-{number}"
        before = len(self.fn.runs)
        environment = {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "OCI_CALLS": str(calls),
            "FN_CONTROL_PLANE": self.endpoint,
            "SUPPRESS_LABEL_WARNING": "True",
            **(extra_environment or {}),
        }
        done = subprocess.run(
            ["bash", str(path)],
            cwd=self.folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        oci_calls = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
        return ScriptRun(done.returncode, done.stdout, done.stderr, oci_calls, self.fn.runs[before:])


@contextmanager
def workstation(folder: Path, oci: Path, plane: ControlPlane, fn: FnCli | None = None) -> Iterator[Workstation]:
    """A shell whose `oci` (the executable at `oci`) and `fn` reach `plane`, served while the block runs."""
    fn = fn or FnCli(plane)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(plane, fn))
    thread = threading.Thread(target=server.serve_forever, name="control-plane", daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bin").mkdir(exist_ok=True)
        config = _api_key(folder, plane.tenancy_id)
        _executable(
            folder / "bin" / "oci",
            _OCI_WRAPPER.format(python=sys.executable, oci=oci, config=config, endpoint=endpoint),
        )
        _executable(
            folder / "bin" / "fn", _FN_SHIM.format(python=sys.executable, path=FN_PATH, timeout=SCRIPT_TIMEOUT_SECONDS)
        )
        yield Workstation(folder, plane, fn, endpoint)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
