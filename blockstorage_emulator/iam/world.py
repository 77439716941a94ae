"""What IAM decisions need from the rest of the emulator, read through each service's public methods."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..functions import FunctionsService
from ..identity import Directory
from ..models import Backend

# A lookup for resources other services hold (volumes, boot volumes, volume groups): their
# compartment, or None when the OCID is not theirs.
CompartmentLookup = Callable[[str], str | None]


class EmulatorWorld:
    """The tenancy's compartment tree (identity.py), its backups (models.py) and functions (functions.py)."""

    def __init__(self, backend: Backend, directory: Directory, functions: FunctionsService) -> None:
        self._backend = backend
        self._directory = directory
        self._functions = functions
        self.lookups: list[CompartmentLookup] = []

    @property
    def tenancy_id(self) -> str:
        return self._directory.tenancy_id

    def parent_of(self, compartment_id: str) -> str | None:
        if compartment_id == self.tenancy_id or not self._directory.knows(compartment_id):
            return None
        return str(self._directory.get(compartment_id)["compartmentId"])

    def child_named(self, parent_id: str, name: str) -> str | None:
        # Compartment names are unique among siblings, and matched as OCI matches names: ignoring case.
        return next((c.id for c in self._directory.below(parent_id, False) if c.name.lower() == name.lower()), None)

    def compartment_name(self, compartment_id: str) -> str | None:
        if compartment_id == self.tenancy_id or not self._directory.knows(compartment_id):
            return None
        return str(self._directory.get(compartment_id)["name"])

    def backup(self, backup_id: str) -> Mapping[str, Any] | None:
        try:
            return self._backend.backup(backup_id)
        except KeyError:
            return None

    def function_compartment(self, function_id: str) -> str | None:
        return self._functions.compartment_of(function_id)

    def resource_compartment(self, resource_id: str) -> str | None:
        return next((found for lookup in self.lookups if (found := lookup(resource_id)) is not None), None)
