"""The world every measured function calls into: one emulator, one resource principal, fresh backups.

Every call copies a backup it has never seen, so each one makes a real copy (no duplicate
short-cut). Copies are marked complete between rounds, outside the timings, so the
emulator's limit of 10 copies in flight never answers LimitExceeded.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.credentials import ResourcePrincipal, issue_resource_principal

SOURCE_REGION = "us-phoenix-1"
DESTINATION_REGION = "us-ashburn-1"
EVENT_SAMPLE = "volume-backup-completed.json"


class World:
    def __init__(self, emulator: Emulator, principal: ResourcePrincipal) -> None:
        self.emulator = emulator
        self.principal = principal
        self._event = samples.load(EVENT_SAMPLE)
        self.compartment_id: str = self._event["data"]["compartmentId"]
        self._seeded = 0

    @classmethod
    def start(cls, directory: Path) -> World:
        principal = issue_resource_principal(directory, SOURCE_REGION)
        emulator = Emulator().start()
        emulator.trust(principal.token, principal.public_key_pem)
        return cls(emulator, principal)

    def stop(self) -> None:
        self.emulator.stop()

    def function_environment(self) -> dict[str, str]:
        return {
            **self.principal.environment(),
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": self.emulator.endpoint_template,
        }

    def new_backup(self) -> str:
        self._seeded += 1
        backup = self.emulator.add_backup(
            "volume", SOURCE_REGION, self.compartment_id, display_name=f"bench-{self._seeded}"
        )
        backup_id: str = backup["id"]
        return backup_id

    def event_for(self, backup_id: str) -> bytes:
        event = copy.deepcopy(self._event)
        event["data"]["resourceId"] = backup_id
        return json.dumps(event).encode()

    def settle(self) -> None:
        """Finish every copy in flight, as hours of wall-clock time would."""
        self.emulator.complete_copies()

    def request_count(self) -> int:
        return len(self.emulator.requests)


class LongLivedClients:
    """The request floor: the function's Block Storage requests, from SDK clients built once.

    Same signer kind, same client settings (no client-level retries or circuit breaker) and
    the same five requests as the function: get the backup in the source region, list its
    copies in the destination region, copy it, record the copy on the source and mark the
    copy (two tag updates, as backups/marker.py sends them, with If-Match).
    """

    def __init__(self, world: World) -> None:
        import oci

        # The signer reads these variables, as it does inside OCI Functions.
        os.environ.update(world.principal.environment())
        signer = oci.auth.signers.get_resource_principals_signer()
        self._world = world
        self._models = oci.core.models
        self._clients = {
            region: oci.core.BlockstorageClient(
                {"region": region},
                signer=signer,
                service_endpoint=world.emulator.endpoint_template.replace("{region}", region),
                retry_strategy=oci.retry.NoneRetryStrategy(),
                circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
            )
            for region in (SOURCE_REGION, DESTINATION_REGION)
        }

    def copy(self, backup_id: str, call_number: int) -> Any:
        source = self._clients[SOURCE_REGION]
        backup = source.get_volume_backup(backup_id).data
        self._clients[DESTINATION_REGION].list_volume_backups(
            backup.compartment_id, source_volume_backup_id=backup.id, limit=100
        )
        details = self._models.CopyVolumeBackupDetails(
            destination_region=DESTINATION_REGION, display_name=backup.display_name
        )
        copied = source.copy_volume_backup(
            backup.id, details, opc_retry_token=f"bench-floor-{call_number}", opc_request_id=f"BENCH{call_number}"
        )
        source.update_volume_backup(
            backup.id,
            self._models.UpdateVolumeBackupDetails(freeform_tags={"backup-copier-copy-in-x": copied.data.id}),
        )
        self._clients[DESTINATION_REGION].update_volume_backup(
            copied.data.id,
            self._models.UpdateVolumeBackupDetails(freeform_tags={"backup-copier-copy": copied.data.id}),
            if_match=copied.headers.get("etag"),
        )
        return copied.data
