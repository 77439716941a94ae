"""The parse table's own parts: the pages it records, the three parsers it compares, and its verdict.

The timings themselves come from `make bench`, never from a test.
"""

from __future__ import annotations

import json
from pathlib import Path

from backup_copier.backups.marks import COPY_KEY, EXPIRES_KEY
from backup_copier.shared.kinds import SPECS, BackupKind
from bench.parse_table import RATIO_TARGET, Row, measure, record_pages, render


def test_the_pages_are_marked_copies_and_every_parser_reads_them_whole(tmp_path: Path) -> None:
    pages, clients = record_pages(tmp_path, count=4)
    assert set(pages) == set(BackupKind)
    for kind, body in pages.items():
        items = json.loads(body)
        assert len(items) == 4
        assert all(
            item["freeformTags"][COPY_KEY] == item["id"] and EXPIRES_KEY in item["freeformTags"] for item in items
        )
        assert all(item[_camel(SPECS[kind].source_attribute)] for item in items)
        assert all("Oracle-Tags" in item["definedTags"] for item in items)
    rows = measure(pages, clients, runs=1, count=4)
    assert [row.kind for row in rows] == list(BackupKind)
    assert all(row.sdk_ms > 0 and row.lean_ms > 0 and row.lean_peak > 0 for row in rows)


def test_the_verdict_is_the_least_ratio_of_the_three_kinds() -> None:
    def row(kind: BackupKind, sdk_ms: float) -> Row:
        return Row(kind, 1_500_000, sdk_ms, 7.0, 4.0, 6_000_000, 4_500_000, 1_400_000)

    met = [
        row(BackupKind.VOLUME, 40.0),
        row(BackupKind.BOOT_VOLUME, 4.0 * RATIO_TARGET),
        row(BackupKind.VOLUME_GROUP, 36.0),
    ]
    table, verdict = render(met)
    assert (
        verdict.met and verdict.measured.startswith(f"{RATIO_TARGET:.1f}x less") and "boot volume" in verdict.measured
    )
    assert "| volume backups | 1.43 MiB | 40.0 ms | 7.0 ms | 4.0 ms | 10.0x less |" in table
    _, missed = render([row(BackupKind.VOLUME, 4.0 * RATIO_TARGET - 0.1)])
    assert not missed.met


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
