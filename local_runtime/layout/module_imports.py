"""What one module can import, read from its source without running it.

Every import statement counts, wherever it stands, inside functions included. Beyond
statements, three ways a module reaches another are read too: `importlib.import_module`
and `__import__` with a literal name; attribute access on an imported package
(`oci.monitoring.X` after `import oci` is an import, through the SDK's PEP 562
`__getattr__`); and `importlib.resources`-style calls naming a package. An import whose
name is computed is recorded with its literal beginning, for the closure to judge.

Each name is marked with how much the module needs it: an import inside a `try` that
catches ImportError is optional (the module runs without it), and one under `if
TYPE_CHECKING` never runs at all. The closure treats those two differently.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass, field

from .conditions import decide

_IMPORT_CALLS = frozenset({"import_module", "__import__"})
# importlib.resources and pkgutil take a package by name and import it.
_RESOURCE_CALLS = frozenset(
    {"files", "get_data", "open_text", "read_text", "open_binary", "read_binary", "contents", "is_resource", "path"}
)
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


class Need(enum.IntEnum):
    """How much a module needs what it imports; lower is stronger."""

    REQUIRED = 0
    OPTIONAL = 1  # inside a `try` whose handler catches ImportError
    TYPE_CHECKING = 2  # under `if TYPE_CHECKING`: never imported when the program runs


@dataclass(frozen=True)
class NamedImport:
    """An import statement: `from module import names` (names empty for `import module`)."""

    line: int
    module: str
    names: tuple[str, ...]
    need: Need


@dataclass(frozen=True)
class ComputedImport:
    """`import_module(<expression>)`: only the literal beginning of the name is known."""

    line: int
    prefix: str
    # A module-level __getattr__(name) importing `<this package>.<name>`: the PEP 562 idiom,
    # equivalent to the attribute access that triggers it, which is read as an import.
    submodule_by_attribute: bool


@dataclass(frozen=True)
class SkippedBranch:
    """An `if` branch holding imports that the image never takes while `variables` stay unset."""

    line: int
    variables: tuple[str, ...]


@dataclass
class ModuleImports:
    candidates: dict[str, Need] = field(default_factory=dict)  # dotted names that may be modules
    statements: list[NamedImport] = field(default_factory=list)
    star_from: dict[str, Need] = field(default_factory=dict)  # `from X import *`: X's __all__ may name submodules
    computed: list[ComputedImport] = field(default_factory=list)
    computed_getattr: list[tuple[int, str]] = field(default_factory=list)  # getattr(<module>, <expression>)
    dunder_all: tuple[str, ...] = ()
    skipped_branches: list[SkippedBranch] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # candidate -> the first line naming it

    def add(self, name: str, need: Need, line: int) -> None:
        for prefix in prefixes(name):
            if prefix not in self.candidates or need < self.candidates[prefix]:
                self.candidates[prefix] = need
            self.lines.setdefault(prefix, line)


def prefixes(dotted: str) -> list[str]:
    """`a.b.c` -> [`a`, `a.b`, `a.b.c`]: importing a module runs every parent package first."""
    parts = dotted.split(".")
    return [".".join(parts[: index + 1]) for index in range(len(parts))]


def resolve_relative(name: str, level: int, module: str, is_package: bool) -> str:
    """The absolute name of `from {'.' * level}{name} import ...` written in `module`."""
    if not level:
        return name
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{name}" if name else package


def read_imports(source: str, module: str, is_package: bool, filename: str = "<source>") -> ModuleImports:
    tree = ast.parse(source, filename=filename)
    reader = _Reader(module, is_package)
    reader.visit(tree)
    reader.resolve_attribute_chains()
    return reader.found


class _Reader(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.package = module if is_package else module.rpartition(".")[0]
        self.found = ModuleImports()
        # local name -> the dotted module name it may stand for, and how much the import binding it is needed
        self.bindings: dict[str, tuple[str, Need]] = {}
        self.chains: list[tuple[list[str], Need, int]] = []
        self.need = Need.REQUIRED
        self._computed_getattr: list[tuple[int, str]] = []
        self._function_stack: list[ast.FunctionDef | ast.AsyncFunctionDef] = []

    # Leaves: nothing to read below them. (NodeVisitor's own visit_Constant is slow: the SDK's
    # model modules are mostly docstrings.)
    def visit_Constant(self, node: ast.Constant) -> None:
        pass

    def visit_Name(self, node: ast.Name) -> None:
        pass

    # Import statements ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.add(alias.name, self.need, node.lineno)
            self.found.statements.append(NamedImport(node.lineno, alias.name, (), self.need))
            if alias.asname:
                self._bind(alias.asname, alias.name)
            else:
                root = alias.name.partition(".")[0]
                self._bind(root, root)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = resolve_relative(node.module or "", node.level, self.module, self.is_package)
        self.found.add(base, self.need, node.lineno)
        names = tuple(alias.name for alias in node.names)
        self.found.statements.append(NamedImport(node.lineno, base, names, self.need))
        for alias in node.names:
            if alias.name == "*":
                self.found.star_from[base] = min(self.need, self.found.star_from.get(base, Need.TYPE_CHECKING))
                continue
            self.found.add(f"{base}.{alias.name}", self.need, node.lineno)
            self._bind(alias.asname or alias.name, f"{base}.{alias.name}")

    def _bind(self, name: str, module: str) -> None:
        bound = self.bindings.get(name)
        if bound is None or self.need < bound[1]:
            self.bindings[name] = (module, self.need)

    # How much each import is needed: try/except ImportError, if TYPE_CHECKING ------------------
    def visit_Try(self, node: ast.Try) -> None:
        self._visit_try(node)

    def visit_TryStar(self, node: ast.TryStar) -> None:
        self._visit_try(node)

    def _visit_try(self, node: ast.Try | ast.TryStar) -> None:
        optional = any(_catches_import_error(handler) for handler in node.handlers)
        # The `else` runs only when the body's imports succeeded: it is as optional as they are.
        with self._needing(Need.OPTIONAL if optional else self.need):
            for statement in [*node.body, *node.orelse]:
                self.visit(statement)
        for handler in node.handlers:
            self.visit(handler)
        for statement in node.finalbody:
            self.visit(statement)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            with self._needing(Need.TYPE_CHECKING):
                for statement in node.body:
                    self.visit(statement)
            for statement in node.orelse:
                self.visit(statement)
            return
        decision = decide(node.test)  # see conditions.py
        if decision is None:
            self.generic_visit(node)
            return
        taken, skipped = (node.body, node.orelse) if decision.taken else (node.orelse, node.body)
        for statement in taken:
            self.visit(statement)
        if decision.variables and any(_imports_anything(statement) for statement in skipped):
            self.found.skipped_branches.append(SkippedBranch(node.lineno, tuple(sorted(decision.variables))))

    def _needing(self, need: Need) -> _NeedScope:
        return _NeedScope(self, max(need, self.need))

    # Functions: track the module-level __getattr__ ----------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function_stack.append(node)
        self.generic_visit(node)
        self._function_stack.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function_stack.append(node)
        self.generic_visit(node)
        self._function_stack.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self._function_stack:
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    self.found.dunder_all = _literal_strings(node.value)
        self.generic_visit(node)

    # Calls: import_module, __import__, resources, getattr ---------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        called = _called_name(node.func)
        if called in _IMPORT_CALLS and node.args:
            self._import_call(node, called)
        elif called in _RESOURCE_CALLS and node.args:
            package = node.args[0]
            if isinstance(package, ast.Constant) and isinstance(package.value, str) and _dotted(package.value):
                self.found.add(package.value, self.need, node.lineno)
        elif called == "getattr" and len(node.args) >= 2 and isinstance(node.args[0], ast.Name):
            attribute = node.args[1]
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                self.chains.append(([node.args[0].id, attribute.value], self.need, node.lineno))
            else:
                self._computed_getattr.append((node.lineno, node.args[0].id))
        self.generic_visit(node)

    def _import_call(self, node: ast.Call, called: str) -> None:
        package_node = node.args[1] if called == "import_module" and len(node.args) > 1 else None
        for keyword in node.keywords:
            if keyword.arg == "package":
                package_node = keyword.value
        anchor = self._literal_or_own(package_node) if package_node is not None else None
        text = ""
        opaque: list[ast.expr] = []
        for leaf in _leaves(node.args[0]):
            value = self._literal_or_own(leaf)
            if value is None or opaque:
                opaque.append(leaf)
            else:
                text += value
        text = _absolute(text, anchor, open_ended=bool(opaque))
        if not opaque:
            if _dotted(text):
                self.found.add(text, self.need, node.lineno)
            return
        self.found.computed.append(ComputedImport(node.lineno, text, self._is_submodule_by_attribute(opaque, text)))

    def _is_submodule_by_attribute(self, opaque: list[ast.expr], prefix: str) -> bool:
        if not self.is_package or len(self._function_stack) != 1:
            return False
        function = self._function_stack[0]
        if function.name != "__getattr__" or len(function.args.args) != 1:
            return False
        parameter = function.args.args[0].arg
        only_the_attribute = len(opaque) == 1 and isinstance(opaque[0], ast.Name) and opaque[0].id == parameter
        return only_the_attribute and prefix == self.package + "."

    def _literal_or_own(self, node: ast.expr | None) -> str | None:
        """A string constant, or this module's own name or package, as literal text."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in {"__name__", "__package__"}:
            return self.module if node.id == "__name__" else self.package
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "__spec__"
            and node.attr in {"parent", "name"}
        ):
            return self.package if node.attr == "parent" else self.module
        return None

    # Attribute chains: `oci.core.X` after `import oci` -------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _chain(node)
        if chain:
            self.chains.append((chain, self.need, node.lineno))
            return  # the inner attributes are prefixes of this chain
        self.generic_visit(node)

    def resolve_attribute_chains(self) -> None:
        """Run once the whole module is read: a name may be bound below its first use."""
        for (root, *attributes), need, line in self.chains:
            if root in self.bindings and attributes:
                # Needed no more than the import that bound the name: without it there is nothing to access.
                module, bound_need = self.bindings[root]
                self.found.add(".".join([module, *attributes]), max(need, bound_need), line)
        self.found.computed_getattr = [
            (line, self.bindings[name][0]) for line, name in self._computed_getattr if name in self.bindings
        ]


