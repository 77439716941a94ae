"""The policy engine: does any statement allow this principal this permission, here?

OCI's rules, as Oracle's "How Policies Work" and "Conditions" pages state them, and as the engine
applies them to each Check (access.py):
- Nothing is allowed unless a statement allows it; there are no deny statements here.
- A statement applies to a principal when one of its subjects matches: `any-user` always, a
  `dynamic-group` when the group's matching rule matches the resource principal's claims
  (resource.type, resource.id and resource.compartment.id are the RPST's res_type, res_id and
  res_compartment). `group` (users) and `service` subjects never match a resource principal; so the
  service side of a statement like `Allow service blockstorage to use keys` is not checked by the
  emulator, which cannot see Block Volume's own calls to Vault.
- `in compartment` covers that compartment and every compartment below it ("policy inheritance");
  `in tenancy` covers them all. A compartment Identity does not know (tests seed backups in
  compartments they never registered) is taken as a child of the tenancy.
- Conditions are matched case-insensitively. A variable that does not apply to the request makes
  its comparison false, = and != alike ("Variables that Aren't Applicable to a Request Result in a
  Declined Request"). request.region is Oracle's three-letter key ('phx'); the engine also accepts
  the region's name ('us-phoenix-1'), which Oracle documents only for quota policies
  (*unconfirmed* for IAM policies).

Policies are checked as OCI checks them when they are created: a dynamic group that does not
exist, a compartment name that does not resolve, `in tenancy` in a policy attached below the root
and a resource type or permission the table does not know raise PolicySyntaxError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..ocids import canonical_region
from . import permissions
from .access import Access, Check, World
from .grammar import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Location,
    PolicySyntaxError,
    Statement,
    parse_matching_rule,
    parse_statement,
)

# Guards the walk up the compartment tree against a cycle in seeded data.
MAX_COMPARTMENT_DEPTH = 10


@dataclass(frozen=True)
class Principal:
    """The caller, from its resource-principal session token's claims."""

    id: str | None
    type: str | None
    compartment_id: str | None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        def claim(name: str) -> str | None:
            value = claims.get(name)
            return value if isinstance(value, str) and value else None

        return cls(id=claim("res_id") or claim("sub"), type=claim("res_type"), compartment_id=claim("res_compartment"))

    def rule_variables(self) -> dict[str, str]:
        found = {"resource.type": self.type, "resource.id": self.id, "resource.compartment.id": self.compartment_id}
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class _Policy:
    compartment_id: str  # where the policy is attached
    statement: Statement


