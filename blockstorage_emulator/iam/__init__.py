"""IAM policies, enforced: statements and matching rules parsed (grammar.py), Oracle's permission
tables (permissions.py, access.py), the decision (engine.py) and the gate before every service (gate.py)."""

from .access import Access, Check
from .engine import PolicyEngine, Principal
from .gate import PolicyGate
from .grammar import PolicySyntaxError, parse_matching_rule, parse_statement
from .world import EmulatorWorld

__all__ = [
    "Access",
    "Check",
    "EmulatorWorld",
    "PolicyEngine",
    "PolicyGate",
    "PolicySyntaxError",
    "Principal",
    "parse_matching_rule",
    "parse_statement",
]
