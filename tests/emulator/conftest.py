"""Fixtures: a started emulator and real SDK clients signed as a resource principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import oci
import pytest

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import SOURCE_REGION

from .support import ClientFactory, IdentityFactory


@pytest.fixture
def use_principal(monkeypatch: pytest.MonkeyPatch) -> Callable[[ResourcePrincipal], None]:
    """Point the SDK's resource-principal environment at a principal."""

    def apply(chosen: ResourcePrincipal) -> None:
        for name, value in chosen.environment().items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.fixture
def emulator(principal: ResourcePrincipal, use_principal: Callable[[ResourcePrincipal], None]) -> Iterator[Emulator]:
    use_principal(principal)
    with Emulator() as running:
        running.trust(principal.token, principal.public_key_pem)
        yield running


@pytest.fixture
def client(emulator: Emulator) -> ClientFactory:
    """Build a client the way the function does, for any region."""

    def build(region: str = SOURCE_REGION) -> oci.core.BlockstorageClient:
        return oci.core.BlockstorageClient(
            config={"region": region},
            signer=oci.auth.signers.get_resource_principals_signer(),
            service_endpoint=emulator.endpoint_template.format(region=region),
            retry_strategy=oci.retry.NoneRetryStrategy(),
        )

    return build


@pytest.fixture
def identity(emulator: Emulator) -> IdentityFactory:
    """An IdentityClient built the way the function builds one from IDENTITY_ENDPOINT."""

    def build(region: str = SOURCE_REGION) -> oci.identity.IdentityClient:
        return oci.identity.IdentityClient(
            config={"region": region},
            signer=oci.auth.signers.get_resource_principals_signer(),
            service_endpoint=emulator.identity_endpoint_template.format(region=region),
            retry_strategy=oci.retry.NoneRetryStrategy(),
        )

    return build
