"""IAM policy statements and dynamic-group matching rules, parsed; anything else is refused.

The grammar is Oracle's ("Policy Syntax", "Conditions", "Writing Matching Rules to Define
Dynamic Groups", docs.oracle.com/en-us/iaas/Content/Identity/policysyntax/*.htm):

    Allow <subject>[, <subject>] to <verb> <resource-type> in <location> [where <condition>]
    Allow <subject>[, <subject>] to {<PERMISSION>, ...} in <location> [where <condition>]

    subject    dynamic-group <name> | any-user | group <name> | service <name>
    location   tenancy | compartment id <ocid> | compartment <name>[:<name>...]
    condition  <variable> = '<value>' | <variable> != '<value>' | <variable> = /<pattern>/
               | all {<condition>, ...} | any {<condition>, ...}

    matching rule   <condition> over resource.* and instance.* variables, `any`/`all` included

Keywords, verbs and resource types are case-insensitive, as Oracle's examples mix `Allow` and
`allow`, `ALL {` and `all {`. Values need single quotes ("single quotation marks are required
around the value", Conditions). Whatever the emulator could not evaluate faithfully raises
PolicySyntaxError naming the statement: an `Endorse`/`Admit`/`Define`, a subject by OCID, a
variable it does not know, time comparisons (`before`, `between`), `in` lists. A test then
fails loudly instead of passing on a statement the engine silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

VERBS = ("inspect", "read", "use", "manage")

# Variables the engine can evaluate; any other name is refused. Each is Oracle's: the general
# variables (policyreference_topic-General_Variables_for_All_Requests.htm), Monitoring's
# target.metrics.namespace, Vault's target.key.id, and target.resource.tag.<namespace>.<key>
# (policyadvancedfeatures.htm). request.user.* and request.groups.id never apply to a resource
# principal; they parse, and every comparison on them is false.
STATEMENT_VARIABLES = (
    "request.region",
    "request.permission",
    "request.operation",
    "request.principal.id",
    "request.principal.type",
    "request.principal.compartment.id",
    "request.user.id",
    "request.user.name",
    "request.groups.id",
    "target.compartment.id",
    "target.compartment.name",
    "target.metrics.namespace",
    "target.key.id",
)
TAG_VARIABLE_PREFIX = "target.resource.tag."
# "Writing Matching Rules to Define Dynamic Groups": resource.* for resource principals, instance.*
# for instances (which never match a function). tag.<namespace>.<key>.value is refused: the
# emulator knows no tags on the function.
RULE_VARIABLES = ("resource.type", "resource.id", "resource.compartment.id", "instance.id", "instance.compartment.id")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<quoted>'[^']*')
      | (?P<pattern>/[^/]*/)
      | (?P<symbol>!=|=|\{|\}|,)
      | (?P<word>[^\s{},=!'/]+)
    )""",
    re.VERBOSE,
)


class PolicySyntaxError(ValueError):
    """A statement or matching rule the emulator cannot parse or evaluate faithfully."""


@dataclass(frozen=True)
class Comparison:
    variable: str  # lower case
    negated: bool  # != rather than =
    value: str  # without its quotes or slashes
    is_pattern: bool  # /HR*/: * matches any run of characters


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


Condition = Comparison | AllOf | AnyOf


@dataclass(frozen=True)
class Subject:
    kind: str  # "dynamic-group", "any-user", "group" or "service"
    name: str | None


@dataclass(frozen=True)
class Location:
    kind: str  # "tenancy", "compartment-id" or "compartment-path"
    value: str | None  # the OCID, or the path's names joined by ":"


@dataclass(frozen=True)
class Statement:
    text: str
    subjects: tuple[Subject, ...]
    verb: str | None  # None with a permission list
    resource_type: str | None
    permissions: tuple[str, ...]  # the {...} list; empty with a verb
    location: Location
    condition: Condition | None


def _tokens(text: str) -> list[str]:
    tokens = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise PolicySyntaxError(f"cannot read {text[position:].strip()[:30]!r} in {text!r}")
        tokens.append(match.group(match.lastgroup or "word"))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind
        self.tokens = _tokens(text)
        self.position = 0

    def fail(self, why: str) -> PolicySyntaxError:
        return PolicySyntaxError(f"{self.kind} {self.text!r}: {why}")

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self, what: str) -> str:
        token = self.peek()
        if token is None:
            raise self.fail(f"ends where {what} was expected")
        self.position += 1
        return token

    def keyword(self, *expected: str) -> str:
        token = self.next(" or ".join(expected))
        if token.lower() not in expected:
            raise self.fail(f"expected {' or '.join(expected)}, found {token!r}")
        return token.lower()

    def at_keyword(self, *expected: str) -> bool:
        token = self.peek()
        return token is not None and token.lower() in expected

    def done(self) -> None:
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r} after the end")


