"""Fixtures: a started emulator and real SDK clients signed as a resource principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import oci
import pytest

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import SOURCE_REGION

from .support import ClientFactory, ComputeFactory, IdentityFactory


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


def _signed_client(client_class: type[Any], endpoint_template: str, region: str) -> Any:
    """A client built the way the function builds one: resource principal, endpoint from a template."""
    return client_class(
        config={"region": region},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=endpoint_template.format(region=region),
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


@pytest.fixture
def client(emulator: Emulator) -> ClientFactory:
    """A BlockstorageClient for any region, as the function builds one from BLOCKSTORAGE_ENDPOINT."""

    def build(region: str = SOURCE_REGION) -> oci.core.BlockstorageClient:
        return _signed_client(oci.core.BlockstorageClient, emulator.endpoint_template, region)

    return build


@pytest.fixture
def identity(emulator: Emulator) -> IdentityFactory:
    """An IdentityClient built the way the function builds one from IDENTITY_ENDPOINT."""

    def build(region: str = SOURCE_REGION) -> oci.identity.IdentityClient:
        return _signed_client(oci.identity.IdentityClient, emulator.identity_endpoint_template, region)

    return build


@pytest.fixture
def compute(emulator: Emulator) -> ComputeFactory:
    """A ComputeClient built the way the function will build one from COMPUTE_ENDPOINT."""

    def build(region: str = SOURCE_REGION) -> oci.core.ComputeClient:
        return _signed_client(oci.core.ComputeClient, emulator.compute_endpoint_template, region)

    return build
