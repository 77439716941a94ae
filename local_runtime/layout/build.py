"""`<dest>/python` and `<dest>/function` exactly as the image holds them, and a report of why.

The steps: install requirements.txt in full (pip install --target, cached by fn_build.py);
copy the function's code; compute the closure of its imports over the full install; copy
only the kept modules, their data and metadata; byte-compile both trees; check that every
import the function names resolves. The Dockerfile's build stage runs these same steps.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from local_runtime.fn_build import CACHE_ROOT, installed_requirements

from .bytecode import compile_tree
from .check import check_function_imports
from .closure import ClosureBuilder, LayoutError, Root
from .install_tree import InstallTree
from .module_imports import read_imports
from .observe import ObserveImports, base_interpreter
from .python_tree import copy_kept_modules, copy_metadata, copy_scripts, distributions, write_records
from .reviewed import REVIEWED_COMPUTED_IMPORTS, REVIEWED_OPTIONAL_IMPORTS

# What /function holds: the code that runs. func.yaml and requirements.txt are read by the
# fn CLI and by this build, never by the running function.
FUNCTION_CODE = ("func.py", "backup_copier")
_FUNCTION_PACKAGES = tuple(name.removesuffix(".py") for name in FUNCTION_CODE)
IMAGE_PYTHON = "/python/"
IMAGE_ROOT = Path("/")  # where the image holds /python and /function
LAYOUT_CACHE = CACHE_ROOT.parent / "layout"
# Each change to what the function imports makes a new tree of about 60 MB: beyond the newest
# few, trees go once no session has used them for an hour (a session touches its tree at start).
CACHED_TREES_KEPT = 4
CACHED_TREE_IDLE_SECONDS = 3600
_LAYOUT_SOURCES = Path(__file__).resolve().parent


@dataclass
class LayoutReport:
    python: str  # the interpreter that built it, and must run it
    modules: int = 0
    kept: list[str] = field(default_factory=list)  # top-level packages and modules
    removed: list[str] = field(default_factory=list)
    distributions_kept: list[str] = field(default_factory=list)
    distributions_removed: list[str] = field(default_factory=list)
    whole_packages: dict[str, str] = field(default_factory=dict)
    left_out_optional_imports: list[str] = field(default_factory=list)
    # Environment variables the image must not set: their branches' imports were left out.
    assumes_unset: dict[str, list[str]] = field(default_factory=dict)
    found_by_importing_binaries: list[str] = field(default_factory=list)
    imports_checked: int = 0

    def summary(self) -> str:
        lines = [
            f"kept {self.modules} modules in {len(self.kept)} top-level packages: {', '.join(self.kept)}",
            f"removed {len(self.removed)} top-level packages: {', '.join(self.removed)}",
            f"distributions kept: {', '.join(self.distributions_kept)}",
            f"distributions removed: {', '.join(self.distributions_removed)}",
            "kept whole (their imports cannot all be read):",
            *(f"  {package}: {why}" for package, why in sorted(self.whole_packages.items())),
            "left out although imported when installed (reviewed in local_runtime/layout/reviewed.py):",
            *(f"  {line}" for line in self.left_out_optional_imports),
            "found only by importing binary modules: " + ", ".join(self.found_by_importing_binaries),
            "the image must not set (fn config) these variables, whose branches were left out:",
            *(f"  {variable}: {', '.join(where)}" for variable, where in sorted(self.assumes_unset.items())),
            f"checked {self.imports_checked} imports of the function's code against the result",
        ]
        return "\n".join(lines)


def entrypoint_scripts(project_root: Path) -> list[str]:
    """func.yaml's entrypoint (`/python/bin/fdk /function/func.py handler`) -> ["bin/fdk"]."""
    for line in (project_root / "func.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "entrypoint":
            program = value.split()[0]
            if not program.startswith(IMAGE_PYTHON):
                raise LayoutError(f"func.yaml's entrypoint {program} is not a script under {IMAGE_PYTHON}")
            return [program.removeprefix(IMAGE_PYTHON)]
    raise LayoutError("func.yaml has no entrypoint")


def write_function_tree(project_root: Path, destination: Path, shown_as: Path | None = None) -> Path:
    """`destination` holding the function's code, compiled; its byte code names the files under `shown_as`."""
    destination.mkdir(parents=True)
    for name in FUNCTION_CODE:
        source = project_root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    compile_tree(destination, shown_as)
    return destination


def write_python_tree(
    installed: Path, function_dir: Path, scripts: list[str], destination: Path, shown_as: Path | None = None
) -> LayoutReport:
    install = InstallTree(installed)
    roots = [Root(module.name, module.path, module.is_package) for module in InstallTree(function_dir).modules.values()]
    roots += [Root("__main__", installed / script) for script in scripts]
    closure = ClosureBuilder([InstallTree(function_dir), install], observe=ObserveImports(installed)).build(roots)
    if closure.problems:
        raise LayoutError("the layout cannot be trusted:\n  " + "\n  ".join(closure.problems))
    kept = [module for name, module in closure.modules.items() if install.find(name) == module]
    destination.mkdir(parents=True)
    copy_kept_modules(install, kept, destination)
    copy_scripts(installed, scripts, destination, base_interpreter())
    compile_tree(destination, shown_as)
    shipped = copy_metadata(installed, destination)
    write_records(destination, shipped)
    kept_tops = sorted({module.top_level for module in kept})
    assumes_unset: dict[str, list[str]] = {}
    for name, branches in sorted(closure.skipped_branches.items()):
        for branch in branches:
            for variable in branch.variables:
                assumes_unset.setdefault(variable, []).append(f"{name}:{branch.line}")
    return LayoutReport(
        python=sys.version.split()[0],
        modules=len(kept),
        kept=kept_tops,
        removed=sorted(install.top_levels() - set(kept_tops)),
        distributions_kept=sorted(distribution.dist_info.name for distribution in shipped),
        distributions_removed=sorted(
            distribution.dist_info.name for distribution in distributions(installed) if distribution not in shipped
        ),
        whole_packages=closure.whole_packages,
        left_out_optional_imports=[
            f"{dropped.importer}:{dropped.line} imports {dropped.target}: {dropped.why}" for dropped in closure.dropped
        ],
        assumes_unset=assumes_unset,
        found_by_importing_binaries=sorted(closure.observed),
    )


def build_layout(project_root: Path, destination: Path, moved_to: Path | None = None) -> LayoutReport:
    """Write destination/python and destination/function, check them, and return the report.

    `moved_to`: where destination will be renamed to once built, for the file names in the byte code.
    """
    installed = installed_requirements(project_root / "requirements.txt")
    function_dir = write_function_tree(project_root, destination / "function")
    scripts = entrypoint_scripts(project_root)
    shown_as = moved_to / "python" if moved_to else None
    report = write_python_tree(installed, function_dir, scripts, destination / "python", shown_as)
    report.imports_checked = check_function_imports(function_dir, destination / "python")
    (destination / "layout.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def cached_python_tree(project_root: Path) -> tuple[Path, LayoutReport]:
    """The python tree for the function's current imports, built once and reused.

    The function's code is not part of the key, only what it imports: editing a module
    without changing its imports reuses the tree. The function tree itself is never cached.
    """
    installed = installed_requirements(project_root / "requirements.txt")
    key = _cache_key(project_root, installed)
    target = LAYOUT_CACHE / key
    report_path = target / "layout.json"
    if report_path.is_file():
        target.touch()  # recently used: not the next to go
        return target / "python", LayoutReport(**json.loads(report_path.read_text()))
    LAYOUT_CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="layout-", dir=LAYOUT_CACHE))
    try:
        # The byte code names the files where the image holds them (/python/...), so the tree's bytes
        # do not depend on where the cache lives, and the code-only archive zips the tree as it is.
        # Python puts the true path back when it loads byte code beside its source, so tracebacks
        # still name the cached files.
        report = build_layout(project_root, staging, moved_to=IMAGE_ROOT)
        shutil.rmtree(staging / "function")  # the function's code is laid out afresh by each user
        staging.rename(target)  # atomic: a concurrent or interrupted build never leaves half a tree
    except OSError:
        if not report_path.is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _forget_old_trees()
    return target / "python", report


