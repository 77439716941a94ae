"""The fork server runs the real oci CLI as a fresh process runs it: the same script both ways, compared.

Each command of SCRIPT exercises a way a command can differ: a file:// argument read relative to the working
directory, one read from standard input and from a descriptor the script opened, --query and --raw-output,
a query with an empty result (its sentence on stderr), JSON output, a service error (exit 1, its JSON on
stderr), a usage error (click says so on stderr; oci-cli exits 1), --help, and one whose environment differs
in a variable the CLI's import read, which the server must hand back to run as a fresh process. What each way printed, exited with, recorded as words and
sent to the control plane must be the same, and the server's log must show that it forked all the others.

A probe CLI of the same shape (an `oci` script, oci_cli.cli's cli(), a service_mapping) then reports the process
it runs in, through the server and fresh, side by side: argv, orig_argv, working directory, umask, environment
(with what its import set), descriptors, the standard streams' every setting on a pipe, a file and a terminal,
buffered or not, the logging handler its import bound to stderr; and how it ends: an exit code, atexit, an
uncaught exception's traceback, a signal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_runtime import oci_fork
from local_runtime.control_plane import ControlPlane, ScriptRun, workstation
from local_runtime.control_plane.workstation import FORK_SERVER, PLAIN_WRAPPER
from local_runtime.oci_cli import oci_cli

pytestmark = pytest.mark.timeout(900)  # the first run on a machine installs oci-cli (about a minute)

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaforkservertenancy"
STATEMENTS = ["Allow group admins to manage all-resources in tenancy"]
UPDATED = ["Allow group admins to read all-resources in tenancy"]
# A variable oci's import reads (oci/retry/__init__.py): a command that sets it cannot be a fork of the import.
IMPORT_TIME_VARIABLE = "OCI_SDK_DEFAULT_RETRY_ENABLED"
SCRIPT = f"""set -u
exec 7<tags.json
run() {{ "$@"; echo "exit $?"; }}
run oci iam policy create --compartment-id {TENANCY} --name one --description first \\
  --statements file://statements.json --query data.id --raw-output
echo '{json.dumps(UPDATED)}' | run oci iam policy update --policy-id ocid1.policy.oc1..one --force \\
  --statements file:///dev/stdin --version-date "" --freeform-tags file:///dev/fd/7
run oci iam policy list --compartment-id {TENANCY} --query "data[?name=='missing'].id | [0]" --raw-output
run oci iam policy get --policy-id ocid1.policy.oc1..missing
run oci iam policy create --compartment-id {TENANCY} --name two
run oci iam policy create --help
{IMPORT_TIME_VARIABLE}=false run oci iam policy list --compartment-id {TENANCY} --query 'data[].name'
"""


def _run(folder: Path, fork_server: bool) -> tuple[ScriptRun, list[Any], str]:
    plane = ControlPlane(TENANCY)
    folder.mkdir()
    (folder / "statements.json").write_text(json.dumps(STATEMENTS))
    (folder / "tags.json").write_text(json.dumps({"team": "storage"}))
    with workstation(folder, oci_cli(), plane, fork_server=fork_server) as shell:
        assert shell.oci_runner == (FORK_SERVER if fork_server else PLAIN_WRAPPER)
        run = shell.run(SCRIPT)
        endpoint = shell.endpoint
    sent = [(sent.method, sent.path, sent.query, sent.body) for sent in plane.sent]
    return run, sent, endpoint


def _same_anywhere(text: str, endpoint: str, folder: Path) -> str:
    """What differs between any two runs: the control plane's port, the folder, the time."""
    text = text.replace(endpoint, "<endpoint>").replace(str(folder), "<folder>")
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?", "<time>", text)


def test_a_script_runs_through_the_fork_server_as_through_the_plain_cli(tmp_path: Path) -> None:
    server = oci_fork.shared(oci_cli())
    assert server is not None, "the fork server did not start"
    logged = len(server.log_lines())
    forked, forked_sent, forked_endpoint = _run(tmp_path / "forked", fork_server=True)
    log = server.log_lines()[logged:]
    plain, plain_sent, plain_endpoint = _run(tmp_path / "plain", fork_server=False)

    assert forked.oci_calls == plain.oci_calls
    assert len(forked.oci_calls) == 7
    assert forked_sent == plain_sent
    assert [method for method, *_ in forked_sent] == ["POST", "PUT", "GET", "GET", "GET"]
    assert forked.returncode == plain.returncode == 0
    out, err = (_same_anywhere(text, forked_endpoint, tmp_path / "forked") for text in (forked.stdout, forked.stderr))
    assert out == _same_anywhere(plain.stdout, plain_endpoint, tmp_path / "plain")
    assert err == _same_anywhere(plain.stderr, plain_endpoint, tmp_path / "plain")
    # The commands did what each case is for.
    assert re.findall(r"^exit \d+$", out, re.M) == [
        "exit 0",
        "exit 0",
        "exit 0",
        "exit 1",
        "exit 1",
        "exit 0",
        "exit 0",
    ]
    assert out.startswith("ocid1.policy.oc1..one\nexit 0\n")
    assert '"statements": [\n      "Allow group admins to read all-resources in tenancy"' in out
    assert '"freeform-tags": {\n      "team": "storage"' in out
    assert "Query returned empty result, no output to show." in err
    assert '"code": "NotAuthorizedOrNotFound"' in err
    assert "Error: Missing option(s) --statements, --description." in err
    assert "Usage: oci iam policy create [OPTIONS]" in out
    # Every command but the last was a fork; the last ran as a fresh process, saying why.
    words = [" ".join(call) for call in forked.oci_calls]
    forks = [line for line in log if line.startswith("forked iam ")]
    assert len(forks) == 6
    assert all(f"--endpoint {forked_endpoint} {command}: " in line for line, command in zip(forks, words, strict=False))
    [plain_line] = [line for line in log if line.startswith("plain")]
    assert plain_line.startswith(f"plain ({IMPORT_TIME_VARIABLE} is not what the import read): ")
    assert plain_line.endswith(words[-1])


