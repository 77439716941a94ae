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
