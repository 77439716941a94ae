"""Every module the function can ever import: the closure of its own modules' imports.

It starts at func.py, every module of backup_copier and the fdk's console script, and
follows what module_imports.py reads through the installed packages, to a fixed point.
Each module carries how much the program needs it (module_imports.Need): a module reached
only through optional imports is optional, and so is everything it imports.

A top-level package is kept when something required reaches it. An installed package that
only optional imports reach is left out, but only where a human has read the importing code
(reviewed.py): anything else fails the layout. Imports that run only for type checkers are
left out without review, since they never run.

Where reading the source cannot see far enough, a whole package is kept instead:
- a package holding a binary module, whose compiled code imports by name, unseen;
- the package that bounds a computed import (`"oci._vendor." + name` keeps oci._vendor);
- for a computed import without a bound, what reviewed.py says, and without a review the
  layout fails;
- and what binary modules import while they load is observed by importing them (observe.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .install_tree import InstallTree, Module
from .module_imports import ModuleImports, Need, SkippedBranch, read_imports
from .reviewed import REVIEWED_COMPUTED_IMPORTS, REVIEWED_OPTIONAL_IMPORTS, Review

# Given module names, return the names of every module loaded while importing them.
Observer = Callable[[Iterable[str]], set[str]]
ROOT = "<root>"


class LayoutError(Exception):
    """The layout cannot be trusted: an import it cannot follow, or one it cannot resolve."""


@dataclass(frozen=True)
class Root:
    """Where the closure starts: a module of the function, or the entrypoint's script."""

    name: str
    path: Path
    is_package: bool = False


@dataclass(frozen=True)
class DroppedImport:
    """A kept module imports an installed package that the layout leaves out."""

    importer: str
    line: int
    target: str
    why: str


