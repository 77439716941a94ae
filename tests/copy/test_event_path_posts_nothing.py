"""The event path posts no metric and never loads the SDK's Monitoring package: it stays as fast as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION, PROJECT_ROOT, FunctionFactory, event_for

_RUN_ONE_EVENT = """
import json, sys
from backup_copier import invocation
result = invocation.run("CALL1", None, sys.stdin.buffer.read())
print(json.dumps({"outcome": result.outcome.value, "loaded": sorted(m for m in sys.modules if m.startswith("oci."))}))
"""


def test_an_event_sends_no_metric(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")

    answer = function().invoke(event_for("volume", backup["id"]))

    assert answer.json()["outcome"] == "copied"
    # Reads, the copy, and the mark (update): nothing to Monitoring.
    assert {r.operation for r in emulator.requests} == {"get", "list", "copy", "update"}
    assert "metricsPosted" not in answer.json()


def test_an_event_never_imports_oci_monitoring(
    emulator: Emulator, principal: ResourcePrincipal, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("boot_volume")
    environment = {
        **principal.environment(),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(PROJECT_ROOT),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
        "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
    }
    done = subprocess.run(
        [sys.executable, "-c", _RUN_ONE_EVENT],
        input=json.dumps(event_for("boot_volume", backup["id"])).encode(),
        env=environment,
        capture_output=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)

    assert seen["outcome"] == "copied"
    # The copy needs oci.core; a metric would need oci.monitoring.
    assert "oci.core" in seen["loaded"]
    assert "oci.monitoring" not in seen["loaded"]