def parse_statement(text: str) -> Statement:
    reader = _Reader(text.strip(), "statement")
    first = reader.next("Allow")
    if first.lower() != "allow":
        raise reader.fail(f"only Allow statements are emulated, not {first!r}")
    subjects = [_subject(reader)]
    while reader.peek() == ",":
        reader.next(",")
        subjects.append(_subject(reader))
    reader.keyword("to")
    verb: str | None = None
    resource_type: str | None = None
    permissions: list[str] = []
    if reader.peek() == "{":
        reader.next("{")
        while True:
            permission = reader.next("a permission")
            if not re.fullmatch(r"[A-Za-z_]+", permission):
                raise reader.fail(f"{permission!r} is not a permission name")
            permissions.append(permission.upper())
            separator = reader.next("',' or '}'")
            if separator == "}":
                break
            if separator != ",":
                raise reader.fail(f"expected ',' or '}}' in the permission list, found {separator!r}")
    else:
        verb = reader.keyword(*VERBS)
        resource_type = reader.next("a resource type").lower()
    reader.keyword("in")
    location = _location(reader)
    condition = None
    if reader.peek() is not None:
        reader.keyword("where")
        condition = _condition(reader, _statement_variable)
    reader.done()
    return Statement(
        text=text.strip(),
        subjects=tuple(subjects),
        verb=verb,
        resource_type=resource_type,
        permissions=tuple(permissions),
        location=location,
        condition=condition,
    )


def parse_matching_rule(text: str) -> Condition:
    reader = _Reader(text.strip(), "matching rule")
    condition = _condition(reader, _rule_variable)
    reader.done()
    return condition


def _subject(reader: _Reader) -> Subject:
    kind = reader.keyword("dynamic-group", "any-user", "any-group", "group", "service")
    if kind == "any-user":
        return Subject("any-user", None)
    if kind == "any-group":
        # Every group of users: never a resource principal.
        return Subject("group", None)
    name = reader.next(f"the {kind}'s name")
    if name.lower() == "id":
        raise reader.fail(f"a {kind} named by OCID is not emulated: name it")
    if name.startswith("'") or "/" in name:
        raise reader.fail(f"identity-domain names ({name!r}) are not emulated")
    return Subject(kind, name)


def _location(reader: _Reader) -> Location:
    kind = reader.keyword("tenancy", "compartment")
    if kind == "tenancy":
        return Location("tenancy", None)
    if reader.at_keyword("id"):
        reader.next("id")
        ocid = reader.next("a compartment OCID")
        if not re.fullmatch(r"ocid1\.(compartment|tenancy)\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9]+", ocid):
            raise reader.fail(f"{ocid!r} is not a compartment OCID")
        return Location("compartment-id", ocid)
    path = reader.next("a compartment name")
    if path.lower() in ("where",) or not all(path.split(":")):
        raise reader.fail(f"{path!r} is not a compartment name or path")
    return Location("compartment-path", path)


def _condition(reader: _Reader, variable_check: Callable[[_Reader, str], None]) -> Condition:
    if reader.at_keyword("all", "any") and reader.tokens[reader.position + 1 : reader.position + 2] == ["{"]:
        combinator = reader.keyword("all", "any")
        reader.next("{")
        parts = [_condition(reader, variable_check)]
        while (separator := reader.next("',' or '}'")) == ",":
            parts.append(_condition(reader, variable_check))
        if separator != "}":
            raise reader.fail(f"expected ',' or '}}', found {separator!r}")
        return AllOf(tuple(parts)) if combinator == "all" else AnyOf(tuple(parts))
    variable = reader.next("a variable").lower()
    variable_check(reader, variable)
    operator = reader.next("= or !=")
    if operator not in ("=", "!="):
        raise reader.fail(f"only = and != are emulated, not {operator!r} after {variable}")
    value = reader.next("a value")
    if value.startswith("'"):
        return Comparison(variable, operator == "!=", value[1:-1], is_pattern=False)
    if value.startswith("/"):
        return Comparison(variable, operator == "!=", value[1:-1], is_pattern=True)
    raise reader.fail(f"the value of {variable} needs single quotes: {value!r}")


def _statement_variable(reader: _Reader, variable: str) -> None:
    if variable in STATEMENT_VARIABLES:
        return
    if variable.startswith(TAG_VARIABLE_PREFIX) and len(variable.removeprefix(TAG_VARIABLE_PREFIX).split(".")) == 2:
        return
    raise reader.fail(f"the emulator does not evaluate the variable {variable!r}")


def _rule_variable(reader: _Reader, variable: str) -> None:
    if variable not in RULE_VARIABLES:
        raise reader.fail(f"the emulator does not evaluate the matching-rule variable {variable!r}")
