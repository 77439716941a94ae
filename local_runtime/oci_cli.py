"""The real `oci` CLI, in a virtual environment of its own, for the tests that check the deploy kit's commands.

oci-cli pins its own version of the OCI SDK; installed beside the function's packages it
would decide the SDK the function is tested with. So it lives in a virtual environment of its
own under ~/.cache/backup-copier/oci-cli/<version>/, built once (about a minute, from PyPI)
when missing and reused by every later run and work tree. A lock keeps two sessions from
building it at once; the marker file is written last, so a half-built environment is rebuilt.
cli_help() and cli_problems() read the real CLI's own --help, so a printed command is checked
against what that CLI takes; read_calls() and problems() do it for every command a script ran.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import re
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


# An option line of click's help: its names, then TEXT / INTEGER / COMPLEX TYPE / [A|B] when it takes a value.
_OPTION = re.compile(r"^  (-[\w?-]+(?:, -[\w?-]+)*)(?: (\[[^\]]*\]|[A-Z][A-Z ]*[A-Z]))?(?= {2,}|$)")


@dataclass(frozen=True)
class CliOption:
    takes_value: bool
    choices: tuple[str, ...]
    required: bool
    # Every spelling of the option ("-c", "--compartment-id"): giving any one of them gives it.
    names: tuple[str, ...]


@functools.cache
def cli_help(oci: Path, path: tuple[str, ...]) -> tuple[str, dict[str, CliOption]]:
    """The usage line and the options of `oci <path> --help` (a second or two each: read once)."""
    completed = subprocess.run([str(oci), *path, "--help"], capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise RuntimeError(f"oci {' '.join(path)} --help failed: {completed.stderr[-500:]}")
    options: dict[str, tuple[str | None, list[str], tuple[str, ...]]] = {}
    names: list[str] = []
    for line in completed.stdout.splitlines():
        match = _OPTION.match(line)
        if match:
            names = [name.strip() for name in match[1].split(",")]
            for name in names:
                options[name] = (match[2], [line], tuple(names))
        elif names and line.startswith("   "):
            for name in names:
                options[name][1].append(line)
        elif line.strip():
            names = []
    parsed = {}
    for name, (metavar, text, spellings) in options.items():
        choices = tuple(metavar[1:-1].split("|")) if metavar and metavar.startswith("[") else ()
        parsed[name] = CliOption(metavar is not None, choices, "[required]" in " ".join(text), spellings)
    return completed.stdout.splitlines()[0], parsed


def cli_problems(oci: Path, path: tuple[str, ...], given: Mapping[str, str | None]) -> list[str]:
    """What the real CLI would refuse in `oci <path>` with the options `given` (name: value, None for a flag)."""
    usage, options = cli_help(oci, path)
    global_options = cli_help(oci, ())[1]
    command = "oci " + " ".join(path)
    problems = [] if usage.startswith("Usage: " + command) else [f"{command} is not a command: {usage}"]
    for name, value in given.items():
        option = options.get(name) or global_options.get(name)
        if option is None:
            problems.append(f"{command} takes no {name}")
        elif option.takes_value != (value is not None):
            problems.append(f"{command} {name} {'takes' if option.takes_value else 'takes no'} value")
        elif option.choices and value is not None and value.upper() not in {c.upper() for c in option.choices}:
            problems.append(f"{command} {name} {value}: not one of {option.choices}")
    missing = {option.names for option in options.values() if option.required and not set(option.names) & set(given)}
    problems += [f"{command} requires {'/'.join(names)}" for names in sorted(missing)]
    return problems


def command_path(arguments: list[str]) -> tuple[str, ...]:
    """`iam policy create` of `iam policy create --name ...`."""
    return tuple(itertools.takewhile(lambda word: not word.startswith("-"), arguments))


@dataclass(frozen=True)
class Call:
    """An oci command as oci-cli reads it: the subcommands, then each option and its value (None for a flag)."""

    path: tuple[str, ...]
    options: dict[str, str | None]


def read_calls(oci: Path, calls: list[list[str]]) -> list[Call]:
    """Each command's words (as a script handed them over) parsed with its own `--help`, read once per
    command, side by side."""
    paths = {(), *(command_path(arguments) for arguments in calls)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda path: cli_help(oci, path), paths))
    global_options = cli_help(oci, ())[1]
    parsed = []
    for arguments in calls:
        path = command_path(arguments)
        known = cli_help(oci, path)[1]
        options: dict[str, str | None] = {}
        rest = arguments[len(path) :]
        while rest:
            name = rest.pop(0)
            option = known.get(name) or global_options.get(name)
            if option is None:
                raise ValueError(f"oci {' '.join(path)} takes no {name}")
            options[name] = rest.pop(0) if option.takes_value else None
        parsed.append(Call(path, options))
    return parsed


def problems(oci: Path, calls: list[Call]) -> list[str]:
    """What the real CLI would refuse in any of `calls`."""
    return [problem for call in calls for problem in cli_problems(oci, call.path, call.options)]