@dataclass
class Closure:
    modules: dict[str, Module] = field(default_factory=dict)  # what the layout keeps
    need: dict[str, Need] = field(default_factory=dict)
    imported_by: dict[str, str] = field(default_factory=dict)  # module -> the module that first reached it
    whole_packages: dict[str, str] = field(default_factory=dict)  # package -> why it is kept whole
    skipped_branches: dict[str, list[SkippedBranch]] = field(default_factory=dict)
    observed: set[str] = field(default_factory=set)  # found only by importing binary modules
    dropped: list[DroppedImport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def chain(self, name: str) -> list[str]:
        """`name`, the module that imports it, the one that imports that, ... up to a root."""
        chain = [name]
        while chain[-1] in self.imported_by and self.imported_by[chain[-1]] != ROOT and len(chain) < 50:
            chain.append(self.imported_by[chain[-1]])
        return chain


class ClosureBuilder:
    def __init__(self, trees: list[InstallTree], observe: Observer | None = None) -> None:
        self.trees = trees
        self.observe = observe
        self.reached: dict[str, Module] = {}
        self.need: dict[str, Need] = {}
        self.imported_by: dict[str, str] = {}
        self.whole_packages: dict[str, str] = {}
        self.observed: set[str] = set()
        self.read: dict[str, ModuleImports] = {}
        self._queues: dict[Need, list[Module]] = {need: [] for need in Need}
        self._observed_already: set[str] = set()
        self._unreviewed: list[tuple[str, str]] = []  # (module, problem): reported if the module is kept
        self._function_text = ""

    def build(self, roots: list[Root]) -> Closure:
        self._function_text = "\n".join(root.path.read_text(encoding="utf-8") for root in roots)
        for root in roots:
            module = Module(root.name, root.path, root.is_package, is_binary=False)
            self.reached[root.name] = module
            self.need[root.name] = Need.REQUIRED
            self.imported_by[root.name] = ROOT
            self._queues[Need.REQUIRED].append(module)
        while self._drain() or self._observe_binaries():
            pass
        return self._result()

    def find(self, name: str) -> Module | None:
        for tree in self.trees:
            module = tree.find(name)
            if module is not None:
                return module
        return None

    # The walk: strongest need first, so a module's need is settled before its imports spread it -------
    def _drain(self) -> bool:
        worked = False
        while True:
            need = next((need for need in Need if self._queues[need]), None)
            if need is None:
                return worked
            module = self._queues[need].pop()
            worked = True
            if self.need[module.name] < need:
                continue  # reached more strongly since it was queued; that visit spreads it
            if module.is_binary:
                # Compiled code imports by name, unseen, at any time: keep its whole package.
                top = self.find(module.top_level)
                if top is not None and top.is_package:
                    self._keep_whole(top.name, f"holds the binary module {module.name}", need)
                continue
            self._read_module(module, need)

    def _reach(self, name: str, importer: str, need: Need) -> bool:
        """Reach `name` and its parent packages if a tree has them; True if `name` itself is there."""
        parts = name.split(".")
        for index in range(len(parts)):
            prefix = ".".join(parts[: index + 1])
            module = self.find(prefix)
            if module is None:
                if index == 0 and any(prefix in tree.namespace_packages for tree in self.trees):
                    # None is installed today; following one needs its portions on every path entry.
                    self._unreviewed.append(
                        (
                            importer,
                            f"{importer} imports the namespace package {prefix}, "
                            "which local_runtime/layout does not follow",
                        )
                    )
                return False
            if prefix not in self.need or need < self.need[prefix]:
                self.reached[prefix] = module
                self.need[prefix] = need
                self.imported_by[prefix] = importer  # the path that reached it most strongly
                self._queues[need].append(module)
        return True

    def _read_module(self, module: Module, need: Need) -> None:
        imports = self.read.get(module.name)
        if imports is None:
            source = module.path.read_text(encoding="utf-8")
            imports = self.read[module.name] = read_imports(source, module.name, module.is_package, str(module.path))
        for candidate, candidate_need in imports.candidates.items():
            if candidate_need == Need.OPTIONAL and self._kept_by_review(candidate):
                candidate_need = Need.REQUIRED
            self._reach(candidate, module.name, max(need, candidate_need))
        for package, star_need in imports.star_from.items():
            self._reach_star(package, module.name, max(need, star_need))
        for computed in imports.computed:
            if not computed.submodule_by_attribute:  # that idiom is read as attribute access
                self._follow_computed(module.name, computed.line, computed.prefix, need)
        for line, target in imports.computed_getattr:
            self._check_computed_getattr(module.name, line, target)

    def _reach_star(self, package: str, importer: str, need: Need) -> None:
        module = self.find(package)
        if module is None or not module.is_package:
            return
        imports = self.read.get(package) or read_imports(module.path.read_text(encoding="utf-8"), package, True)
        for exported in imports.dunder_all:
            self._reach(f"{package}.{exported}", importer, need)

    def _follow_computed(self, name: str, line: int, prefix: str, need: Need) -> None:
        bound = self._longest_package(prefix)
        if bound is not None:
            self._keep_whole(bound, f"{name}:{line} imports a name computed from {prefix!r}", need)
            return
        review = self._review(REVIEWED_COMPUTED_IMPORTS, name)
        if review is None:
            self._unreviewed.append(
                (
                    name,
                    f"{name}:{line} imports a module whose name is computed at run time (its literal part: "
                    f"{prefix!r}). Read it, then record what it can import in local_runtime/layout/reviewed.py",
                )
            )
            return
        for package in review.keep_whole:
            self._keep_whole(package, f"{name}: {review.why}", need)

    def _longest_package(self, prefix: str) -> str | None:
        """The deepest package that every name starting with `prefix` lies inside."""
        # The last part is unfinished (`pydantic.v` may go on as `pydantic.v1`) or empty (`oci._vendor.`).
        parts = prefix.split(".")[:-1]
        while parts:
            candidate = ".".join(parts)
            module = self.find(candidate)
            if module is not None and module.is_package:
                return candidate
            parts.pop()
        return None

    def _keep_whole(self, package: str, why: str, need: Need) -> None:
        self.whole_packages.setdefault(package, why)
        self._reach(package, why, need)
        for tree in self.trees:
            if tree.find(package) is not None:
                for module in tree.submodules(package):
                    self._reach(module.name, package, need)
                return

    def _check_computed_getattr(self, name: str, line: int, target: str) -> None:
        """`getattr(oci, name)` can load any service through the SDK's PEP 562 __getattr__."""
        module = self.find(target)
        if module is None or not module.is_package or self._review(REVIEWED_COMPUTED_IMPORTS, name) is not None:
            return
        source = module.path.read_text(encoding="utf-8")
        imports = self.read.get(target) or read_imports(source, target, True)
        if any(computed.submodule_by_attribute for computed in imports.computed):
            self._unreviewed.append(
                (
                    name,
                    f"{name}:{line} calls getattr({target}, <computed>), which can import any submodule of "
                    f"{target}. Read it, then record what it can import in local_runtime/layout/reviewed.py",
                )
            )

    def _kept_by_review(self, candidate: str) -> bool:
        review = self._review(REVIEWED_OPTIONAL_IMPORTS, candidate.partition(".")[0])
        return review is not None and review.keep

    def _review(self, reviews: dict[str, Review], key: str) -> Review | None:
        """The review of `key`, unless the function's code mentions what would make it wrong."""
        review = reviews.get(key)
        if review is None or any(word in self._function_text for word in review.unless_function_mentions):
            return None
        return review

    def _observe_binaries(self) -> bool:
        """Import the kept binary modules in the full install and reach what they loaded."""
        if self.observe is None:
            return False
        added = False
        kept_tops = self._kept_tops()
        for need in Need:
            binaries = sorted(
                name
                for name, module in self.reached.items()
                if module.is_binary and self.need[name] == need and module.top_level in kept_tops
            )
            fresh = [name for name in binaries if name not in self._observed_already]
            if not fresh:
                continue
            self._observed_already.update(fresh)
            for loaded in sorted(self.observe(binaries)):
                if loaded not in self.need or need < self.need[loaded]:
                    self.observed.add(loaded)
                    added = self._reach(loaded, "<loaded while a binary module was imported>", need) or added
        return added

    # What is kept ----------------------------------------------------------------------------------
    def _kept_tops(self) -> set[str]:
        return {module.top_level for name, module in self.reached.items() if self.need[name] == Need.REQUIRED}

    def _result(self) -> Closure:
        kept_tops = self._kept_tops()
        kept = {name: module for name, module in self.reached.items() if module.top_level in kept_tops}
        closure = Closure(
            modules=kept,
            need={name: self.need[name] for name in kept},
            imported_by=self.imported_by,
            whole_packages={name: why for name, why in self.whole_packages.items() if name in kept},
            observed=self.observed & set(kept),
            problems=[problem for name, problem in self._unreviewed if name in kept],
        )
        for name in kept:
            imports = self.read.get(name)
            if imports is None:
                continue
            if imports.skipped_branches:
                closure.skipped_branches[name] = imports.skipped_branches
            for candidate, candidate_need in imports.candidates.items():
                target = self.find(candidate)
                if target is None or target.top_level in kept_tops:
                    continue
                if max(candidate_need, self.need[name]) == Need.TYPE_CHECKING:
                    continue  # never imported when the program runs
                line = imports.lines[candidate]
                review = self._review(REVIEWED_OPTIONAL_IMPORTS, target.top_level)
                if review is None:
                    closure.problems.append(
                        f"{name}:{line} imports {candidate} if it is installed; the layout would leave out "
                        f"{target.top_level}, which nothing requires. Read the code, then record in "
                        "local_runtime/layout/reviewed.py whether leaving it out changes what the function does"
                    )
                else:
                    closure.dropped.append(DroppedImport(name, line, candidate, review.why))
        return closure
