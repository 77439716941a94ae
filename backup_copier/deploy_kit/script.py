"""The bash scripts the deploy kit prints: commands as words, and the few shapes every setup step takes.

One mechanism for `quickstart` and `tenancy-setup` (setup.py builds their steps from it):
- the script stops at its first failure (`set -euo pipefail`);
- a value it reads is read by `capture`, which stops the script with a sentence when the
  command fails, prints nothing, or prints something that is not what was expected, so an
  empty value never reaches a later command (a policy naming `request.principal.id=''`);
- a resource is looked up by its name first (`lookup`: nothing found is an answer, a failed
  command is not), then updated when found and created when not, so running the script
  again changes what it made instead of making it twice (`Upsert`).

oci-cli prints nothing when a list or a `--query` finds nothing (reference: "oci-cli 3.95.1:
details a re-runnable setup script must follow"), so the helpers test for empty output rather
than parse JSON. A command's words are kept apart from their rendering so that a test can hold
each one against the real CLI's `--help` (tests/deploy_kit/).
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

# The first live resource's OCID in a list's answer: a deleted resource may still be listed for a while.
# (oci-cli prints keys with dashes; `"DELETED"` is a JMESPath JSON literal, which keeps the shell word simple.)
LIVE_ID = '[?"lifecycle-state" != `"DELETED"`].id | [0]'


@dataclass(frozen=True)
class Var:
    """A shell variable the script set earlier; rendered "$NAME"."""

    name: str


@dataclass(frozen=True)
class Expand:
    """A word with shell variables inside it, double-quoted so that only those expand."""

    text: str
    names: tuple[str, ...]

    def render(self) -> str:
        escaped = re.sub(r'(["\\`$])', r"\\\1", self.text)
        for name in self.names:
            escaped = escaped.replace(f"\\${{{name}}}", f"${{{name}}}")
        return f'"{escaped}"'


Word = str | Var | Expand


def expand_json(document: object) -> Expand | str:
    """`document` as JSON, each Var in it becoming a ${NAME} the shell fills in."""
    names: list[str] = []

    def placeholder(value: object) -> object:
        if isinstance(value, Var):
            names.append(value.name)
            return f"${{{value.name}}}"
        if isinstance(value, dict):
            return {key: placeholder(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [placeholder(item) for item in value]
        return value

    text = json.dumps(placeholder(document))
    return Expand(text, tuple(dict.fromkeys(names))) if names else text


def expand_text(template: str, *names: str) -> Expand:
    """A text with ${NAME} placeholders for the given variables."""
    return Expand(template, names)


def word(value: Word) -> str:
    """One shell word; double quotes rather than shlex's '"'"' when only single quotes need quoting."""
    if isinstance(value, Var):
        return f'"${value.name}"'
    if isinstance(value, Expand):
        return value.render()
    if "'" in value and not set(value) & set('"$`\\!'):
        return f'"{value}"'
    return shlex.quote(value)


@dataclass(frozen=True)
class Command:
    """One command: the program and its subcommands, then options in the order printed."""

    path: tuple[str, ...]
    options: tuple[tuple[str, Word | None], ...] = ()
    # Words after the path that are not options (fn's <app> <function>).
    arguments: tuple[Word, ...] = ()

    def render(self, *, prefix: str = "") -> str:
        head = " ".join([*self.path, *(word(argument) for argument in self.arguments)])
        parts = [prefix + head]
        for name, value in self.options:
            parts.append(name if value is None else f"{name} {word(value)}")
        return " \\\n    ".join(parts)


def oci(path: str, *options: tuple[str, Word | None]) -> Command:
    return Command(("oci", *path.split()), tuple(options))


