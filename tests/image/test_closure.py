"""The closure that decides what the image keeps, on small made-up installs shaped like the real one.

The SDK's shape is what matters: a package whose __init__ imports its services lazily
(PEP 562), except in a branch that an environment variable selects.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from local_runtime.layout.check import UnresolvedImports, check_function_imports
from local_runtime.layout.closure import Closure, ClosureBuilder, Root
from local_runtime.layout.install_tree import InstallTree

LAZY_SDK_INIT = """
import os
from . import auth
if os.getenv("SDK_LAZY_IMPORTS_DISABLED", "False").lower() != "true":
    def __getattr__(name):
        import importlib
        return importlib.import_module(__name__ + "." + name)
else:
    from . import core, monitoring, database
"""
SDK = {
    "sdk/__init__.py": LAZY_SDK_INIT,
    "sdk/auth.py": "",
    "sdk/core/__init__.py": "from .client import Client\n",
    "sdk/core/client.py": "class Client: ...\n",
    "sdk/monitoring/__init__.py": "class MonitoringClient: ...\n",
    "sdk/database/__init__.py": "class DatabaseClient: ...\n",
    "tester/__init__.py": "",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _closure(tmp_path: Path, function: str, install: dict[str, str] | None = None) -> Closure:
    function_dir = _write(tmp_path / "function", {"func.py": function})
    install_dir = _write(tmp_path / "python", install if install is not None else SDK)
    trees = [InstallTree(function_dir), InstallTree(install_dir)]
    return ClosureBuilder(trees).build([Root("func", function_dir / "func.py")])


def test_a_service_imported_inside_a_function_is_kept(tmp_path: Path) -> None:
    closure = _closure(tmp_path, "def publish():\n    from sdk.monitoring import MonitoringClient\n")
    assert "sdk.monitoring" in closure.modules
    assert "sdk.database" not in closure.modules
    assert closure.problems == []


def test_a_service_reached_as_an_attribute_of_the_lazy_package_is_kept(tmp_path: Path) -> None:
    closure = _closure(tmp_path, "import sdk\n\ndef publish():\n    return sdk.monitoring.MonitoringClient()\n")
    assert {"sdk.monitoring", "sdk.auth"} <= set(closure.modules)
    assert "sdk.core" not in closure.modules


def test_the_eager_branch_is_left_out_and_its_variable_reported(tmp_path: Path) -> None:
    closure = _closure(tmp_path, "from sdk.core import Client\n")
    assert {"sdk", "sdk.core", "sdk.core.client"} <= set(closure.modules)
    assert "sdk.database" not in closure.modules
    assert [branch.variables for branch in closure.skipped_branches["sdk"]] == [("SDK_LAZY_IMPORTS_DISABLED",)]


def test_a_computed_import_without_a_review_fails_the_layout(tmp_path: Path) -> None:
    install = {
        **SDK,
        "plugins/__init__.py": "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n",
    }
    closure = _closure(tmp_path, "import plugins\n", install)
    assert any("plugins:4 imports a module whose name is computed" in problem for problem in closure.problems)


def test_a_computed_import_with_a_literal_prefix_keeps_that_package_whole(tmp_path: Path) -> None:
    install = {
        **SDK,
        "plugins/__init__.py": "import importlib\n\ndef load(name):\n    return importlib.import_module('plugins.kinds.' + name)\n",
        "plugins/kinds/__init__.py": "",
        "plugins/kinds/first.py": "",
        "plugins/unused/__init__.py": "",
    }
    closure = _closure(tmp_path, "import plugins\n", install)
    assert "plugins.kinds.first" in closure.modules
    assert "plugins.unused" not in closure.modules
    assert closure.problems == []


def test_an_optional_import_of_an_installed_package_needs_a_review(tmp_path: Path) -> None:
    install = {
        **SDK,
        "speedups/__init__.py": "",
        "client.py": "try:\n    import speedups\nexcept ImportError:\n    speedups = None\n",
    }
    closure = _closure(tmp_path, "import client\n", install)
    assert "speedups" not in closure.modules
    assert any("client:2 imports speedups if it is installed" in problem for problem in closure.problems)


def test_imports_for_type_checkers_only_are_left_out_without_review(tmp_path: Path) -> None:
    install = {
        **SDK,
        "stubs_only/__init__.py": "",
        "client.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import stubs_only\n",
    }
    closure = _closure(tmp_path, "import client\n", install)
    assert "stubs_only" not in closure.modules
    assert closure.problems == []


def test_a_package_holding_a_binary_module_is_kept_whole(tmp_path: Path) -> None:
    install = {
        **SDK,
        "native/__init__.py": "from . import _speed\n",
        f"native/_speed{_binary_suffix()}": "",
        "native/loaded_by_the_binary/__init__.py": "",
    }
    closure = _closure(tmp_path, "import native\n", install)
    assert "native.loaded_by_the_binary" in closure.modules
    assert "holds the binary module native._speed" in closure.whole_packages["native"]


def test_an_import_the_function_names_that_the_layout_lacks_fails_loudly(tmp_path: Path) -> None:
    function_dir = _write(
        tmp_path / "function",
        {"backup_copier/__init__.py": "", "backup_copier/report.py": "def send():\n    from sdk import nothing\n"},
    )
    python_dir = _write(tmp_path / "python", SDK)
    with pytest.raises(UnresolvedImports, match=r"backup_copier/report.py:2: from sdk import nothing"):
        check_function_imports(function_dir, python_dir)


def _binary_suffix() -> str:
    import importlib.machinery

    return importlib.machinery.EXTENSION_SUFFIXES[0]


def test_a_namespace_package_it_cannot_follow_fails_the_layout(tmp_path: Path) -> None:
    closure = _closure(tmp_path, "import portions.mod\n", {**SDK, "portions/mod.py": ""})
    assert any("imports the namespace package portions" in problem for problem in closure.problems)
