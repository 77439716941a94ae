"""The fn CLI, as far as a setup script uses it, run against a ControlPlane's functions.

Read from fnproject/cli 0.6.63 (commit 2b6493a2) and the urfave/cli v1.20.0 it builds on:
- Commands (commands/commands.go, objects/fn/commands.go): `config|cf function <app> <fn> <key>
  <value>`, `get config function <app> <fn> <key>`, `list config function <app> <fn>`, `unset|un
  config function <app> <fn> <key>` (also `delete config function`), `inspect|i function <app> <fn>
  [property[.key]]` with --endpoint, `update|up function <app> <fn>` with the update flags
  (objects/fn/fns.go FnFlags, updateFnFlags, generated_oci_parity_flags.go), `invoke|iv <app> <fn>`
  with InvokeFnFlags (commands/invoke.go). `function` is also `func`, `f` and `fn`.
- Arguments (urfave/cli v1.20.0 command.go, Command.Run): words before the first flag are moved
  after the flags, then Go's flag package parses: `-x` or `--x`, a value as `-x v` or `-x=v`,
  booleans only `-x` or `-x=true`; parsing stops at the first word that is not a flag, so words
  after it stay arguments, and an unknown flag is an error. main.go then refuses a command
  missing one of its <required> arguments.
- Effects, with the Oracle provider (fn_go provider/oracle/shim): `config function` merges one key
  into the function's configuration and an empty value deletes the key (common.go mergeConfig:
  "OCI update config is wholesale replacement of the map. Here we do the FnV2 server-side merge
  on the client instead"); `update function --timeout` sets timeoutInSeconds; `--config K=V`
  merges likewise.
- Output: `config function` prints "<app> <fn> updated <key> with <value>"; `inspect function`
  prints the function as fn's model (app_id, config, id, name, timeout, annotations with
  fnproject.io/fn/invokeEndpoint, ...; keys sorted, tab-indented JSON), or one property as JSON
  (a string keeps its quotes); `invoke` sends stdin and prints the answer's body, or, for a status
  of 400 or more with a JSON message, "Error invoking function. status: <s> message: <m>" -- and
  exits 0 either way (commands/invoke.go outputNormal): a script must read the answer, not the
  exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cloud import ControlPlane

INVOKE_ENDPOINT_ANNOTATION = "fnproject.io/fn/invokeEndpoint"
# fn_go provider/oracle/shim/fns.go: invokeEndpointFmtString.
INVOKE_URL = "{endpoint}/20181201/functions/{id}/actions/invoke"
FUNCTION_WORDS = ("function", "func", "f", "fn")


@dataclass(frozen=True)
class FnInvocation:
    """What `fn invoke` sent, and how: the stand-in for a function behind OCI's InvokeFunction."""

    function_id: str
    body: bytes
    content_type: str
    invoke_type: str  # "" (sync) or "detached"


# OCI's InvokeFunction answer to an invocation: status, content type, body.
Invoker = Callable[[FnInvocation], tuple[int, str, bytes]]


@dataclass(frozen=True)
class FnRun:
    """One fn command: its words, and what it printed and returned."""

    argv: tuple[str, ...]
    stdout: str
    stderr: str
    exit_code: int
    command: str | None  # "config function", "invoke", ...; None for words fn does not take


@dataclass(frozen=True)
class _Command:
    name: str  # the command as the tests name it: "config function"
    arguments: tuple[str, ...]  # ArgsUsage: <required>, [optional]
    flags: dict[str, str]  # name -> "bool", "string", "int", "uint", "slice" or "duration"


def _flags(kind: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, kind)


_FN_FLAGS = {
    **_flags("uint", "memory", "m"),
    **_flags("slice", "config", "c", "annotation", "tag", "defined-tag"),
    **_flags("int", "timeout", "idle-timeout"),
    **_flags("string", "image", "pbf", "provisioned-concurrency", "detached-timeout", "on-success", "on-failure"),
}
_UPDATE_FLAGS = {
    **_FN_FLAGS,
    **_flags("slice", "remove-tag", "remove-defined-tag"),
    **_flags("bool", "clear-tags", "clear-freeform-tags", "clear-defined-tags", "clear-on-success", "clear-on-failure"),
    **_flags("string", "from-json", "if-match", "wait-for-state"),
    **_flags("int", "max-wait-seconds", "wait-interval-seconds"),
    # generated_oci_parity_flags.go
    **_flags("int", "detached-mode-timeout-in-seconds", "timeout-in-seconds"),
    **_flags("string", "failure-destination", "success-destination", "trace-config"),
}
_INVOKE_FLAGS = {
    **_flags("string", "endpoint", "content-type", "output", "fn-intent", "fn-invoke-type"),
    **_flags("bool", "display-call-id", "is-dry-run", "no-endpoint-cache"),
    **_flags("duration", "endpoint-cache-ttl"),
}
_APP_FN = ("<app-name>", "<function-name>")
# (top-level words, whether a `function` noun follows) -> the command.
_COMMANDS: dict[tuple[str, bool], _Command] = {
    ("config", True): _Command("config function", (*_APP_FN, "<key>", "<value>"), {}),
    ("get config", True): _Command("get config function", (*_APP_FN, "<key>"), {}),
    ("list config", True): _Command("list config function", _APP_FN, {}),
    ("unset config", True): _Command("unset config function", (*_APP_FN, "<key>"), {}),
    ("inspect", True): _Command("inspect function", (*_APP_FN, "[property[.key]]"), _flags("bool", "endpoint")),
    ("update", True): _Command("update function", _APP_FN, _UPDATE_FLAGS),
    ("invoke", False): _Command("invoke", ("[app-name]", "[function-name]"), _INVOKE_FLAGS),
}
# One flag, two names ("memory,m", "config,c"): urfave/cli gives both the same value.
_SAME_FLAG = {"m": "memory", "c": "config"}
_ALIASES = {"cf": "config", "i": "inspect", "up": "update", "iv": "invoke", "un": "unset", "delete": "unset"}


