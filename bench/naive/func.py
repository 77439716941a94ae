"""The baseline: a copy handler written the way public OCI Functions samples write one.

It imports the same libraries as the function (oci, pydantic) at module level and builds
the resource-principal signer and a Block Storage client inside every call. It has no
settings validation, no duplicate check and no deadline-aware retries: it stands for what
a sample costs, not for something to deploy. It copies volume backups only, which is all
the benchmark sends it.
"""

import io
import json
import os

import oci
from fdk import context, response
from pydantic import BaseModel, Field


class EventData(BaseModel):
    resource_id: str = Field(alias="resourceId")


class BackupEvent(BaseModel):
    event_type: str = Field(alias="eventType")
    data: EventData


def handler(ctx: context.InvokeContext, data: io.BytesIO | None = None) -> response.Response:
    event = BackupEvent.model_validate_json(data.getvalue() if data is not None else b"{}")
    signer = oci.auth.signers.get_resource_principals_signer()
    # Samples pass config={} and let the signer's region pick the endpoint; the emulator
    # stands in for that endpoint here.
    endpoint = os.environ["BLOCKSTORAGE_ENDPOINT"].replace("{region}", signer.region)
    client = oci.core.BlockstorageClient(config={}, signer=signer, service_endpoint=endpoint)
    backup = client.get_volume_backup(event.data.resource_id).data
    details = oci.core.models.CopyVolumeBackupDetails(
        destination_region=os.environ["DESTINATION_REGION"], display_name=backup.display_name
    )
    copy = client.copy_volume_backup(backup.id, details).data
    return response.Response(
        ctx,
        response_data=json.dumps({"copyId": copy.id, "state": copy.lifecycle_state}),
        headers={"Content-Type": "application/json"},
    )
