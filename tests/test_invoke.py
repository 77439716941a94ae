"""`make invoke BODY=...` as the README documents it: any body, through the real fdk socket, against the emulator."""

from __future__ import annotations

import json
import re
import subprocess

from tests.helpers import PROJECT_ROOT


def _make_invoke(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "invoke", *arguments],
        cwd=PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_sample_event_is_copied_and_its_answer_and_log_line_are_printed() -> None:
    done = _make_invoke("BODY=events/volume-backup-completed.json")

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("HTTP 200\n")
    answer = json.loads(done.stdout[len("HTTP 200\n") : done.stdout.index("\nlog (")])
    assert answer["outcome"] == "copied" and answer["copies"][0]["destinationRegion"] == "us-ashburn-1"
    assert re.search(r'^log \(INFO\): \{.*"outcome": "copied"', done.stdout, re.M)


def test_a_body_of_your_own_from_standard_input_with_a_setting() -> None:
    body = json.dumps({"action": "reconcile", "compartmentId": _report_compartment()})

    done = _make_invoke("BODY=-", "SETTINGS=DRY_RUN=true", stdin=body)

    assert done.returncode == 0, done.stdout + done.stderr
    assert '"outcome": "dry_run"' in done.stdout


def test_a_failed_answer_exits_non_zero_and_names_the_field() -> None:
    done = _make_invoke("BODY=-", stdin='{"action": "reconcile"}')

    assert done.returncode != 0
    assert done.stdout.startswith("HTTP 502\n") and '"reason": "compartmentId: is required' in done.stdout


def test_without_a_body_it_says_how_to_use_it() -> None:
    done = _make_invoke()

    assert done.returncode == 2 and "usage: make invoke BODY=" in done.stdout


def _report_compartment() -> str:
    return str(json.loads((PROJECT_ROOT / "events" / "report.json").read_text())["compartmentId"])
