"""The package's structure, read from its modules' imports: layers point one way, no circles.

Every import counts, function-level ones included, since a circle hidden in a function is
still a circle. See docs/architecture.md for the layers these rules encode.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

PACKAGE = "backup_copier"
PACKAGE_DIR = PROJECT_ROOT / PACKAGE
CAPABILITIES = ("copy", "sweep", "expire", "report", "deploy_kit", "fan_out", "drill")
# What each part of the package may import from the rest of it (besides itself).
MAY_USE: dict[str, set[str]] = {
    "shared": set(),
    "backups": {"shared"},
    **{capability: {"shared", "backups"} for capability in CAPABILITIES},
    "dispatch": {"shared", *CAPABILITIES},
    "invocation": {"shared", "dispatch"},
    "__init__": {"shared"},
}


@dataclass(frozen=True)
class Import:
    target: str
    line: int
    deferred: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    """The package modules an import statement loads, by their full names."""
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        targets.append(candidate if candidate in MODULES else base)
    return targets


def _imports(module: str) -> list[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = _resolve(module, path, node)
        else:
            continue
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                found.append(Import(target, node.lineno, id(node) not in top_level))
    return found


def _part(module: str) -> str:
    """`backup_copier.sweep.loop` -> `sweep`; `backup_copier.dispatch` -> `dispatch`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_import_points_down_the_layers() -> None:
    wrong = []
    for module in MODULES:
        part = _part(module)
        assert part in MAY_USE, f"{module} is in no layer: add its folder to docs/architecture.md and MAY_USE"
        for found in _imports(module):
            used = _part(found.target)
            if used != part and used not in MAY_USE[part]:
                wrong.append(f"{module}:{found.line} imports {found.target}")
    assert wrong == [], "imports across or up the layers:\n" + "\n".join(wrong)


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {module: {found.target for found in _imports(module)} - {module} for module in MODULES}
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_circle_check_would_see_a_circle() -> None:
    """The graph above is built from real edges: the dispatch is known to reach every capability."""
    reached = {_part(found.target) for found in _imports(f"{PACKAGE}.dispatch")}
    assert set(CAPABILITIES) <= reached


def test_deferred_imports_say_they_serve_cold_start() -> None:
    unexplained = []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top_level:
                # The comment may stand above a block of such imports, or on the line itself.
                first = node.lineno - 1
                while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
                    first -= 1
                nearby = " ".join(lines[max(0, first - 3) : node.lineno]).lower()
                if not re.search(r"cold[ -]start", nearby):
                    unexplained.append(f"{module}:{node.lineno}")
    assert unexplained == [], "function-level imports without a cold-start comment: " + ", ".join(unexplained)


@pytest.mark.parametrize("package", sorted(m for m, p in MODULES.items() if p.name == "__init__.py"))
def test_every_package_says_what_lives_there(package: str) -> None:
    docstring = ast.get_docstring(ast.parse(MODULES[package].read_text()))
    assert docstring, f"{package}/__init__.py needs a docstring: what lives there and what it may use"
    assert len(docstring.splitlines()) <= 4


def test_func_py_is_wiring_only() -> None:
    tree = ast.parse((PROJECT_ROOT / "func.py").read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"io", "json", "fdk", PACKAGE}
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions == ["handler"]