@dataclass(frozen=True)
class JsonFile:
    """A JSON document written by a here-document into the script's work folder, for a `file://` option."""

    name: str
    document: object
    # Shell variables the document names ($NAME); with none, nothing in it expands.
    expands: tuple[str, ...] = ()

    @property
    def path(self) -> Expand:
        return Expand(f"${{WORK}}/{self.name}", ("WORK",))

    @property
    def url(self) -> Expand:
        return Expand(f"file://${{WORK}}/{self.name}", ("WORK",))

    def render(self) -> str:
        text = json.dumps(self.document, indent=2)
        target = f'"$WORK/{self.name}"'
        if not self.expands:
            return f"cat > {target} <<'EOF'\n{text}\nEOF"
        if set(re.findall(r"\$\{?(\w+)", text)) - set(self.expands) or "`" in text or "\\" in text:
            raise ValueError(f"{self.name} would expand more than {self.expands}")
        return f"cat > {target} <<EOF\n{text}\nEOF"


@dataclass(frozen=True)
class Capture:
    """VARIABLE=what the command prints; the script stops unless it matches `pattern` (a bash glob)."""

    variable: str
    what: str
    pattern: str
    command: Command

    def render(self) -> str:
        return self.command.render(prefix=f"capture {self.variable} {word(self.what)} {word(self.pattern)} ")


@dataclass(frozen=True)
class Upsert:
    """Find a resource by name; update it if found, create it if not. `variable` then holds its OCID."""

    what: str
    variable: str
    find: Command
    create: Command
    update: Command
    # The OCID pattern a created resource's OCID must match, when a later step needs it.
    pattern: str = "ocid1.*"
    # Run before the update, with the found OCID in `variable`: a guard that may stop the script.
    before_update: tuple[Line, ...] = ()
    keep_created_id: bool = False

    def render(self) -> str:
        create = (
            Capture(
                self.variable, f"the OCID of the new {self.what.removeprefix('the ')}", self.pattern, self.create
            ).render()
            if self.keep_created_id
            else self.create.render() + " >/dev/null"
        )
        lines = [
            self.find.render(prefix=f"lookup {self.variable} "),
            f"if [[ -z ${self.variable} ]]; then",
            _indent(create),
            _indent(f"say {word('created ' + self.what)}"),
            "else",
            *(_indent(line.render()) for line in self.before_update),
            _indent(self.update.render() + " >/dev/null"),
            _indent(f"say {word('updated ' + self.what)}"),
            "fi",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class Named:
    """A kind of resource a script finds by its name (oci <service> list), then updates or creates."""

    service: str  # "iam policy"
    name_option: str  # "--name" or "--display-name"
    id_option: str  # "--policy-id"
    # IAM names are fixed at creation: their update takes no --name.
    update_renames: bool = True
    # ListSchedules answers {"items": [...]}, the others a list.
    listed_in: str = "data"

    def upsert(
        self,
        what: str,
        variable: str,
        *,
        region: Word,
        compartment: Word,
        name: str,
        options: Sequence[tuple[str, Word | None]],
        update_only: Sequence[tuple[str, Word | None]] = (),
        before_update: tuple[Line, ...] = (),
        keep_created_id: str | None = None,
    ) -> Upsert:
        """With `keep_created_id` (an OCID pattern), the created resource's OCID is captured into `variable` too."""
        place = (("--region", region), ("--compartment-id", compartment))
        named = ((self.name_option, name),)
        created_id = (("--query", "data.id"), ("--raw-output", None)) if keep_created_id else ()
        return Upsert(
            what,
            variable,
            oci(f"{self.service} list", *place, *named, ("--query", self.listed_in + LIVE_ID), ("--raw-output", None)),
            oci(f"{self.service} create", *place, *named, *options, *created_id),
            oci(
                f"{self.service} update",
                ("--region", region),
                (self.id_option, Var(variable)),
                *(named if self.update_renames else ()),
                *options,
                *update_only,
                ("--force", None),
            ),
            pattern=keep_created_id or "ocid1.*",
            before_update=before_update,
            keep_created_id=keep_created_id is not None,
        )


@dataclass(frozen=True)
class Raw:
    """Shell lines written as they are (a guard, the check's answer)."""

    text: str

    def render(self) -> str:
        return self.text


@dataclass(frozen=True)
class Run:
    """A command run for its effect, with a sentence once it has."""

    command: Command
    done: str = ""
    quiet: bool = False

    def render(self) -> str:
        text = self.command.render() + (" >/dev/null" if self.quiet else "")
        return text + (f"\nsay {word(self.done)}" if self.done else "")


Line = Command | Capture | Upsert | JsonFile | Raw | Run


def _comment(text: str, prefix: str) -> list[str]:
    """Prose wrapped at 110 columns; an indented line (a command, a statement, a URL) is kept whole."""
    if text.startswith("  ") or not text:
        return [(prefix + text).rstrip()]
    return textwrap.wrap(
        text, width=110, initial_indent=prefix, subsequent_indent=prefix, break_long_words=False, break_on_hyphens=False
    )


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else line for line in text.splitlines())


