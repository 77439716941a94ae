"""What lives as long as the container: settings, the signer and the clients.

Built on the first invocation, reused by every later one. A configuration error is not
cached: `fn config` changes restart the container anyway, and re-reading costs microseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .clients import (
    BlockStorageClients,
    ComputeClients,
    FunctionsClients,
    IdentityClients,
    MonitoringClients,
    resource_principal_signer,
)
from .settings import Settings, load_settings
from .workers import Workers


@dataclass(frozen=True)
class Container:
    settings: Settings
    clients: BlockStorageClients
    # Built empty: a Monitoring client is made only when an operator action posts metrics.
    metrics: MonitoringClients
    # Built empty too: only an action over a subtree lists compartments.
    identity: IdentityClients
    # No thread is started until an action reads compartments.
    workers: Workers
    # Built empty too: a Functions client is made only when a coordinator fans out, or the check runs.
    functions: FunctionsClients
    # Built empty too: only a restore drill reads Compute's attachment listings.
    compute: ComputeClients


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        settings = load_settings(os.environ)
        signer = resource_principal_signer()
        _container = Container(
            settings,
            BlockStorageClients(settings, signer),
            MonitoringClients(settings, signer),
            IdentityClients(settings, signer),
            Workers(settings.max_concurrency),
            FunctionsClients(settings, signer),
            ComputeClients(settings, signer),
        )
    return _container
