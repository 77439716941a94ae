"""Raw-HTTP helpers shared by the emulator tests; the regions are the suite's (tests/helpers.py)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

import oci
import pytest
from oci._vendor import requests

from blockstorage_emulator import Emulator
from tests.helpers import SOURCE_REGION

COMPARTMENT_ID = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
# SOURCE_REGION's first availability domain, as the emulator names it by default.
SOURCE_AD = "NfHZ:PHX-AD-1"

ClientFactory = Callable[..., oci.core.BlockstorageClient]
IdentityFactory = Callable[..., oci.identity.IdentityClient]
ComputeFactory = Callable[..., oci.core.ComputeClient]


def signed_request(
    emulator: Emulator,
    method: str,
    path: str,
    *,
    region: str = SOURCE_REGION,
    body: bytes | None = None,
    endpoint_template: str | None = None,
) -> requests.Response:
    """A request the SDK's own signer signs, for paths the SDK cannot produce (to Block Storage
    unless another service's endpoint template is given)."""
    signer = oci.auth.signers.get_resource_principals_signer()
    url = (endpoint_template or emulator.endpoint_template).format(region=region) + path
    return requests.request(
        method, url, data=body, auth=signer, timeout=5, headers={"content-type": "application/json"}
    )


def signed_headers(
    emulator: Emulator, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Headers, Authorization included, that the SDK signer makes for a request."""
    signer = oci.auth.signers.get_resource_principals_signer()
    url = emulator.endpoint_template.format(region=SOURCE_REGION) + path
    prepared = requests.Request(
        method, url, data=body or None, headers={"content-type": "application/json", **(extra or {})}
    ).prepare()
    signer(prepared)
    return dict(prepared.headers)


def send_raw(
    emulator: Emulator, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], Any]:
    """One request over plain http.client, for what the SDK would never send."""
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(payload)
    finally:
        connection.close()


def service_error(call: object, *args: object, **kwargs: object) -> oci.exceptions.ServiceError:
    """The ServiceError the SDK raises for this call (the test fails if it raises none)."""
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call(*args, **kwargs)  # type: ignore[operator]
    return raised.value


# Per kind: the SDK's create method, its details model, the backup source model and the field
# that names the backup in it.
RESTORE = {
    "volume": ("create_volume", "CreateVolumeDetails", "VolumeSourceFromVolumeBackupDetails", "id"),
    "boot_volume": (
        "create_boot_volume",
        "CreateBootVolumeDetails",
        "BootVolumeSourceFromBootVolumeBackupDetails",
        "id",
    ),
    "volume_group": (
        "create_volume_group",
        "CreateVolumeGroupDetails",
        "VolumeGroupSourceFromVolumeGroupBackupDetails",
        "volume_group_backup_id",
    ),
}
# Per kind: get, update (and its details model), delete, list.
VOLUME_CALLS = {
    "volume": ("get_volume", "update_volume", "UpdateVolumeDetails", "delete_volume", "list_volumes"),
    "boot_volume": (
        "get_boot_volume",
        "update_boot_volume",
        "UpdateBootVolumeDetails",
        "delete_boot_volume",
        "list_boot_volumes",
    ),
    "volume_group": (
        "get_volume_group",
        "update_volume_group",
        "UpdateVolumeGroupDetails",
        "delete_volume_group",
        "list_volume_groups",
    ),
}


def restore(
    blockstorage: oci.core.BlockstorageClient,
    kind: str,
    backup_id: str,
    *,
    retry_token: str | None = None,
    source: Any = None,
    **fields: Any,
) -> oci.response.Response:
    """Restore a backup through the SDK, in COMPARTMENT_ID and SOURCE_REGION's first availability
    domain unless the fields say otherwise; `source` replaces the sourceDetails model."""
    method, details, source_model, id_field = RESTORE[kind]
    fields.setdefault("compartment_id", COMPARTMENT_ID)
    fields.setdefault("availability_domain", SOURCE_AD)
    body = getattr(oci.core.models, details)(
        source_details=source or getattr(oci.core.models, source_model)(**{id_field: backup_id}), **fields
    )
    return getattr(blockstorage, method)(body, **({"opc_retry_token": retry_token} if retry_token else {}))
