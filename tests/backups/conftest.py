"""The function's own clients (Block Storage and Identity), signed as a resource principal, against the session's emulator."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backup_copier.shared.clients import BlockStorageClients, IdentityClients, resource_principal_signer
from backup_copier.shared.settings import load_settings
from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION


@dataclass(frozen=True)
class Clients:
    blockstorage: BlockStorageClients
    identity: IdentityClients


@pytest.fixture
def clients(emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> Clients:
    for name, value in principal.environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        {
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
            "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
        }
    )
    signer = resource_principal_signer()
    return Clients(BlockStorageClients(settings, signer), IdentityClients(settings, signer))
