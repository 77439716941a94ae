"""Running the deploy kit's printed scripts for real: bash, the real oci CLI, a recording cloud and an fn shim.

The text runs as an operator would run it, in a real bash. `oci` on its PATH is oci-cli 3.95.1
itself, from its own cached virtual environment (local_runtime/oci_cli.py), given a generated API
key and `--endpoint` a local HTTP server, `Cloud`, that plays OCI's control plane for what a setup
script does: it creates dynamic groups, policies, Events rules, schedules and alarms, lists them
by name, reads and updates them, reads the function and the region subscriptions, and records
every request. So a test sees what the shell hands the CLI (quoting, here-documents, the values
the script captured), what the CLI makes of it (the JSON OCI would receive), and what the cloud
holds in the end: `Cloud.resources`, by collection, is the script's recorded effect.

`fn` on the PATH is a shim that accepts only the fn CLI's own syntax (fnproject/cli 0.6.x: the
commands' argument counts and flags, read from its source: objects/fn/commands.go, fns.go,
commands/invoke.go) for the commands a setup script uses, records each call, and keeps each
function's configuration and timeout: `FnState`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local_runtime.oci_cli import cli_help, cli_problems

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancyexampletenancy"
FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaaexamplebackupcopierfunction"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafunctionsexamplecompartment"
APP = "dr-app"
READY = json.dumps({"outcome": "ready", "reason": "11 of 11 checks pass", "checks": []})


@dataclass(frozen=True)
class Kind:
    """A collection of the control plane, as its API names it."""

    ocid_type: str
    name_field: str
    # ListSchedules answers a collection object ({"items": [...]}); the others a plain list.
    wrapped: bool = False
    # UpdateSchedule answers 202 with a work request; the others the resource.
    update_accepted: bool = False


KINDS = {
    "dynamicGroups": Kind("dynamicgroup", "name"),
    "policies": Kind("policy", "name"),
    "rules": Kind("eventrule", "displayName"),
    "schedules": Kind("resourceschedule", "displayName", wrapped=True, update_accepted=True),
    "alarms": Kind("alarm", "displayName"),
}


@dataclass(frozen=True)
class Sent:
    """One request the real CLI sent."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Cloud:
    """What a setup script creates, lists and updates; each request recorded in `sent`."""

    home_region: str | None = "us-ashburn-1"
    functions: dict[str, str] = field(default_factory=lambda: {FUNCTION_ID: FUNCTION_COMPARTMENT})
    sent: list[Sent] = field(default_factory=list)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {kind: {} for kind in KINDS})

    def all(self, collection: str) -> list[dict[str, Any]]:
        return list(self.resources[collection].values())

    def named(self, collection: str, name: str) -> dict[str, Any]:
        [found] = [r for r in self.all(collection) if r[KINDS[collection].name_field] == name]
        return found

    def writes(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.method in ("POST", "PUT")]

    # The control plane.
    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        self.sent.append(Sent(method, path, query, body))
        parts = path.strip("/").split("/")[1:]
        if parts[:1] == ["tenancies"] and parts[2:] == ["regionSubscriptions"] and method == "GET":
            regions = {"us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"} | ({self.home_region} - {None})
            return 200, [
                {
                    "regionName": region,
                    "regionKey": region[:3].upper(),
                    "status": "READY",
                    "isHomeRegion": region == self.home_region,
                }
                for region in sorted(regions)
            ]
        if parts[:1] == ["functions"] and len(parts) == 2 and method == "GET":
            if parts[1] not in self.functions:
                return 404, {
                    "code": "NotAuthorizedOrNotFound",
                    "message": "Authorization failed or requested resource not found",
                }
            return 200, {
                "id": parts[1],
                "compartmentId": self.functions[parts[1]],
                "displayName": "backup-copier",
                "lifecycleState": "ACTIVE",
            }
        kind = KINDS.get(parts[0]) if parts else None
        if kind is None:
            return 404, {"code": "NotFound", "message": f"no such path in this test cloud: {method} {path}"}
        store = self.resources[parts[0]]
        if method == "POST" and len(parts) == 1:
            resource = {**body, "id": self._new_id(kind, store, body[kind.name_field]), "lifecycleState": "ACTIVE"}
            store[resource["id"]] = resource
            return 200, resource
        if method == "GET" and len(parts) == 1:
            found = [
                r
                for r in store.values()
                if r.get("compartmentId") == query.get("compartmentId")
                and (kind.name_field not in query or r[kind.name_field] == query[kind.name_field])
            ]
            return 200, {"items": found} if kind.wrapped else found
        if len(parts) == 2 and parts[1] in store:
            if method == "GET":
                return 200, store[parts[1]]
            if method == "PUT":
                store[parts[1]].update(body)
                return (202, None) if kind.update_accepted else (200, store[parts[1]])
        return 404, {
            "code": "NotAuthorizedOrNotFound",
            "message": "Authorization failed or requested resource not found",
        }

    @staticmethod
    def _new_id(kind: Kind, store: dict[str, Any], name: str) -> str:
        slug = re.sub(r"[^a-z0-9]", "", name.lower()) or "resource"
        taken = {key.rsplit(".", 1)[1] for key in store}
        unique = next(
            f"{slug}{n}" if n else slug for n in itertools.count() if (f"{slug}{n}" if n else slug) not in taken
        )
        return f"ocid1.{kind.ocid_type}.oc1..{unique}"