class PolicyEngine:
    def __init__(self, world: World, dynamic_groups: Mapping[str, str]) -> None:
        self._world = world
        self._rules = {name.lower(): parse_matching_rule(rule) for name, rule in dynamic_groups.items()}
        self._policies: list[_Policy] = []

    def add_policy(self, statements: Iterable[str], compartment_id: str | None = None) -> None:
        """A policy attached to `compartment_id` (the tenancy when None); every statement checked first."""
        attached = compartment_id or self._world.tenancy_id
        parsed = [parse_statement(text) for text in statements]
        for statement in parsed:
            self._validate(statement, attached)
        # A new list, swapped in whole: requests being evaluated on other threads keep the old one.
        self._policies = [*self._policies, *(_Policy(attached, statement) for statement in parsed)]

    @property
    def statements(self) -> list[str]:
        return [policy.statement.text for policy in self._policies]

    def missing(self, principal: Principal, access: Access) -> list[Check]:
        """The checks of `access` that no statement allows `principal`."""
        return [check for check in access.checks if not self.allows(principal, access.api_operation, check)]

    def allows(self, principal: Principal, operation: str, check: Check) -> bool:
        return any(self._grants(policy, principal, operation, check) for policy in self._policies)

    # Creation-time checks

    def _validate(self, statement: Statement, attached: str) -> None:
        for subject in statement.subjects:
            if subject.kind == "dynamic-group" and (subject.name or "").lower() not in self._rules:
                raise PolicySyntaxError(f"statement {statement.text!r}: no dynamic group named {subject.name!r}")
        if statement.resource_type is not None and statement.resource_type not in permissions.GRANTS:
            raise PolicySyntaxError(
                f"statement {statement.text!r}: the emulator knows no resource type {statement.resource_type!r}"
            )
        unknown = [name for name in statement.permissions if name not in permissions.KNOWN_PERMISSIONS]
        if unknown:
            raise PolicySyntaxError(f"statement {statement.text!r}: the emulator knows no permission {unknown[0]!r}")
        location = statement.location
        if location.kind == "tenancy" and attached != self._world.tenancy_id:
            raise PolicySyntaxError(
                f"statement {statement.text!r}: `in tenancy` needs a policy attached to the tenancy"
            )
        covered = self._location_compartment(location, attached)
        if location.kind == "compartment-path" and covered is None:
            raise PolicySyntaxError(f"statement {statement.text!r}: no compartment {location.value!r} below {attached}")
        if covered is not None and location.kind != "tenancy" and not self._within(covered, attached):
            raise PolicySyntaxError(f"statement {statement.text!r}: {covered} is not {attached} or below it")

    # Evaluation

    def _grants(self, policy: _Policy, principal: Principal, operation: str, check: Check) -> bool:
        statement = policy.statement
        if not any(self._matches(subject.kind, subject.name, principal) for subject in statement.subjects):
            return False
        if statement.verb is not None and statement.resource_type is not None:
            if check.permission not in permissions.granted(statement.verb, statement.resource_type):
                return False
        elif check.permission not in statement.permissions:
            return False
        if statement.location.kind != "tenancy":
            covered = self._location_compartment(statement.location, policy.compartment_id)
            if covered is None or not self._within(check.compartment_id, covered):
                return False
        if statement.condition is None:
            return True
        return _holds(statement.condition, self._variables(principal, operation, check))

    def _matches(self, kind: str, name: str | None, principal: Principal) -> bool:
        if kind == "any-user":
            return True
        if kind != "dynamic-group" or name is None:
            return False
        rule = self._rules.get(name.lower())
        return rule is not None and _holds(rule, principal.rule_variables())

    def _variables(self, principal: Principal, operation: str, check: Check) -> dict[str, str]:
        found = {
            "request.region": check.region,
            "request.permission": check.permission,
            "request.operation": operation,
            "request.principal.id": principal.id,
            "request.principal.type": principal.type,
            "request.principal.compartment.id": principal.compartment_id,
            "target.compartment.id": check.compartment_id,
            "target.compartment.name": self._world.compartment_name(check.compartment_id),
            **check.variables,
        }
        return {name: value for name, value in found.items() if value is not None}

    def _location_compartment(self, location: Location, attached: str) -> str | None:
        """The compartment a location names; None for the tenancy or a path that does not resolve."""
        if location.kind == "compartment-id":
            return location.value
        if location.kind == "compartment-path":
            # "the policy statement's compartment is assumed to be a direct child of the compartment
            # where you create the policy"; A:B is B inside A (Oracle, "Locations").
            current: str | None = attached
            for name in (location.value or "").split(":"):
                current = self._world.child_named(current, name) if current else None
            return current
        return None

    def _within(self, compartment_id: str, ancestor_id: str) -> bool:
        """Whether `compartment_id` is `ancestor_id` or below it."""
        current: str | None = compartment_id
        for _ in range(MAX_COMPARTMENT_DEPTH):
            if current is None:
                return False
            if current.lower() == ancestor_id.lower():
                return True
            parent = self._world.parent_of(current)
            # A compartment Identity does not know hangs off the tenancy.
            current = parent if parent is not None or current == self._world.tenancy_id else self._world.tenancy_id
        return False


def _holds(condition: Condition, variables: Mapping[str, str]) -> bool:
    if isinstance(condition, AllOf):
        return all(_holds(part, variables) for part in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(_holds(part, variables) for part in condition.conditions)
    return _compare(condition, variables)


def _compare(comparison: Comparison, variables: Mapping[str, str]) -> bool:
    actual = variables.get(comparison.variable)
    if actual is None:
        return False  # not applicable to this request: declined, whatever the operator
    if comparison.is_pattern:
        pattern = ".*".join(re.escape(part) for part in comparison.value.split("*"))
        equal = re.fullmatch(pattern, actual, re.IGNORECASE) is not None
    elif comparison.variable == "request.region":
        equal = (canonical_region(comparison.value) or comparison.value.lower()) == canonical_region(actual)
    else:
        equal = comparison.value.lower() == actual.lower()
    return equal != comparison.negated