class _NeedScope:
    def __init__(self, reader: _Reader, need: Need) -> None:
        self.reader = reader
        self.need = need
        self.outer = reader.need

    def __enter__(self) -> None:
        self.reader.need = self.need

    def __exit__(self, *exc_info: object) -> None:
        self.reader.need = self.outer


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_called_name(kind) in _IMPORT_ERRORS for kind in caught)


def _is_type_checking(test: ast.expr) -> bool:
    return _called_name(test) == "TYPE_CHECKING"


def _imports_anything(statement: ast.stmt) -> bool:
    return any(
        isinstance(node, ast.Import | ast.ImportFrom)
        or (isinstance(node, ast.Call) and _called_name(node.func) in _IMPORT_CALLS)
        for node in ast.walk(statement)
    )


def _absolute(text: str, anchor: str | None, open_ended: bool) -> str:
    """`.main` imported relative to `pydantic` -> `pydantic.main`; `.` + <expression> -> `pydantic.`."""
    if not text.startswith(".") or not anchor:
        return text
    level = len(text) - len(text.lstrip("."))
    rest = text[level:]
    package = resolve_relative("", level, anchor, is_package=True)
    return f"{package}.{rest}" if rest or open_ended else package


def _called_name(node: ast.expr) -> str | None:
    """`name` or `anything.name` -> "name"."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _leaves(node: ast.expr) -> list[ast.expr]:
    """The parts a name is built from: `a + "." + b` and f-strings, left to right."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _leaves(node.left) + _leaves(node.right)
    if isinstance(node, ast.JoinedStr):
        parts: list[ast.expr] = []
        for value in node.values:
            parts.extend([value.value] if isinstance(value, ast.FormattedValue) else [value])
        return parts
    return [node]


def _chain(node: ast.Attribute) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None when the chain does not start at a plain name."""
    names: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    names.append(current.id)
    return names[::-1]


def _dotted(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _literal_strings(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(item.value for item in node.elts if isinstance(item, ast.Constant) and isinstance(item.value, str))
    return ()