class _Handler(BaseHTTPRequestHandler):
    cloud: Cloud

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        status, answer = self.cloud.answer(self.command, url.path, query, body)
        data = json.dumps(answer).encode() if answer is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("opc-request-id", "test")
        if status == 202:
            self.send_header("opc-work-request-id", "ocid1.workrequest.oc1..test")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(cloud: Cloud) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"cloud": cloud}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# The fn CLI's commands a setup script uses, as fnproject/cli declares them: the positional arguments
# (ArgsUsage; [x] is optional) and each flag with whether it takes a value (cli.BoolFlag does not).
FN_COMMANDS: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, bool]]] = {
    ("inspect", "function"): (("<app-name>", "<function-name>", "[property]"), {"endpoint": False}),
    ("config", "function"): (("<app-name>", "<function-name>", "<key>", "<value>"), {}),
    ("unset", "config", "function"): (("<app-name>", "<function-name>", "<key>"), {}),
    ("update", "function"): (
        ("<app-name>", "<function-name>"),
        {
            **dict.fromkeys(
                ["memory", "m", "config", "c", "timeout", "idle-timeout", "annotation", "tag", "defined-tag", "image"],
                True,
            ),
            **dict.fromkeys(["pbf", "provisioned-concurrency", "detached-timeout", "on-success", "on-failure"], True),
            **dict.fromkeys(["remove-tag", "remove-defined-tag", "from-json", "if-match", "wait-for-state"], True),
            **dict.fromkeys(["max-wait-seconds", "wait-interval-seconds"], True),
            **dict.fromkeys(
                ["clear-tags", "clear-freeform-tags", "clear-defined-tags", "clear-on-success", "clear-on-failure"],
                False,
            ),
        },
    ),
    ("invoke",): (
        ("<app-name>", "<function-name>"),
        {
            **dict.fromkeys(["endpoint", "content-type", "output", "fn-intent", "fn-invoke-type"], True),
            **dict.fromkeys(["display-call-id", "is-dry-run"], False),
        },
    ),
}
FN_INTEGER_FLAGS = {"timeout", "idle-timeout", "memory", "m", "max-wait-seconds", "wait-interval-seconds"}

_FN_SHIM = r'''#!{python}
"""fn, as far as a setup script uses it: the real CLI's syntax, a recorded call, a kept configuration."""
import json, os, sys

commands = {commands}
integer_flags = {integer_flags}
state_file = os.environ["FN_STATE"]
state = json.load(open(state_file))
argv = sys.argv[1:]
state["calls"].append(argv)


def save():
    json.dump(state, open(state_file, "w"))


def refuse(message):
    save()
    sys.stderr.write("\nFn: " + message + "\n")
    sys.exit(1)


for length in (3, 2, 1):
    path = tuple(argv[:length])
    if path in {{tuple(key.split()) for key in commands}}:
        break
else:
    refuse("not a command this shim knows (or the fn CLI has): " + " ".join(argv[:3]))
arguments_usage, flags = commands[" ".join(path)]
positional, given = [], {{}}
rest = argv[length:]
while rest:
    word = rest.pop(0)
    if word.startswith("-") and word != "-":
        name, _, inline = word.lstrip("-").partition("=")
        if name not in flags:
            refuse("flag provided but not defined: -" + name)
        if flags[name]:
            value = inline if inline else (rest.pop(0) if rest else refuse("flag needs an argument: -" + name))
            if name in integer_flags and not value.isdigit():
                refuse("invalid value " + repr(value) + " for flag -" + name)
            given[name] = value
        else:
            given[name] = True
    else:
        positional.append(word)
required = [a for a in arguments_usage if not a.startswith("[")]
if len(positional) < len(required):
    refuse(" ".join(path) + " requires the missing argument " + required[len(positional)])
if len(positional) > len(arguments_usage):
    refuse("too many arguments: " + " ".join(positional))
app, name = positional[0], positional[1]
function = state["apps"].get(app, {{}}).get(name)
if function is None:
    refuse("function " + name + " not found in app " + app)
if path == ("inspect", "function"):
    prop = positional[2] if len(positional) > 2 else None
    if prop is not None and prop not in function:
        refuse("failed to inspect that function's field")
    print(json.dumps(function if prop is None else function[prop], indent="\t"))
elif path == ("config", "function"):
    function["config"][positional[2]] = positional[3]
    print(app, name, "updated", positional[2], "with", positional[3])
elif path == ("unset", "config", "function"):
    if function["config"].pop(positional[2], None) is None:
        print("Config key '%s' does not exist. Nothing to do." % positional[2])
    else:
        print("Removed key '%s' from the function '%s' " % (positional[2], name))
elif path == ("update", "function"):
    if "timeout" in given:
        function["timeout"] = int(given["timeout"])
    print(app, name, "updated")
elif path == ("invoke",):
    state["invocations"].append(sys.stdin.read())
    print(state["answer"])
save()
'''


