"""`make invoke BODY=<file>`: send any body to the function locally, as `fn invoke` would in OCI.

The function runs behind the real fdk socket (the Fn agent's contract: POST /call with
Fn-Call-Id and Fn-Deadline), against the emulator on 127.0.0.1, which verifies every request's
signature. The emulator holds the backups that the files of events/ name, and the tenancy's
compartment tree with the samples' compartment in it, so those bodies act on something; a body
of your own acts on whatever it names (an OCID the emulator does not hold answers as OCI would).
Settings are the demo's (copies from us-phoenix-1 to us-ashburn-1) unless given as KEY=VALUE.

Prints the HTTP status, the answer, and the function's log line for the call.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.credentials import issue_resource_principal
from local_runtime.fdk_process import FunctionProcess

SOURCE_REGION = "us-phoenix-1"
DESTINATION_REGION = "us-ashburn-1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make invoke",
        description="Send one body to the function behind the real fdk socket, against the local emulator.",
        epilog="Examples: make invoke BODY=events/check.json; make invoke BODY=events/reconcile.json "
        "SETTINGS='DRY_RUN=true'; echo '{\"action\": \"report\", ...}' | make invoke BODY=-",
    )
    parser.add_argument("body", help="a JSON file (e.g. events/volume-backup-completed.json), or - for standard input")
    parser.add_argument(
        "settings", nargs="*", metavar="KEY=VALUE", help="function settings (fn config keys) over the defaults"
    )
    options = parser.parse_args(argv)
    try:
        body = sys.stdin.buffer.read() if options.body == "-" else Path(options.body).read_bytes()
    except OSError as error:
        parser.error(f"BODY: cannot read {options.body}: {error.strerror}")
    overrides: dict[str, str] = {}
    for pair in options.settings:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            parser.error(f"SETTINGS: expected KEY=VALUE, got {pair!r}")
        overrides[key] = value

    with tempfile.TemporaryDirectory(prefix="backup-copier-invoke-") as folder, Emulator() as emulator:
        principal = issue_resource_principal(Path(folder), SOURCE_REGION)
        emulator.trust(principal.token, principal.public_key_pem)
        samples.seed(emulator, SOURCE_REGION)
        production = samples.load("report.json")["compartmentId"]
        emulator.add_compartment(emulator.tenancy_id, "production", compartment_id=production)
        settings = {
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
            "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
            "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
            **overrides,
        }
        with FunctionProcess({**principal.environment(), **settings}) as function:
            answer = function.invoke(body)
            log_lines = function.log_lines()
    print(f"HTTP {answer.status}")
    try:
        print(json.dumps(answer.json(), indent=2))
    except ValueError:
        print(answer.body.decode(errors="replace"))
    for line in log_lines:
        print(f"log ({line.get('level')}): {json.dumps(line)}")
    return 0 if answer.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
