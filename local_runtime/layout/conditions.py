"""An `if` test decided as it will be decided in the image, when that can be known at build time.

The OCI SDK's own __init__ imports all 200 service packages in a branch taken only when
OCI_PYTHON_SDK_LAZY_IMPORTS_DISABLED=true: reading both branches would keep every service.
A test that depends only on the interpreter (`sys.version_info`, `sys.platform`, `os.name`;
the image runs the interpreter that built the layout) and on environment variables (which
the image does not set) is decided here; every variable read this way is reported, since
setting it with `fn config` would take the branch the layout left out. Anything else,
`TYPE_CHECKING` included, is undecided and both branches are read.
"""

from __future__ import annotations

import ast
import operator
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: left in right,
    ast.NotIn: lambda left, right: left not in right,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_STRING_METHODS = frozenset({"lower", "upper", "strip", "casefold"})
_INTERPRETER: dict[tuple[str, str], object] = {
    ("sys", "version_info"): sys.version_info,
    ("sys", "platform"): sys.platform,
    ("os", "name"): os.name,
}


class Undecided(Exception):
    """The test depends on something only the running program knows."""


@dataclass
class Decision:
    taken: bool
    variables: set[str] = field(default_factory=set)  # environment variables the test read, as unset


def decide(test: ast.expr) -> Decision | None:
    """The branch the image takes, or None when it cannot be known before run time."""
    evaluator = _Evaluator()
    try:
        return Decision(bool(evaluator.value(test)), evaluator.variables)
    except (Undecided, TypeError, ValueError, LookupError, AttributeError):
        # Anything the evaluation cannot finish leaves the test to run time.
        return None


class _Evaluator:
    def __init__(self) -> None:
        self.variables: set[str] = set()

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple):
            return tuple(self.value(item) for item in node.elts)
        if isinstance(node, ast.List | ast.Set):
            return [self.value(item) for item in node.elts]
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.value(node.operand)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise Undecided

    def _bool_op(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for operand in node.values:
            result = self.value(operand)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def _compare(self, node: ast.Compare) -> bool:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if _is_environ(right) and isinstance(op, ast.In | ast.NotIn):
                # `"X" in os.environ`: the variable is unset in the image.
                self.variables.add(str(self.value(left)))
                outcome = isinstance(op, ast.NotIn)
            else:
                compare = _COMPARISONS.get(type(op))
                if compare is None:
                    raise Undecided
                outcome = bool(compare(self.value(left), self.value(right)))
            if not outcome:
                return False
            left = right
        return True

    def _attribute(self, node: ast.Attribute) -> Any:
        if isinstance(node.value, ast.Name) and (node.value.id, node.attr) in _INTERPRETER:
            return _INTERPRETER[(node.value.id, node.attr)]
        if node.attr in {"major", "minor", "micro"}:
            return getattr(self.value(node.value), node.attr)
        raise Undecided

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.value(node.value)
        index = node.slice
        if isinstance(index, ast.Slice):
            lower = self.value(index.lower) if index.lower else None
            upper = self.value(index.upper) if index.upper else None
            return tuple(container)[lower:upper]
        return container[self.value(index)]

    def _call(self, node: ast.Call) -> Any:
        if _is_getenv(node.func) and node.args and not node.keywords:
            name = self.value(node.args[0])
            self.variables.add(str(name))
            return self.value(node.args[1]) if len(node.args) > 1 else None
        if isinstance(node.func, ast.Attribute) and node.func.attr in _STRING_METHODS and not node.args:
            text = self.value(node.func.value)
            if isinstance(text, str):
                return getattr(text, node.func.attr)()
        raise Undecided


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _is_name(node.value, "os")


def _is_getenv(func: ast.expr) -> bool:
    """`os.getenv`, `getenv` or `os.environ.get`."""
    if isinstance(func, ast.Name):
        return func.id == "getenv"
    if isinstance(func, ast.Attribute):
        if func.attr == "getenv":
            return _is_name(func.value, "os")
        if func.attr == "get":
            return _is_environ(func.value)
    return False


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name