def test_a_cli_whose_server_cannot_start_runs_plain(tmp_path: Path) -> None:
    # An `oci` whose oci_cli cannot even give its service mapping: the server exits before it is ready.
    bin_folder = tmp_path / "venv" / "bin"
    (bin_folder / "oci_cli").mkdir(parents=True)
    (bin_folder / "oci_cli" / "service_mapping.py").write_text('raise ImportError("a broken install")\n')
    (bin_folder / "python").symlink_to(sys.executable)
    oci = bin_folder / "oci"
    oci.write_text('#!/bin/sh\necho "plain oci $*"\n')
    oci.chmod(0o700)
    assert oci_fork.start(oci) is None
    with workstation(tmp_path / "shell", oci, ControlPlane(TENANCY)) as shell:
        assert shell.oci_runner == PLAIN_WRAPPER
        run = shell.run("oci iam policy list")
    assert run.oci_calls == [["iam", "policy", "list"]]
    assert (
        run.stdout == f"plain oci --config-file {tmp_path}/shell/config --endpoint {shell.endpoint} iam policy list\n"
    )


def test_a_client_whose_server_is_gone_runs_the_cli_itself(tmp_path: Path) -> None:
    oci = tmp_path / "oci"
    oci.write_text('#!/bin/sh\necho "plain oci $*"\n')
    oci.chmod(0o700)
    gone = oci_fork.ForkServer(oci, tmp_path, None)  # type: ignore[arg-type]  # no process: only its command
    ran = subprocess.run([*gone.command("--prefix"), "words"], capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "plain oci --prefix words\n", "")


# A stand-in for oci-cli with the same shape (an `oci` script running oci_cli.cli's cli(), a service_mapping
# the server routes by), whose command reports the process it runs in: what a fork must get right.
PROBE_SCRIPT = """#!{python}
import re
import sys
from oci_cli.cli import cli
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\\\.pyw|\\\\.exe)?$', '', sys.argv[0])
    sys.exit(cli())
"""
PROBE_CLI = """
import atexit, json, logging, os, signal, stat, sys
logging.basicConfig()  # as oci_cli.cli_root does at import: its handler holds sys.stderr
os.environ["PROBE_IMPORTED"] = "yes"  # as oci_cli/__init__.py sets OCI_PYTHON_SDK_NO_SERVICE_IMPORTS
SETTING = os.environ.get("PROBE_SETTING")  # read at import
HANDLER = logging.getLogger().handlers[0]


def stream(name):
    stream = getattr(sys, name)
    raw = getattr(stream.buffer, "raw", stream.buffer)
    return [stream is getattr(sys, "__" + name + "__"), raw.name, stream.mode, stream.fileno(), stream.encoding,
            stream.errors, stream.line_buffering, stream.write_through, stream.isatty(), stream.seekable()]


def is_open(number):
    try:
        return os.fstat(number) is not None
    except OSError:  # the listing's own
        return False


def descriptor(number):
    mode = os.fstat(number).st_mode
    kind = "fifo" if stat.S_ISFIFO(mode) else "chr" if stat.S_ISCHR(mode) else "file"
    return [number, kind, os.readlink(f"/proc/self/fd/{number}") if kind == "file" else ""]


def cli():
    open_now = [int(n) for n in os.listdir("/proc/self/fd")]
    umask = os.umask(0)
    os.umask(umask)
    facts = {
        "argv": sys.argv, "orig_argv": sys.orig_argv, "cwd": os.getcwd(), "umask": umask,
        "environment": dict(os.environ), "path": sys.path[:2], "main": sys.modules["__main__"].__file__,
        "descriptors": [descriptor(n) for n in sorted(open_now) if is_open(n)],
        "streams": [stream(name) for name in ("stdin", "stdout", "stderr")], "setting": SETTING,
        "handler holds stderr": HANDLER.stream is sys.stderr, "stdin": sys.stdin.read(),
    }
    with open(sys.argv[sys.argv.index("--facts") + 1], "w") as out:
        json.dump(facts, out)
    print("to stdout")
    logging.warning("to stderr through the handler")
    atexit.register(print, "atexit ran", file=sys.stderr)
    if "--raise" in sys.argv:
        raise RuntimeError("uncaught")
    if "--terminate" in sys.argv:
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGTERM)
    return 3
"""


