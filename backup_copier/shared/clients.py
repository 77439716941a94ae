"""The resource-principal signer and one Block Storage (Monitoring, Identity, Compute) client per region and thread.

Built on first use and kept for the container's life: a signer or client per call costs
tens of milliseconds and a fresh TLS session each time.

Each thread has clients of its own. Oracle does not document the Python SDK's clients as
thread-safe (oracle/oci-python-sdk issue 751: "not entirely thread-safe", per the SDK team),
each holds one requests.Session, and retries.py cuts a client's read timeout to the
invocation's time left before every call. The worker threads that read a tenancy
(workers.py) live as long as the container, so their clients are reused by warm invocations.
"""

from __future__ import annotations

import threading
from typing import Any

from oci import circuit_breaker, retry
from oci import regions as sdk_regions
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


class _PerRegion:
    """One client per region and thread, built on first use and kept for the container's invocations."""

    def __init__(self, settings: Settings, signer: Any) -> None:
        self._settings = settings
        self.signer = signer
        self._local = threading.local()

    def for_region(self, region: str) -> Any:
        clients: dict[str, Any] = self._local.__dict__.setdefault("clients", {})
        client = clients.get(region)
        if client is None:
            client = clients[region] = self._build(region)
        return client

    def _build(self, region: str) -> Any:
        raise NotImplementedError

    def _options(self, endpoint: str | None) -> dict[str, Any]:
        """The client's keyword arguments: the signer, no retries of its own, and a test's endpoint if set."""
        options: dict[str, Any] = {
            "signer": self.signer,
            # Retries are owned by the per-invocation, deadline-aware strategy passed on
            # every call; a client-level strategy or circuit breaker would outlive it.
            "retry_strategy": retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": circuit_breaker.NoCircuitBreakerStrategy(),
        }
        if endpoint:
            options["service_endpoint"] = endpoint
        return options


class BlockStorageClients(_PerRegion):
    @property
    def home_region(self) -> str | None:
        """The region the function runs in, as the signer reports it."""
        region = getattr(self.signer, "region", None)
        return str(region) if region else None

    def _build(self, region: str) -> Any:
        # Deferred for cold start: oci.core is the SDK's largest service package, and an
        # invocation that is rejected or filtered out never needs a client.
        from oci.core import BlockstorageClient

        return BlockstorageClient({"region": region}, **self._options(self._settings.endpoint_for(region)))


def telemetry_ingestion_endpoint(region: str) -> str:
    """Where PostMetricData goes: Monitoring's telemetry-ingestion host, not the SDK's default telemetry host.

    Read from the SDK's tables, never its helper functions, which may ask the instance
    metadata service about a name they do not know.
    """
    realm = sdk_regions.REGION_REALMS.get(region, "oc1")
    return f"https://telemetry-ingestion.{region}.{sdk_regions.REALMS.get(realm, 'oraclecloud.com')}"


class MonitoringClients(_PerRegion):
    """One Monitoring client per region, for the operator actions that post metrics."""

    def _build(self, region: str) -> Any:
        # Deferred for cold start: the event path never posts a metric, so it must never pay
        # for loading oci.monitoring; only the report, the sweep and the check do.
        from oci.monitoring import MonitoringClient

        return MonitoringClient(
            {"region": region},
            signer=self.signer,
            # As for Block Storage: the per-invocation, deadline-aware strategy owns retries.
            retry_strategy=retry.NoneRetryStrategy(),
            circuit_breaker_strategy=circuit_breaker.NoCircuitBreakerStrategy(),
            service_endpoint=self._settings.metrics_endpoint_for(region) or telemetry_ingestion_endpoint(region),
        )


class IdentityClients(_PerRegion):
    """Identity clients, for the compartments of a tenancy-wide scope (backups/compartments.py)."""

    def _build(self, region: str) -> Any:
        # Deferred for cold start: only an operator action over a subtree lists compartments.
        from oci.identity import IdentityClient

        return IdentityClient({"region": region}, **self._options(self._settings.identity_endpoint_for(region)))


class ComputeClients(_PerRegion):
    """Compute clients, for the attachments a restore drill reads before it deletes (drill/teardown.py)."""

    def _build(self, region: str) -> Any:
        # Deferred for cold start, as Block Storage's: only a drill lists attachments.
        from oci.core import ComputeClient

        return ComputeClient({"region": region}, **self._options(self._settings.compute_endpoint_for(region)))


class _FunctionsManagementClients(_PerRegion):
    def _build(self, region: str) -> Any:
        # Deferred for cold start: only a fan-out's coordinator and the check ever read the
        # function itself; the event path never loads oci.functions.
        from oci.functions import FunctionsManagementClient

        return FunctionsManagementClient(
            {"region": region}, **self._options(self._settings.functions_endpoint_for(region))
        )


class _FunctionsInvokeClients(_PerRegion):
    """Keyed by invoke endpoint, not region: each function has its own, which GetFunction names."""

    def _build(self, invoke_endpoint: str) -> Any:
        # Deferred for cold start, as above.
        from oci.functions import FunctionsInvokeClient

        return FunctionsInvokeClient(
            {},
            signer=self.signer,
            service_endpoint=invoke_endpoint,
            retry_strategy=retry.NoneRetryStrategy(),
            circuit_breaker_strategy=circuit_breaker.NoCircuitBreakerStrategy(),
        )


class FunctionsClients:
    """OCI Functions for the fan-out: management (GetFunction) per region, invoke per endpoint."""

    def __init__(self, settings: Settings, signer: Any) -> None:
        self._management = _FunctionsManagementClients(settings, signer)
        self._invoke = _FunctionsInvokeClients(settings, signer)

    def management(self, region: str) -> Any:
        return self._management.for_region(region)

    def invoker(self, invoke_endpoint: str) -> Any:
        return self._invoke.for_region(invoke_endpoint)