def _forget_old_trees() -> None:
    trees = sorted(
        (path for path in LAYOUT_CACHE.iterdir() if (path / "layout.json").is_file()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    idle_since = time.time() - CACHED_TREE_IDLE_SECONDS
    for old in trees[CACHED_TREES_KEPT:]:
        if old.stat().st_mtime < idle_since:
            shutil.rmtree(old, ignore_errors=True)


def _cache_key(project_root: Path, installed: Path) -> str:
    """What the python tree depends on: the install, this code, func.yaml and what the function imports."""
    digest = hashlib.sha256()
    digest.update(str(installed).encode() + sys.version.encode())
    for layout_module in sorted(_LAYOUT_SOURCES.glob("*.py")):
        digest.update(layout_module.read_bytes())
    digest.update((project_root / "func.yaml").read_bytes())
    sources = []
    for module in InstallTree(project_root).modules.values():  # the closure's roots, read in place
        if module.top_level not in _FUNCTION_PACKAGES:
            continue
        source = module.path.read_text(encoding="utf-8")
        sources.append(source)
        imports = read_imports(source, module.name, module.is_package, str(module.path))
        digest.update(
            repr((module.name, sorted(imports.candidates.items()), sorted(imports.star_from.items()))).encode()
        )
        digest.update(repr(imports.computed).encode())
    text = "\n".join(sources)
    reviews = [*REVIEWED_COMPUTED_IMPORTS.values(), *REVIEWED_OPTIONAL_IMPORTS.values()]
    mentioned = sorted({word for review in reviews for word in review.unless_function_mentions if word in text})
    digest.update(repr(mentioned).encode())
    return digest.hexdigest()[:16]