@dataclass(frozen=True)
class Probe:
    oci: Path
    server: oci_fork.ForkServer
    environment: dict[str, str]  # the server's, and the commands'


@pytest.fixture(scope="module", params=["buffered", "unbuffered"])
def probe(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Probe]:
    """The probe's CLI and a server of its own, both started with standard streams buffered (Python's default)
    or not (PYTHONUNBUFFERED, as this project's environment may set)."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    if request.param == "unbuffered":
        environment["PYTHONUNBUFFERED"] = "1"
    bin_folder = tmp_path_factory.mktemp("probe") / "bin"
    (bin_folder / "oci_cli").mkdir(parents=True)
    (bin_folder / "python").symlink_to(sys.executable)
    (bin_folder / "oci_cli" / "__init__.py").write_text("")
    (bin_folder / "oci_cli" / "service_mapping.py").write_text('service_mapping = {"probe": ["probe", "", ""]}\n')
    (bin_folder / "oci_cli" / "cli.py").write_text(PROBE_CLI)
    oci = bin_folder / "oci"
    oci.write_text(PROBE_SCRIPT.format(python=bin_folder / "python"))
    oci.chmod(0o700)
    server = oci_fork.start(oci, environment)
    assert server is not None
    yield Probe(oci, server, environment)
    server.stop()


def _probe(argv: list[str], folder: Path, stdout: int, words: list[str], environment: dict[str, str]) -> Any:
    facts = folder / "facts.json"
    with (folder / "extra").open("w") as extra, (folder / "stderr").open("w+") as stderr:
        done = subprocess.run(
            [*argv, "probe", "run", *words, "--facts", str(facts)],
            input="standard input",
            stdout=stdout,
            stderr=stderr,
            cwd=folder,
            env=environment,
            umask=0o027,
            pass_fds=(extra.fileno(),),
            text=True,
            timeout=60,
        )
        stderr.seek(0)
        return done.returncode, json.loads(facts.read_text()), stderr.read(), done.stdout


def _both_ways(
    probe: Probe, tmp_path: Path, stdout: str, words: list[str], changes: dict[str, str] | None = None
) -> tuple[Any, Any]:
    """The probe run through the server and as a fresh process, its folder's name made the same."""
    environment = {**probe.environment, **(changes or {})}
    results = []
    for way, argv in (("forked", probe.server.command()), ("fresh", [str(probe.oci)])):
        folder = tmp_path / way
        folder.mkdir(parents=True)
        primary, secondary = os.openpty()
        with (folder / "stdout").open("w") as file:
            target = {"pipe": subprocess.PIPE, "file": file.fileno(), "terminal": secondary}[stdout]
            result = _probe(argv, folder, target, words, environment)
        os.close(primary)
        os.close(secondary)
        results.append(json.loads(json.dumps(result).replace(str(folder), "<folder>")))
    return results[0], results[1]


@pytest.mark.parametrize("stdout", ["pipe", "file", "terminal"])
def test_a_fork_is_the_process_a_fresh_cli_would_be(probe: Probe, tmp_path: Path, stdout: str) -> None:
    forked, fresh = _both_ways(probe, tmp_path, stdout, [])
    assert forked == fresh
    code, facts, err, out = fresh
    assert (code, err) == (3, "WARNING:root:to stderr through the handler\natexit ran\n")
    assert out == ("to stdout\n" if stdout == "pipe" else None)
    assert facts["handler holds stderr"]
    assert facts["environment"]["PROBE_IMPORTED"] == "yes"
    assert [kind for _, kind, _ in facts["descriptors"]] == [
        "fifo",
        "chr" if stdout == "terminal" else stdout.replace("pipe", "fifo"),
        "file",
        "file",
    ]
    assert [line for line in probe.server.log_lines() if "probe run" in line][-1].startswith("forked probe ")


def test_an_uncaught_error_a_signal_and_a_changed_import_setting_read_as_a_fresh_cli_s(
    probe: Probe, tmp_path: Path
) -> None:
    forked, fresh = _both_ways(probe, tmp_path / "raise", "pipe", ["--raise"])
    assert forked == fresh
    code, _, err, _ = fresh
    assert code == 1
    assert err.startswith("WARNING:root:to stderr through the handler\nTraceback (most recent call last):\n")
    assert f'  File "{probe.oci}", line 7, in <module>' in err  # the script's frame first, as a fresh process's
    assert err.endswith("RuntimeError: uncaught\natexit ran\n")
    forked, fresh = _both_ways(probe, tmp_path / "terminate", "pipe", ["--terminate"])
    assert forked == fresh
    assert fresh[0] == -signal.SIGTERM  # the client ends by the signal that ended the command
    forked, fresh = _both_ways(probe, tmp_path / "setting", "pipe", [], {"PROBE_SETTING": "other"})
    assert forked == fresh
    assert fresh[1]["setting"] == "other"
    [line] = [line for line in probe.server.log_lines() if line.startswith("plain")]
    assert line.startswith("plain (PROBE_SETTING is not what the import read): ")
