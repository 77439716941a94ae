"""The oci CLI commands that deploy the function as a code-only function, from `make archive`'s ZIP.

No Docker, no registry, no auth token: the archive is uploaded with the function's definition
and runs on a Python runtime Oracle manages ("Creating Python Code-only Functions"). The
commands are built here as words, so that a test can hold each one against the real CLI's
help (tests/deploy_kit/test_code_only.py), and the configuration is validated by the same
code the function validates it with. The dynamic group, policies, Events rule and the check
are the image's: a code-only function is the same Function resource (the same CreateFunction
operation and `Function` model in the SDK, another `sourceDetails`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..shared.errors import InvalidRequest
from . import options

PYTHON_DOC = "https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functions-codeonly-python.htm"
CREATING_DOC = "https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functions-codeonly-creating.htm"
UPDATING_DOC = "https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functions-codeonly-updating.htm"
HANDLER = "func.handler"  # <file>.<function>: handler() in function/func.py
# As func.yaml's memory and timeout, which the image path deploys with (a test keeps them equal).
MEMORY_MB = 128
TIMEOUT_SECONDS = 300
# "About Code-only Functions": up to 25 MB uploaded directly; local_runtime/archive/build.py agrees.
DIRECT_UPLOAD_LIMIT = 25 * 1000 * 1000
DEFAULT_DISPLAY_NAME = "backup-copier"
_ARCHIVE_NAME = re.compile(r"backup-copier-(?P<version>[^/]+)-py(?P<python>3\.\d+)-(?P<arch>x86|arm)\.zip")
_ARCHITECTURE = {"x86": "X86", "arm": "ARM"}  # FunctionsRuntimeVersion.supported_architectures


@dataclass(frozen=True)
class Command:
    """`oci` and its words; `capture` names a shell variable that keeps what it prints."""

    words: tuple[str, ...]
    capture: str | None = None

    @property
    def path(self) -> tuple[str, ...]:
        """The subcommands: `fn function create ...`."""
        path = []
        for word in self.words:
            if word.startswith("-"):
                break
            path.append(word)
        return tuple(path)

    @property
    def options(self) -> dict[str, str | None]:
        """Each option and its value (None for a flag)."""
        found: dict[str, str | None] = {}
        rest = list(self.words[len(self.path) :])
        while rest:
            option = rest.pop(0)
            found[option] = rest.pop(0) if rest and not rest[0].startswith("--") else None
        return found

    def render(self) -> str:
        lines = ["oci " + " ".join(self.path)]
        for option, value in self.options.items():
            lines.append(option if value is None else f"{option} {_shell(value)}")
        text = " \\\n  ".join(lines)
        if not self.capture:
            return text
        # A failed command leaves the variable empty: say so at once, not at the step that uses it.
        return (
            f"{self.capture}=$({text})\n"
            f'[ -n "${self.capture}" ] || echo "error: {self.capture} is empty: the command above failed (its error is '
            'above); fix that and run it again before the next step" >&2'
        )


@dataclass(frozen=True)
class Step:
    title: str
    notes: tuple[str, ...]
    commands: tuple[Command, ...]
    assignments: tuple[str, ...] = ()  # shell lines the operator completes, such as RUNTIME=<name>


def _shell(value: str) -> str:
    # "$RUNTIME" stays a variable; everything else is quoted as the shell needs.
    return value if re.fullmatch(r'"\$[A-Z_]+"', value) else shlex.quote(value)


def archive_target(archive: str) -> tuple[str, str]:
    """(Python version, arch) from the archive's name, as `make archive` names it."""
    match = _ARCHIVE_NAME.fullmatch(Path(archive).name)
    if match is None:
        raise InvalidRequest(
            "--archive", "expected dist/backup-copier-<version>-py<X.Y>-<x86|arm>.zip, as make archive names it"
        )
    if not Path(archive).is_file():
        raise InvalidRequest("--archive", f"no such file: {archive}; make archive writes it")
    path = Path(archive)
    if path.stat().st_size > DIRECT_UPLOAD_LIMIT:
        raise InvalidRequest(
            "--archive",
            f"{path.stat().st_size / 1e6:.1f} MB is over the 25 MB a direct upload takes: "
            "upload it to Object Storage and use `oci fn function create archive-function object-storage ...`",
        )
    return match["python"], match["arch"]


