"""The layout the image holds: everything the function can import is there and loads, nothing else is.

Imports run in a fresh base interpreter with `-S` and only the layout on PYTHONPATH, as
the image's entrypoint runs, so nothing of this virtual environment can stand in.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from local_runtime.fn_build import installed_requirements
from local_runtime.layout.build import cached_python_tree
from local_runtime.layout.closure import ClosureBuilder, Root
from local_runtime.layout.install_tree import InstallTree
from local_runtime.layout.observe import base_interpreter, isolated_environment
from local_runtime.layout.reviewed import REVIEWED_OPTIONAL_IMPORTS
from local_runtime.layout.run import LaidOut
from tests.helpers import PROJECT_ROOT

# Runs in the child: import each module, then run each (module, names) import; print the failures.
_IMPORTER = """
import importlib, json, sys
plan = json.loads(sys.stdin.read())
failures = {}
for name in plan["modules"]:
    try:
        importlib.import_module(name)
    except BaseException as error:
        failures[name] = f"{type(error).__name__}: {error}"
for where, module_name, names in plan["imports"]:
    try:
        module = importlib.import_module(module_name)
        for name in names:
            getattr(module, name)
    except BaseException as error:
        failures[where] = f"{type(error).__name__}: {error}"
print(json.dumps(failures))
"""


def _import_in_fresh_interpreter(
    python_path: list[Path], modules: list[str], imports: list[tuple[str, str, list[str]]] | None = None
) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        completed = subprocess.run(
            [base_interpreter(), "-S", "-P", "-c", _IMPORTER],
            input=json.dumps({"modules": modules, "imports": imports or []}),
            capture_output=True,
            text=True,
            env=isolated_environment(python_path),
            cwd=scratch,
            timeout=240,
        )
    assert completed.returncode == 0, completed.stderr
    failures: dict[str, str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return failures


def _lazy_imports(path: Path, module: str, is_package: bool) -> list[tuple[str, str, list[str]]]:
    """The import statements inside functions: those run only when the function does."""
    tree = ast.parse(path.read_text())
    lazy = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            where = f"{module}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                lazy += [(where, alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.level and node.module else (node.module or package)
                lazy.append((where, base, [alias.name for alias in node.names]))
    return lazy


def test_every_module_of_the_function_imports_with_the_sdk_modules_it_imports_lazily(laid_out: LaidOut) -> None:
    package = laid_out.function_dir / "backup_copier"
    modules, lazy = ["func"], []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(laid_out.function_dir).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if parts[-1] != "__main__":  # importing it would run the program
            modules.append(name)
        lazy += _lazy_imports(path, name, path.name == "__init__.py")
    assert len(modules) > 30
    assert any(module.startswith("oci.") for _, module, _ in lazy), "the SDK's lazy imports were not found"
    failures = _import_in_fresh_interpreter([laid_out.function_dir, laid_out.python_dir], modules, lazy)
    assert failures == {}


def _left_out_on_purpose(error: str) -> bool:
    """An import of a package the layout leaves out after review (reviewed.py), failing as expected."""
    return error.startswith("ModuleNotFoundError") and any(
        f"No module named '{package}" in error for package in REVIEWED_OPTIONAL_IMPORTS
    )


@pytest.mark.timeout(300)
def test_every_module_kept_imports_as_it_does_in_the_full_install(laid_out: LaidOut) -> None:
    """Module by module, the pruned tree behaves as the plain `pip install --target` does."""
    kept = sorted(name for name in InstallTree(laid_out.python_dir).modules if not name.endswith("__main__"))
    assert len(kept) > 500
    full_install = installed_requirements(PROJECT_ROOT / "requirements.txt")
    in_full = _import_in_fresh_interpreter([full_install], kept)
    in_layout = _import_in_fresh_interpreter([laid_out.python_dir], kept)
    only_in_layout = {name: error for name, error in in_layout.items() if name not in in_full}
    assert {name: error for name, error in only_in_layout.items() if not _left_out_on_purpose(error)} == {}


def test_the_entrypoint_script_starts_python_without_site_packages(laid_out: LaidOut) -> None:
    """So that the image, like the tests, imports from /function and /python only."""
    first_line = (laid_out.python_dir / "bin" / "fdk").read_text().splitlines()[0]
    assert first_line == f"#!{base_interpreter()} -S"
    assert laid_out.runtime().fdk_command == [str(laid_out.python_dir / "bin" / "fdk")]


def test_it_holds_no_test_or_build_tools_and_few_sdk_services(laid_out: LaidOut) -> None:
    python_dir = laid_out.python_dir
    assert [path.name for path in (python_dir / "bin").iterdir()] == ["fdk"]
    for tool in ("pytest", "_pytest", "pytest_asyncio", "Cython", "setuptools", "wheel", "pygments", "pbr", "aiohttp"):
        assert not (python_dir / tool).exists(), tool
        assert not list(python_dir.glob(f"{tool}-*.dist-info")), tool
    services = [path.name for path in (python_dir / "oci").iterdir() if (path / "__init__.py").exists()]
    assert "core" in services
    assert len(services) < 15, services  # of about 200 in the SDK


def test_both_trees_are_byte_compiled_with_unchecked_hashes(laid_out: LaidOut) -> None:
    import importlib.util

    for tree in (laid_out.function_dir, laid_out.python_dir):
        sources = list(tree.rglob("*.py"))
        assert sources
        for source in sources:
            cached = Path(importlib.util.cache_from_source(str(source)))
            # The .pyc flags word: bit 0 hash-based, bit 1 check the source; unchecked is 0b01.
            assert cached.is_file() and int.from_bytes(cached.read_bytes()[4:8], "little") == 0b01, source


def test_the_metadata_code_may_read_is_there_and_true(laid_out: LaidOut) -> None:
    script = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name'].lower(): len(d.files or []) for d in m.distributions()}))"
    )
    completed = subprocess.run(
        [base_interpreter(), "-S", "-P", "-c", script],
        capture_output=True,
        text=True,
        env=isolated_environment([laid_out.python_dir]),
        timeout=60,
    )
    distributions = json.loads(completed.stdout)
    assert {"fdk", "oci", "pydantic", "pydantic_core", "cryptography"} <= set(distributions)
    assert not {"pytest", "cython", "setuptools", "pygments", "aiohttp"} & set(distributions)
    record = (next(laid_out.python_dir.glob("oci-*.dist-info")) / "RECORD").read_text().splitlines()
    listed = {line.split(",")[0] for line in record}
    assert "oci/core/__init__.py" in listed
    assert not any(path.startswith("oci/database/") for path in listed)
    assert all((laid_out.python_dir / path).is_file() for path in listed)


def test_the_variables_the_image_must_not_set_are_reported_and_documented() -> None:
    _, report = cached_python_tree(PROJECT_ROOT)
    assert "OCI_PYTHON_SDK_LAZY_IMPORTS_DISABLED" in report.assumes_unset
    documented = (PROJECT_ROOT / "docs" / "image.md").read_text()
    assert all(variable in documented for variable in report.assumes_unset)


@pytest.mark.timeout(120)
def test_a_service_the_function_starts_importing_is_kept_with_no_list_to_edit(
    laid_out: LaidOut, tmp_path: Path
) -> None:
    """What a new capability does (`from oci.ons import ...` inside a function), on the real SDK."""
    function_dir = tmp_path / "function"
    shutil.copytree(laid_out.function_dir, function_dir, ignore=shutil.ignore_patterns("__pycache__"))
    (function_dir / "backup_copier" / "metrics_probe.py").write_text(
        "def publish() -> None:\n    from oci.ons import NotificationDataPlaneClient\n\n    NotificationDataPlaneClient\n"
    )
    full_install = installed_requirements(PROJECT_ROOT / "requirements.txt")
    trees = [InstallTree(function_dir), InstallTree(full_install)]
    roots = [Root(module.name, module.path, module.is_package) for module in trees[0].modules.values()]
    closure = ClosureBuilder(trees).build(roots)
    assert "oci.ons.notification_data_plane_client" in closure.modules
    assert "oci.database" not in closure.modules
    assert "oci.ons" not in InstallTree(laid_out.python_dir).modules  # today's code does not need it
    # And what today's code does import lazily (the report's Monitoring client) is in the image.
    assert "oci.monitoring.monitoring_client" in InstallTree(laid_out.python_dir).modules
