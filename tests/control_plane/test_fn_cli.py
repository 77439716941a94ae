"""The fn stand-in reads its words as the fn CLI 0.6.63 does and changes the function as OCI would."""

from __future__ import annotations

import json

import pytest

from local_runtime.control_plane import ControlPlane, FnCli, FnInvocation

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancy"
FUNCTION = "ocid1.fnfunc.oc1.phx.aaaaaaaaexamplefunction"
FUNCTIONS = "ocid1.compartment.oc1..aaaaaaaafunctions"


@pytest.fixture
def fn() -> FnCli:
    plane = ControlPlane(TENANCY)
    plane.add_function(FUNCTION, application="dr-app", compartment_id=FUNCTIONS, config={"KEEP": "me"})
    return FnCli(plane, invoker=lambda call: (200, "application/json", b'{"outcome": "ready"}'))


def _config(fn: FnCli) -> dict[str, str]:
    return dict(fn.plane.function(FUNCTION)["config"])


def test_config_function_merges_one_key_and_an_empty_value_deletes_it(fn: FnCli) -> None:
    run = fn.run(["config", "function", "dr-app", "backup-copier", "DESTINATION_REGION", "us-ashburn-1"])
    assert (run.exit_code, run.stdout) == (0, "dr-app backup-copier updated DESTINATION_REGION with us-ashburn-1\n")
    assert _config(fn) == {"KEEP": "me", "DESTINATION_REGION": "us-ashburn-1"}
    fn.run(["cf", "f", "dr-app", "backup-copier", "KEEP", ""])
    assert _config(fn) == {"DESTINATION_REGION": "us-ashburn-1"}
    assert fn.run(["unset", "config", "fn", "dr-app", "backup-copier", "DESTINATION_REGION"]).exit_code == 0
    assert _config(fn) == {}


def test_update_function_takes_its_flags_before_or_after_the_names(fn: FnCli) -> None:
    assert (
        fn.run(["update", "function", "dr-app", "backup-copier", "--timeout", "300"]).stdout
        == "dr-app backup-copier updated\n"
    )
    assert fn.plane.function(FUNCTION)["timeoutInSeconds"] == 300
    assert (
        fn.run(["up", "func", "--timeout=120", "--config", "A=1", "-c", "B=2=3", "dr-app", "backup-copier"]).exit_code
        == 0
    )
    function = fn.plane.function(FUNCTION)
    assert (function["timeoutInSeconds"], function["config"]) == (120, {"KEEP": "me", "A": "1", "B": "2=3"})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["update", "function", "--timeout"], "flag needs an argument: -timeout"),
        # The names before the flag move after it: --timeout reads "dr-app" (urfave/cli v1.20).
        (["update", "function", "dr-app", "backup-copier", "--timeout"], 'invalid value "dr-app" for flag -timeout'),
        (["update", "function", "dr-app", "backup-copier", "--timeout", "5m"], 'invalid value "5m" for flag -timeout'),
        (
            ["update", "function", "dr-app", "backup-copier", "--time-out", "300"],
            "flag provided but not defined: -time-out",
        ),
        (["config", "function", "dr-app", "backup-copier", "KEY"], "requires the missing argument '<value>'"),
        (["inspect", "function", "dr-app"], "requires the missing argument '<function-name>'"),
        (["config", "function", "other-app", "backup-copier", "K", "V"], "app other-app not found"),
        (["config", "function", "dr-app", "copier", "K", "V"], "function copier not found"),
        (["config", "app", "dr-app", "K", "V"], "only `config function` is emulated"),
        (["deploy", "--app", "dr-app"], "'deploy' is not a Fn Command"),
        (["invoke", "dr-app", "backup-copier", "--fn-invoke-type", "later"], "invalid value for --fn-invoke-type"),
    ],
)
def test_what_fn_refuses_exits_1_with_fn_s_words(fn: FnCli, argv: list[str], message: str) -> None:
    before = fn.plane.function(FUNCTION)
    run = fn.run(argv)
    assert run.exit_code == 1
    assert run.stderr.startswith("\nFn: ") and message in run.stderr
    assert fn.plane.function(FUNCTION) == before


def test_urfave_parses_flags_first_and_stops_at_the_first_word_after_them(fn: FnCli) -> None:
    # Words before the first flag move after the flags: the names swap, and fn finds no app "backup-copier".
    run = fn.run(["update", "function", "dr-app", "--timeout", "300", "backup-copier"])
    assert (run.exit_code, run.stderr) == (1, "\nFn: app backup-copier not found\n")


def test_inspect_prints_fn_s_model_and_a_property_as_json(fn: FnCli) -> None:
    assert fn.run(["inspect", "function", "dr-app", "backup-copier", "id"]).stdout == f'"{FUNCTION}"\n'
    assert fn.run(["i", "f", "dr-app", "backup-copier", "config.KEEP"]).stdout == '"me"\n'
    whole = json.loads(fn.run(["inspect", "function", "dr-app", "backup-copier"]).stdout)
    assert (whole["id"], whole["name"], whole["timeout"], whole["config"]) == (
        FUNCTION,
        "backup-copier",
        30,
        {"KEEP": "me"},
    )
    endpoint = fn.run(["inspect", "function", "dr-app", "backup-copier", "--endpoint"]).stdout.strip()
    assert endpoint == whole["annotations"]["fnproject.io/fn/invokeEndpoint"]
    assert endpoint.endswith(f"/20181201/functions/{FUNCTION}/actions/invoke")
    missing = fn.run(["inspect", "function", "dr-app", "backup-copier", "nothing"])
    assert (missing.exit_code, missing.stderr) == (1, "\nFn: failed to inspect that function's field\n")


def test_invoke_hands_stdin_to_the_invoker_and_prints_the_answer(fn: FnCli) -> None:
    run = fn.run(["invoke", "dr-app", "backup-copier", "--content-type", "application/json"], b'{"action": "check"}')
    assert (run.exit_code, run.stdout) == (0, '{"outcome": "ready"}\n')
    assert fn.invocations == [FnInvocation(FUNCTION, b'{"action": "check"}', "application/json", "")]
    assert [r.argv[0] for r in fn.calls("invoke")] == ["invoke"]


def test_a_failed_function_is_printed_and_fn_still_exits_0(fn: FnCli) -> None:
    fn.invoker = lambda call: (
        502,
        "application/json",
        b'{"code": "FunctionInvokeExecutionFailed", "message": "function failed"}',
    )
    run = fn.run(["iv", "dr-app", "backup-copier"], b"{}")
    assert (run.exit_code, run.stdout) == (0, "Error invoking function. status: 502 message: function failed\n")


def test_without_an_invoker_an_invoke_fails_loudly(fn: FnCli) -> None:
    fn.invoker = None
    run = fn.run(["invoke", "dr-app", "backup-copier"], b"{}")
    assert run.exit_code == 1 and "FnCli.invoker is not set" in run.stderr