class FnError(Exception):
    """What fn prints after "Fn: " before it exits 1."""


@dataclass
class FnCli:
    """`fn` against a control plane: the functions it reads and changes, and who answers an invoke."""

    plane: ControlPlane
    invoker: Invoker | None = None
    runs: list[FnRun] = field(default_factory=list)
    invocations: list[FnInvocation] = field(default_factory=list)

    def run(self, argv: list[str], stdin: bytes = b"") -> FnRun:
        out: list[str] = []
        name = None
        try:
            command, arguments, flags = _parse(argv)
            name = command.name
            self._execute(command, arguments, flags, stdin, out)
            run = FnRun(tuple(argv), "".join(out), "", 0, name)
        except FnError as error:
            run = FnRun(tuple(argv), "".join(out), f"\nFn: {error}\n", 1, name)
        self.runs.append(run)
        return run

    def calls(self, command: str) -> list[FnRun]:
        """The runs of one command ("config function", "invoke", ...), oldest first."""
        return [run for run in self.runs if run.command == command]

    def _function(self, app_name: str, function_name: str) -> dict[str, Any]:
        with self.plane._lock:
            app = next((a for a in self.plane.applications.values() if a["displayName"] == app_name), None)
            if app is None:
                raise FnError(f"app {app_name} not found")
            function = next(
                (
                    f
                    for f in self.plane.functions.values()
                    if f["applicationId"] == app["id"] and f["displayName"] == function_name
                ),
                None,
            )
            if function is None:
                raise FnError(f"function {function_name} not found")
            return function

    def _execute(
        self, command: _Command, arguments: list[str], flags: dict[str, Any], stdin: bytes, out: list[str]
    ) -> None:
        if command.name == "invoke":
            self._invoke(arguments, flags, stdin, out)
            return
        app_name, function_name = arguments[0], arguments[1]
        function = self._function(app_name, function_name)
        if command.name == "config function":
            key, value = arguments[2], arguments[3]
            self._merge(function, {key: value})
            out.append(f"{app_name} {function_name} updated {key} with {value}\n")
        elif command.name == "get config function":
            if arguments[2] not in function["config"]:
                raise FnError("config key does not exist")
            out.append(function["config"][arguments[2]] + "\n")
        elif command.name == "list config function":
            out += ["KEY\tVALUE\n", *(f"{key}\t{value}\n" for key, value in function["config"].items())]
        elif command.name == "unset config function":
            if arguments[2] not in function["config"]:
                out.append(f"Config key '{arguments[2]}' does not exist. Nothing to do.\n")
            else:
                self._merge(function, {arguments[2]: ""})
                out.append(f"Removed key '{arguments[2]}' from the function '{function_name}' \n")
        elif command.name == "inspect function":
            out.append(_inspect(function, arguments[2] if len(arguments) > 2 else None, bool(flags.get("endpoint"))))
        elif command.name == "update function":
            self._update(function, flags)
            out.append(f"{app_name} {function_name} updated\n")

    def _merge(self, function: dict[str, Any], changes: dict[str, str]) -> None:
        with self.plane._lock:
            config = dict(function["config"])
            for key, value in changes.items():
                if value:
                    config[key] = value
                else:
                    config.pop(key, None)
            function["config"] = config

    def _update(self, function: dict[str, Any], flags: dict[str, Any]) -> None:
        if flags.get("config"):
            self._merge(function, dict(item.partition("=")[::2] for item in flags["config"]))
        with self.plane._lock:
            for flag, field_name in (
                ("timeout", "timeoutInSeconds"),
                ("timeout-in-seconds", "timeoutInSeconds"),
                ("memory", "memoryInMBs"),
                ("detached-mode-timeout-in-seconds", "detachedModeTimeoutInSeconds"),
            ):
                if flags.get(flag):
                    function[field_name] = flags[flag]
            if flags.get("image"):
                function["image"] = flags["image"]

    def _invoke(self, arguments: list[str], flags: dict[str, Any], stdin: bytes, out: list[str]) -> None:
        if flags.get("endpoint"):
            raise FnError("--endpoint is not emulated: invoke by application and function name")
        if len(arguments) < 2:
            raise FnError("missing app and function name")
        function = self._function(arguments[0], arguments[1])
        invoke_type = str(flags.get("fn-invoke-type", "")).strip().lower()
        if invoke_type not in ("", "sync", "detached"):
            raise FnError(f'invalid value for --fn-invoke-type: "{invoke_type}"')
        invocation = FnInvocation(function["id"], stdin, str(flags.get("content-type") or "text/plain"), invoke_type)
        self.invocations.append(invocation)
        if self.invoker is None:
            raise FnError("Error invoking function: no function runs behind this fn (FnCli.invoker is not set)")
        status, _content_type, body = self.invoker(invocation)
        text = body.decode(errors="replace")
        if status >= 400:
            try:
                message = json.loads(text).get("message")
            except (ValueError, AttributeError):
                message = None
            if message:
                out.append(f"Error invoking function. status: {status} message: {message}\n")
                return
        out.append(text if text.endswith("\n") else text + "\n")


