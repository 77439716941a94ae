"""Which compartments an operator action covers: one, a subtree, or an explicit list.

`reconcile`, `expire` and `report` share these body fields:
- `"compartmentId": "<OCID>"`: that compartment; with `"subtree": true`, it and every ACTIVE
  compartment below it (the tenancy's OCID covers the whole tenancy);
- `"compartmentIds": [...]`: exactly these compartments, at most MAX_COMPARTMENT_IDS (the
  batches a fanned-out run hands its children are such lists).

Every mistake is named by its field before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from .errors import InvalidRequest
from .ocids import parse_ocid

# One Resource Scheduler body, one fan-out batch: a list longer than this is a mistake, and
# a whole tenancy is better named by its OCID with "subtree": true.
MAX_COMPARTMENT_IDS = 1000


class ScopeFields(BaseModel):
    """The scope's fields, inherited by each action's body model (which sets extra="forbid")."""

    compartment_id: str | None = Field(default=None, alias="compartmentId")
    compartment_ids: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_COMPARTMENT_IDS, alias="compartmentIds"
    )
    subtree: bool = False


@dataclass(frozen=True)
class Scope:
    """The compartments a request names; backups/compartments.py expands a subtree."""

    compartment_ids: tuple[str, ...]
    subtree: bool = False

    @property
    def root(self) -> str | None:
        """The compartment a body named with compartmentId, or None for an explicit list."""
        return self.compartment_ids[0] if self.subtree or len(self.compartment_ids) == 1 else None

    @property
    def is_tenancy(self) -> bool:
        return self.subtree and self.compartment_ids[0].startswith("ocid1.tenancy.")

    @property
    def single(self) -> bool:
        """Today's one-compartment body: its answers and metrics keep their old shape."""
        return not self.subtree and len(self.compartment_ids) == 1

    def to_json(self) -> dict[str, Any]:
        """The scope as the answer echoes it; a long list is counted, not repeated."""
        return {
            "compartmentId": self.root,
            "subtree": self.subtree,
            "compartmentIdsGiven": None if self.root else len(self.compartment_ids),
        }


def scope_of(body: ScopeFields) -> Scope:
    """The body's scope, or an InvalidRequest naming the field that is wrong."""
    if body.compartment_id is not None and body.compartment_ids is not None:
        raise InvalidRequest(
            "compartmentIds", "give either compartmentId (optionally with subtree) or compartmentIds, not both"
        )
    if body.compartment_ids is not None:
        if body.subtree:
            raise InvalidRequest(
                "subtree", "applies to compartmentId only; compartmentIds is an exact list of compartments"
            )
        return Scope(_listed_compartments(body.compartment_ids))
    if body.compartment_id is None:
        raise InvalidRequest(
            "compartmentId",
            'is required: the compartment (or tenancy) OCID, with "subtree": true for everything below it; '
            "or compartmentIds, a list of compartment OCIDs",
        )
    return Scope((compartment_ocid(body.compartment_id),), subtree=body.subtree)


def compartment_ocid(value: str, field: str = "compartmentId") -> str:
    """A compartment's (or the tenancy's) OCID, checked before it goes into a URL."""
    return parse_ocid(value, field=field, types={"compartment", "tenancy"}, regional=False).value


def _listed_compartments(values: list[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    for position, value in enumerate(values):
        field = f"compartmentIds[{position}]"
        ocid = compartment_ocid(value, field)
        if ocid in seen:
            raise InvalidRequest(field, f"repeats compartmentIds[{seen[ocid]}]; name each compartment once")
        seen[ocid] = position
    return tuple(seen)