@dataclass
class FnState:
    """The functions the fn shim knows, by application, and what it was asked."""

    apps: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {APP: {"backup-copier": {"id": FUNCTION_ID, "config": {}, "timeout": 120}}}
    )
    answer: str = READY
    calls: list[list[str]] = field(default_factory=list)
    invocations: list[str] = field(default_factory=list)

    def function(self, app: str = APP) -> dict[str, Any]:
        return self.apps[app]["backup-copier"]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__))

    def load(self, path: Path) -> None:
        self.__dict__.update(json.loads(path.read_text()))


@dataclass(frozen=True)
class ScriptRun:
    """One run of a printed script: its exit, its output, and each oci command's words as bash handed them over."""

    returncode: int
    stdout: str
    stderr: str
    oci_calls: list[list[str]]
    fn_calls: list[list[str]]


# What `oci` runs: records its arguments, one JSON list a line, then the real CLI against the cloud.
_OCI_WRAPPER = """#!/bin/sh
{python} -c 'import json, os, sys; open(os.environ["OCI_CALLS"], "a").write(json.dumps(sys.argv[1:]) + "\\n")' "$@"
exec {oci} --config-file {config} --endpoint {endpoint} "$@"
"""


def _api_key(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = folder / "key.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    config = folder / "config"
    config.write_text(
        "[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaaexampleuser\n"
        "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\n"
        f"key_file={pem}\ntenancy={TENANCY}\nregion=us-phoenix-1\n"
    )
    pem.chmod(0o600)
    config.chmod(0o600)
    return config


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@contextmanager
def workstation(folder: Path, oci: Path, cloud: Cloud, fn: FnState) -> Iterator[Workstation]:
    """An operator's shell: `oci` and `fn` on the PATH, the cloud serving."""
    with serving(cloud) as endpoint:
        yield Workstation(folder, oci, cloud, fn, endpoint)


@dataclass
class Workstation:
    folder: Path
    oci: Path
    cloud: Cloud
    fn: FnState
    endpoint: str

    def __post_init__(self) -> None:
        bin_folder = self.folder / "bin"
        bin_folder.mkdir(parents=True, exist_ok=True)
        config = _api_key(self.folder)
        _executable(
            bin_folder / "oci",
            _OCI_WRAPPER.format(python=sys.executable, oci=self.oci, config=config, endpoint=self.endpoint),
        )
        _executable(
            bin_folder / "fn",
            _FN_SHIM.format(
                python=sys.executable,
                commands=repr({" ".join(path): spec for path, spec in FN_COMMANDS.items()}),
                integer_flags=repr(FN_INTEGER_FLAGS),
            ),
        )

    def run(self, script: str) -> ScriptRun:
        """The script run by bash, as `bash setup.sh`; the calls of this run only."""
        runs = len(list(self.folder.glob("setup-*.sh")))
        path = self.folder / f"setup-{runs}.sh"
        path.write_text(script)
        calls, fn_state = self.folder / f"calls-{runs}", self.folder / "fn-state.json"
        before = len(self.fn.calls)
        self.fn.save(fn_state)
        environment = {
            **os.environ,
            "PATH": f"{self.folder / 'bin'}:{os.environ['PATH']}",
            "OCI_CALLS": str(calls),
            "FN_STATE": str(fn_state),
            "SUPPRESS_LABEL_WARNING": "True",
        }
        done = subprocess.run(
            ["bash", str(path)], cwd=self.folder, env=environment, capture_output=True, text=True, timeout=600
        )
        self.fn.load(fn_state)
        oci_calls = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
        return ScriptRun(done.returncode, done.stdout, done.stderr, oci_calls, self.fn.calls[before:])


def command_path(arguments: list[str]) -> tuple[str, ...]:
    """`iam policy create` of `iam policy create --name ...`."""
    return tuple(itertools.takewhile(lambda word: not word.startswith("-"), arguments))


@dataclass(frozen=True)
class Call:
    """An oci command as oci-cli reads it: the subcommands, then each option and its value (None for a flag)."""

    path: tuple[str, ...]
    options: dict[str, str | None]


def read_calls(oci: Path, calls: list[list[str]]) -> list[Call]:
    """Each command parsed with its own `--help` (read once per command, side by side)."""
    paths = {(), *(command_path(arguments) for arguments in calls)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda path: cli_help(oci, path), paths))
    parsed = []
    global_options = cli_help(oci, ())[1]
    for arguments in calls:
        path = command_path(arguments)
        known = cli_help(oci, path)[1]
        options: dict[str, str | None] = {}
        rest = arguments[len(path) :]
        while rest:
            name = rest.pop(0)
            option = known.get(name) or global_options.get(name)
            assert option is not None, f"oci {' '.join(path)} takes no {name}"
            options[name] = rest.pop(0) if option.takes_value else None
        parsed.append(Call(path, options))
    return parsed


def problems(oci: Path, calls: list[Call]) -> list[str]:
    """What the real CLI would refuse in any of `calls`."""
    return [problem for call in calls for problem in cli_problems(oci, call.path, call.options)]
