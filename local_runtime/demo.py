"""`make demo`: the function behind the real fdk socket, against the local emulator.

Sends every file in events/ through the function as the Fn agent would, delivers one
event twice (as OCI Events may), and prints what happened in a table. Nothing leaves
this machine: the emulator listens on 127.0.0.1 and verifies every request's signature.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.credentials import issue_resource_principal
from local_runtime.fdk_process import FnResponse, FunctionProcess

SOURCE_REGION = "us-phoenix-1"
DESTINATION_REGION = "us-ashburn-1"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="backup-copier-demo-") as folder, Emulator() as emulator:
        principal = issue_resource_principal(Path(folder), SOURCE_REGION)
        emulator.trust(principal.token, principal.public_key_pem)
        for backup in samples.backups(SOURCE_REGION):
            emulator.add_backup(
                backup.kind,
                backup.region,
                backup.compartment_id,
                backup_id=backup.backup_id,
                display_name=backup.display_name,
            )
        settings = {"DESTINATION_REGION": DESTINATION_REGION, "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template}
        print(f"Emulator on 127.0.0.1:{emulator.port}; function copies {SOURCE_REGION} -> {DESTINATION_REGION}\n")
        rows: list[tuple[str, FnResponse]] = []
        with FunctionProcess({**principal.environment(), **settings}) as function:
            # Events first, as the Events rule would send them; then the operator's requests.
            for name in sorted(samples.names(), key=lambda name: "eventType" not in samples.load(name)):
                rows.append((name, function.invoke(samples.load(name))))
            redelivered = "volume-backup-completed.json"
            rows.append((f"{redelivered} (delivered again)", function.invoke(samples.load(redelivered))))
        _print_table(rows)
        _print_emulator_summary(emulator)
        failures = [name for name, answer in rows if answer.status != 200]
        if failures:
            print(f"\nUnexpected failures: {failures}", file=sys.stderr)
            return 1
    return 0


def _print_table(rows: list[tuple[str, FnResponse]]) -> None:
    header = ("request (events/)", "HTTP", "outcome", "detail")
    lines = [header] + [(name, str(answer.status), *_summarise(answer.json())) for name, answer in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(3)]
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)) + "  " + line[3])
        if index == 0:
            print("  ".join("-" * width for width in widths) + "  " + "-" * 40)


def _summarise(body: dict[str, Any]) -> tuple[str, str]:
    copies = body.get("copies") or []
    if body.get("outcome") in ("copied", "already_copied") and copies:
        detail = ", ".join(
            f"{c['destinationRegion']}: {c.get('copyId', '')[:40]}… ({c.get('copyState')})" for c in copies
        )
    elif "checks" in body:
        detail = ", ".join(f"{c['name']}={'ok' if c['ok'] else 'FAIL'}" for c in body["checks"])
    else:
        detail = body.get("reason") or json.dumps({k: v for k, v in body.items() if k not in ("callId",)})[:120]
    return str(body.get("outcome")), detail


def _print_emulator_summary(emulator: Emulator) -> None:
    requests = emulator.requests
    by_operation: dict[str, int] = {}
    for request in requests:
        by_operation[request.operation] = by_operation.get(request.operation, 0) + 1
    refused = sum(1 for request in requests if request.status == 401)
    copies = emulator.backups(DESTINATION_REGION)
    print(
        f"\nEmulator: {len(requests)} signed requests ({', '.join(f'{n} {op}' for op, n in sorted(by_operation.items()))}), "
        f"{refused} refused for a bad signature; {len(copies)} copies now in {DESTINATION_REGION}, "
        f"{len({c.get('sourceVolumeBackupId') or c.get('sourceBootVolumeBackupId') or c.get('sourceVolumeGroupBackupId') for c in copies})} distinct sources."
    )


if __name__ == "__main__":
    sys.exit(main())