def _inspect(function: dict[str, Any], prop: str | None, endpoint_only: bool) -> str:
    url = INVOKE_URL.format(endpoint=function["invokeEndpoint"], id=function["id"])
    if endpoint_only:
        return url + "\n"
    model = {
        "annotations": {
            INVOKE_ENDPOINT_ANNOTATION: url,
            "oracle.com/oci/compartmentId": function["compartmentId"],
            "oracle.com/oci/imageDigest": function.get("imageDigest", ""),
        },
        "app_id": function["applicationId"],
        "config": function["config"] or None,
        "created_at": function["timeCreated"],
        "id": function["id"],
        "image": function.get("image", ""),
        "memory": function["memoryInMBs"],
        "name": function["displayName"],
        "shape": function.get("shape", ""),
        "timeout": function["timeoutInSeconds"],
        "updated_at": function["timeUpdated"],
    }
    if function.get("detachedModeTimeoutInSeconds"):
        model["annotations"]["oracle.com/oci/detachedTimeoutSeconds"] = function["detachedModeTimeoutInSeconds"]
    shown: Any = {key: value for key, value in model.items() if value not in (None, "")}
    if prop is not None:
        for part in prop.split("."):
            if not isinstance(shown, dict) or part not in shown:
                raise FnError("failed to inspect that function's field")
            shown = shown[part]
    # Go's encoder: map keys sorted, the indent a tab, a newline after the value.
    return json.dumps(shown, indent="\t", sort_keys=True) + "\n"


def _parse(argv: list[str]) -> tuple[_Command, list[str], dict[str, Any]]:
    """The command, its arguments and its flags, as fn reads `argv` (or FnError with fn's own words)."""
    words = list(argv)
    if not words:
        raise FnError("a command is required")
    top = _ALIASES.get(words[0], words[0])
    words = words[1:]
    if top in ("get", "list", "unset") and words[:1] in (["config"], ["cf"]):
        top, words = f"{top} config", words[1:]
    command = _COMMANDS.get((top, False))
    if command is None:
        command = _COMMANDS.get((top, True))
        if command is None:
            raise FnError(f"'{argv[0]}' is not a Fn Command ")
        if words[:1] and words[0] in FUNCTION_WORDS:
            words = words[1:]
        else:
            raise FnError(f"{top} {' '.join(words[:1])}: only `{command.name}` is emulated")
    arguments, flags = _urfave_parse(words, command.flags)
    required = [a for a in command.arguments if a.startswith("<")]
    if len(arguments) < len(required):
        raise FnError(f"{command.name} requires the missing argument '{' '.join(required[len(arguments) :])}'")
    return command, arguments, flags


def _urfave_parse(words: list[str], known: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    first_flag = next((i for i, w in enumerate(words) if w.startswith("-") and w != "-"), None)
    ordered = words if first_flag is None else words[first_flag:] + words[:first_flag]
    flags: dict[str, Any] = {}
    position = 0
    while position < len(ordered):
        word = ordered[position]
        if word == "--":
            position += 1
            break
        if not word.startswith("-") or word == "-":
            break
        name, has_value, inline = word.lstrip("-").partition("=")
        kind = known.get(name)
        if kind is None:
            raise FnError(f"flag provided but not defined: -{name}")
        position += 1
        name = _SAME_FLAG.get(name, name)
        if kind == "bool":
            flags[name] = inline.lower() in ("", "true", "1", "t") if has_value else True
            continue
        if not has_value:
            if position >= len(ordered):
                raise FnError(f"flag needs an argument: -{name}")
            inline, position = ordered[position], position + 1
        flags[name] = _value(name, kind, inline, flags.get(name))
    return ordered[position:], flags


def _value(name: str, kind: str, raw: str, earlier: Any) -> Any:
    if kind == "slice":
        return [*(earlier or []), raw]
    if kind in ("int", "uint"):
        # Go's flag package: strconv.ParseInt(value, 0, ...), so 0x and 0o prefixes parse too.
        try:
            number = int(raw, 0)
        except ValueError:
            raise FnError(f'invalid value "{raw}" for flag -{name}: parse error') from None
        if kind == "uint" and number < 0:
            raise FnError(f'invalid value "{raw}" for flag -{name}: parse error')
        return number
    return raw