def configuration(destination: str, pairs: Sequence[str], source_region: str | None = None) -> dict[str, str]:
    """The function's configuration, validated as the function validates it; an error names its option."""
    regions = options.destinations(destination, source_region, "the application's region (--application-id)")
    config = {"DESTINATION_REGION": ",".join(regions)}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.isupper():
            raise InvalidRequest("--config", f"{pair!r}: expected KEY=VALUE, such as SOURCE_COMPARTMENT_IDS=ocid1...")
        config[key] = value
    options.settings(config, {"DESTINATION_REGION": "--destination"})
    return config


def deployment(
    *,
    application_id: str,
    archive: str,
    destination: str,
    config: Sequence[str] = (),
    runtime: str | None = None,
    function_id: str | None = None,
    display_name: str = DEFAULT_DISPLAY_NAME,
) -> list[Step]:
    application_ocid = options.ocid(application_id, "--application-id", "fnapp")
    application = application_ocid.value
    python, arch = archive_target(archive)
    # The function runs in its application's region, where the backups are: the source region.
    settings = configuration(destination, config, application_ocid.region)
    function = options.ocid(function_id, "--function-id", "fnfunc").value if function_id else '"$FUNCTION_ID"'
    runtime_word = '"$RUNTIME"'
    list_runtimes = Command(
        (
            *("fn", "runtime", "list", "--lifecycle-state", "ACTIVE", "--all"),
            *("--query", "data.items[].{name: name, language: language, os: os}", "--output", "table"),
        )
    )
    runtime_versions = Command(
        (
            *("fn", "runtime-version", "list", "--functions-runtime-name", runtime_word),
            *("--is-current-version", "true", "--all"),
            *("--query", 'data.items[].{python: "language-version", architectures: "supported-architectures"}'),
            *("--output", "table"),
        )
    )
    create = Command(
        (
            *("fn", "function", "create", "archive-function", "direct-archive", "fn-update-runtime-config"),
            *("--application-id", application, "--display-name", display_name, "--archive-file", archive),
            *("--functions-runtime-name", runtime_word, "--handler", HANDLER),
            *("--memory-in-mbs", str(MEMORY_MB), "--timeout-in-seconds", str(TIMEOUT_SECONDS)),
            *("--config", json.dumps(settings)),
            *("--query", "data.id", "--raw-output"),
        ),
        capture=None if function_id else "FUNCTION_ID",
    )
    update = Command(
        (
            *("fn", "function", "update", "archive-function", "--function-id", function),
            *("--archive-file", archive, "--runtime-config", "FUNCTION_UPDATE"),
            *("--functions-runtime-name", runtime_word, "--handler", HANDLER, "--force"),
        )
    )
    return [
        Step(
            f"1. The runtime: a Python runtime whose current version runs Python {python} on {_ARCHITECTURE[arch]}",
            (
                f"The archive's binary packages and byte code are for Python {python} only ({Path(archive).name}).",
                "Runtime names are not documented where this was written (unconfirmed): read them from the list.",
            ),
            (list_runtimes,),
            (f"RUNTIME={shlex.quote(runtime or '<the Python runtime name from the list above>')}",),
        ),
        Step(
            f"   Its current version must say python {python} and list {_ARCHITECTURE[arch]}:",
            (),
            (runtime_versions,),
        ),
        Step(
            "2. The function, from the archive (uploaded directly: at most 25 MB)",
            (
                "fn-update-runtime-config: the runtime's version moves only when the function is updated (step 3),",
                "never under a running function; check step 1 again before each update.",
                f"Oracle: {PYTHON_DOC}",
                f"        {CREATING_DOC}",
            ),
            (create,),
        ),
        Step(
            "3. On the next release: `make archive`, check step 1, then replace the archive (the configuration stays)",
            (
                "FUNCTION_ID is what step 2 printed (or print these commands again with --function-id).",
                f"Oracle: {UPDATING_DOC}",
            ),
            (update,),
        ),
    ]


def render(steps: Sequence[Step], argv: Sequence[str]) -> str:
    lines = [
        "# backup-copier as a code-only function: no Docker, no registry. Generated by:",
        "#   .venv/bin/python -m backup_copier.deploy_kit " + " ".join(shlex.quote(word) for word in argv),
        "# The dynamic group, policies and Events rule are the image's (dynamic-group, policies,",
        '# rule-condition); after step 2, invoke {"action": "check"} as for the image.',
    ]
    for step in steps:
        lines += ["", f"# {step.title}"]
        lines += [f"#   {note}" for note in step.notes]
        for command in step.commands:
            lines.append(command.render())
        lines += list(step.assignments)
    return "\n".join(lines) + "\n"
