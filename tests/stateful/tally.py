"""What `make soak` (and any pytest run of tests/stateful) counts: steps run (by kind), and each promise's checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    examples: int = 0
    steps: int = 0
    # Steps run, by kind (the machine's rule, without its arguments): which of them the examples reached.
    kinds: Counter[str] = field(default_factory=Counter)
    # Times each promise was checked (after every step of the machine, once per fdk test).
    checks: Counter[str] = field(default_factory=Counter)
    # What those checks looked at: deletions, updates, copies, limited runs, sweeps with budget, newest backups.
    items: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        checks = ", ".join(f"{name}={count}" for name, count in self.checks.items())
        kinds = ", ".join(f"{name}={count}" for name, count in sorted(self.kinds.items()))
        items = ", ".join(f"{name}={count}" for name, count in sorted(self.items.items()))
        return f"stateful: examples={self.examples}, steps={self.steps} ({kinds}); checks: {checks}; looked at: {items}"


TALLY = Tally()
