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

ClientFactory = Callable[..., oci.core.BlockstorageClient]
IdentityFactory = Callable[..., oci.identity.IdentityClient]


def signed_request(
    emulator: Emulator, method: str, path: str, *, region: str = SOURCE_REGION, body: bytes | None = None
) -> requests.Response:
    """A request the SDK's own signer signs, for paths the SDK cannot produce."""
    signer = oci.auth.signers.get_resource_principals_signer()
    url = emulator.endpoint_template.format(region=region) + path
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
