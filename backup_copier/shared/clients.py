"""The resource-principal signer and one Block Storage client per region, per container.

Built on first use and kept for the container's life: a signer or client per call costs
tens of milliseconds and a fresh TLS session each time.
"""

from __future__ import annotations

import threading
from typing import Any

from oci import circuit_breaker, retry
from oci.auth import signers

from .errors import CredentialsUnavailable
from .settings import Settings


def resource_principal_signer() -> Any:
    """The signer OCI Functions provides through OCI_RESOURCE_PRINCIPAL_* variables."""
    try:
        return signers.get_resource_principals_signer()
    except Exception as exc:
        # The exception text may quote the environment; name the cause, not the values.
        raise CredentialsUnavailable(
            f"resource principal unavailable ({type(exc).__name__}); the function must run in OCI "
            "Functions (or with OCI_RESOURCE_PRINCIPAL_VERSION, _RPST, _PRIVATE_PEM and _REGION set)"
        ) from None


class BlockStorageClients:
    def __init__(self, settings: Settings, signer: Any) -> None:
        self._settings = settings
        self.signer = signer
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def home_region(self) -> str | None:
        """The region the function runs in, as the signer reports it."""
        region = getattr(self.signer, "region", None)
        return str(region) if region else None

    def for_region(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._build(region)
            return client

    def _build(self, region: str) -> Any:
        # Deferred for cold start: oci.core is the SDK's largest service package, and an
        # invocation that is rejected or filtered out never needs a client.
        from oci.core import BlockstorageClient

        kwargs: dict[str, Any] = {
            "signer": self.signer,
            # Retries are owned by the per-invocation, deadline-aware strategy passed on
            # every call; a client-level strategy or circuit breaker would outlive it.
            "retry_strategy": retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": circuit_breaker.NoCircuitBreakerStrategy(),
        }
        endpoint = self._settings.endpoint_for(region)
        if endpoint:
            kwargs["service_endpoint"] = endpoint
        return BlockstorageClient({"region": region}, **kwargs)
