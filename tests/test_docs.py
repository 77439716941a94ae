"""The README and docs/ stay true to the tree: links resolve, named paths exist, the map is whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)
_PACKAGE_PATH = re.compile(r"backup_copier/[A-Za-z0-9_/]+(?:\.py)?")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group() == "_" else "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _CODE_BLOCK.sub("", page.read_text())
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _links(page: Path) -> list[str]:
    return _LINK.findall(_CODE_BLOCK.sub("", page.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _links(page):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:: not this repository's to check
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor in {linked.name}")
    assert broken == []


def test_the_pages_link_to_each_other() -> None:
    """Every page under docs/ is reachable from the README."""
    linked = {(PROJECT_ROOT / target.partition("#")[0]).resolve() for target in _links(PROJECT_ROOT / "README.md")}
    assert {page.resolve() for page in PAGES[1:]} <= linked


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_package_path_named_exists(page: Path) -> None:
    missing = sorted(
        {
            path
            for path in _PACKAGE_PATH.findall(page.read_text())
            if "__pycache__" not in path and not (PROJECT_ROOT / path).exists()
        }
    )
    assert missing == []


def test_the_architecture_page_names_every_folder_and_module() -> None:
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    package = PROJECT_ROOT / "backup_copier"
    unnamed = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name != "__init__.py" and path.name not in text
    ]
    unnamed += [
        f"{folder.name}/"
        for folder in sorted(package.iterdir())
        if folder.is_dir() and folder.name != "__pycache__" and f"{folder.name}/" not in text
    ]
    assert unnamed == [], "docs/architecture.md does not name these; add them to its map"


def test_the_readme_stays_a_one_screen_page() -> None:
    assert len((PROJECT_ROOT / "README.md").read_bytes()) <= 10 * 1024


# The tables a reader trusts are held to the code they describe (issue 24, finding 8).


def _table_after(page: Path, heading: str) -> list[list[str]]:
    """The cells of the first table below `heading`, header and rule left out."""
    lines = page.read_text().split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _every_key() -> set[str]:
    from backup_copier.shared.settings import PER_REGION_KEYS, SETTING_KEYS

    return set(SETTING_KEYS) | {f"{family.prefix}<REGION>" for family in PER_REGION_KEYS}


def test_the_every_key_table_of_deploying_md_has_every_key_the_function_reads() -> None:
    rows = _table_after(PROJECT_ROOT / "docs" / "deploying.md", "## 4. Configuration: `fn config function`")
    # One row per key, named first in its first cell (`KMS_KEY_ID_<REGION>` (e.g. ...)).
    assert sorted(_code(row[0])[0] for row in rows) == sorted(_every_key())


def test_the_readme_s_settings_table_covers_every_key() -> None:
    named = {key for row in _table_after(PROJECT_ROOT / "README.md", "## Settings") for key in _code(row[0])}
    wildcards = {key for key in named if key.startswith("*")}
    covered = {key for key in _every_key() if key in named or any(key.endswith(w[1:]) for w in wildcards)}
    assert covered == _every_key()
    assert named - wildcards <= _every_key()


def test_the_readme_s_outcome_table_has_every_outcome_with_its_status() -> None:
    from backup_copier.shared.result import InvocationResult, Outcome

    listed: dict[str, int] = {}
    for row in _table_after(PROJECT_ROOT / "README.md", "## The answer"):
        outcomes, statuses = _code(row[0]), [int(status) for status in row[1].split(", ")]
        listed.update(zip(outcomes, statuses * len(outcomes) if len(statuses) == 1 else statuses, strict=True))
    assert listed == {outcome.value: InvocationResult(outcome).http_status for outcome in Outcome}


def test_the_log_line_s_outcome_row_names_every_outcome() -> None:
    from backup_copier.shared.result import Outcome

    [row] = [
        r
        for r in _table_after(PROJECT_ROOT / "docs" / "operations.md", "## Logging: one JSON line per invocation")
        if r[0] == "`outcome`"
    ]
    assert set(_code(row[1])) == {outcome.value for outcome in Outcome}


def test_every_page_gives_the_sweep_to_expiry_offset_the_schedules_have() -> None:
    from backup_copier.deploy_kit.setup import EXPIRY_CRON, SWEEP_CRON

    offset = (int(EXPIRY_CRON.split()[0]) - int(SWEEP_CRON.split()[0])) % 60
    words = {30: "half an hour"}.get(offset, f"{offset} minutes")
    texts = [*PAGES, *sorted((PROJECT_ROOT / "backup_copier" / "deploy_kit").glob("*.py"))]
    said = {
        (path.name, phrase)
        for path in texts
        for phrase in re.findall(r"((?:half )?an hour|\d+ minutes) after (?:a|the) sweep", path.read_text())
    }
    assert said, "no page says when the expiry pass runs after the sweep"
    assert {phrase for _, phrase in said} == {words}, sorted(said)