@dataclass(frozen=True)
class Step:
    title: str
    comments: tuple[str, ...]
    lines: tuple[Line, ...]

    def render(self, number: int) -> str:
        head = [f"# {number}. {self.title}", *(line for comment in self.comments for line in _comment(comment, "#   "))]
        return "\n".join([*head, *(line.render() for line in self.lines)])


# The helpers every script starts with. They are bash functions so that each use reads as one line.
PRELUDE = r"""set -euo pipefail
shopt -s extglob

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { printf '\nbackup-copier setup stopped: %s\n' "$*" >&2; exit 1; }
say() { printf '  %s\n' "$*"; }

# lookup NAME COMMAND...: NAME is the OCID COMMAND prints, or empty when it finds nothing.
# The CLI's "Query returned empty result" is kept out of sight; a real error is shown and stops the script.
lookup() {
  local name=$1 value
  shift
  value=$("$@" 2>"$WORK/stderr") || { cat "$WORK/stderr" >&2; fail "this command failed (its error is above): $*"; }
  [[ -z $value || $value == ocid1.* ]] || fail "expected an OCID or nothing from: $*; got: $value"
  printf -v "$name" '%s' "$value"
}

# capture NAME WHAT PATTERN COMMAND...: NAME is what COMMAND prints; the script stops when the
# command fails, prints nothing, or prints something PATTERN does not match.
capture() {
  local name=$1 what=$2 pattern=$3 value
  shift 3
  value=$("$@" 2>"$WORK/stderr") || { cat "$WORK/stderr" >&2; fail "could not read $what; this command failed (its error is above): $*"; }
  value=${value#\"}
  value=${value%\"}  # fn inspect prints a JSON string, quotes included
  [[ -n $value ]] || fail "$what is empty: $* printed nothing"
  [[ $value == $pattern ]] || fail "$what is '$value', expected $pattern, from: $*"
  printf -v "$name" '%s' "$value"
}"""


@dataclass(frozen=True)
class Script:
    head: tuple[str, ...]
    # Shell variables set from the operator's (validated) options, before any step.
    inputs: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...] = field(default=())

    def render(self) -> str:
        inputs = "\n".join(f"{name}={word(value)}" for name, value in self.inputs)
        blocks = [
            "\n".join(["#!/usr/bin/env bash", *(wrapped for line in self.head for wrapped in _comment(line, "# "))]),
            PRELUDE,
            "# What this script was generated for. Change them by generating it again, not here: they agree with\n"
            "# each other by construction.\n" + inputs,
            *(step.render(number) for number, step in enumerate(self.steps, 1)),
        ]
        return "\n\n".join(blocks) + "\n"


def command_line(argv: Sequence[str]) -> str:
    """How the operator ran the kit, for the script's head."""
    return ".venv/bin/python -m backup_copier.deploy_kit " + " ".join(shlex.quote(part) for part in argv)
