"""The probe's own parts: how a py-spy sample is put in a bucket, and the tables it prints.

The figures themselves come from `python -m bench.probe`, never from a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cpu_profile import OTHER, OWN_CODE, bucket, own_code, shares
from bench.probe import AS_DEPLOYED, FLOOR, render_memory
from bench.scale import DEFAULT_WORKERS, ONE_WORKER, Cell

FDK = "handle_request (fdk/runner.py:80)"
PASS = "read_compartment (backup_copier/shared/scope_pass.py:120)"
READ = "read (backup_copier/backups/records.py:90)"
VALIDATE = "validate_json (pydantic/type_adapter.py:400)"
SOCKET = "readinto (socket.py:706)"
REQUEST = "request (oci/_vendor/requests/sessions.py:500)"
CALL = "call_api (oci/base_client.py:300)"
STRPTIME = "_strptime (_strptime.py:318)"
DESERIALIZE = "__deserialize_datetime (oci/base_client.py:900)"


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([FDK, PASS, READ, VALIDATE], "pydantic-core: records from list pages"),
        ([FDK, PASS, CALL, REQUEST, SOCKET], "HTTP (the SDK's vendored requests and urllib3, http.client, sockets)"),
        # strptime is nobody's in particular: the first frame outwards that is someone's decides.
        ([FDK, PASS, CALL, DESERIALIZE, STRPTIME], "SDK models: deserializing (oci.base_client, models)"),
        ([FDK, PASS, CALL], "SDK client: building requests, retries"),
        ([FDK, PASS], OWN_CODE),
        (["<module> (func.py:1)"], OTHER),
    ],
)
def test_a_sample_goes_to_its_innermost_recognisable_frame(frames: list[str], expected: str) -> None:
    assert bucket(frames) == expected


def test_shares_and_the_functions_own_frames_are_of_every_sample(tmp_path: Path) -> None:
    collapsed = tmp_path / "profile.collapsed"
    collapsed.write_text(
        f"{FDK};{PASS};{READ};{VALIDATE} 6\n{FDK};{PASS} 3\n{FDK};{READ.replace(':90', ':91')} 1\nnot a sample\n"
    )

    total, buckets = shares(collapsed)

    assert total == 10
    assert buckets == [("pydantic-core: records from list pages", 0.6), (OWN_CODE, 0.4)]
    assert own_code(collapsed) == [
        ("read_compartment (backup_copier/shared/scope_pass.py)", 0.3),
        ("read (backup_copier/backups/records.py)", 0.1),
    ]


def test_the_memory_table_gives_each_runs_difference_from_the_run_as_deployed() -> None:
    cells = [
        (AS_DEPLOYED, Cell("expire", 40, DEFAULT_WORKERS, 15.0, 140 * 1024, cpu_seconds=3.6)),
        ("MAX_CONCURRENCY=1", Cell("expire", 40, ONE_WORKER, 36.0, 98 * 1024, cpu_seconds=3.5)),
        (AS_DEPLOYED, Cell("report", 40, DEFAULT_WORKERS, 30.0, 120 * 1024, cpu_seconds=6.0)),
        (FLOOR, Cell("expire", 1, DEFAULT_WORKERS, 0.9, 84 * 1024, cpu_seconds=0.4)),
    ]

    rows = [line for line in render_memory(cells).splitlines() if line.startswith("| ") and "MiB" in line]

    assert rows == [
        "| report | as deployed | 120.0 MiB | +0.0 MiB | 30.0 s | 6.0 s |",
        "| expire | as deployed | 140.0 MiB | +0.0 MiB | 15.0 s | 3.6 s |",
        "| expire | MAX_CONCURRENCY=1 | 98.0 MiB | -42.0 MiB | 36.0 s | 3.5 s |",
        "| expire | one empty compartment (the floor) | 84.0 MiB | -56.0 MiB | 0.9 s | 0.4 s |",
    ]
