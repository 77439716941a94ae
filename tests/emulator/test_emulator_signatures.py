"""Request authentication: what the emulator accepts and what it answers 401."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path

import oci
import pytest

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal, issue_resource_principal
from tests.helpers import SOURCE_REGION

from .support import COMPARTMENT_ID, ClientFactory, send_raw, signed_headers

LIST_PATH = f"/20160918/volumeBackups?compartmentId={COMPARTMENT_ID}"
GENERIC_401 = {
    "code": "NotAuthenticated",
    "message": "The required information to complete authentication was not provided or was incorrect.",
}


def last_detail(emulator: Emulator) -> str | None:
    return emulator.requests[-1].detail


def test_sdk_requests_are_signed_over_the_documented_headers(emulator: Emulator, client: ClientFactory) -> None:
    read = signed_headers(emulator, "GET", LIST_PATH)["authorization"]
    write = signed_headers(emulator, "POST", "/20160918/volumeBackups/x/actions/copy", b"{}")["authorization"]
    source = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    client().copy_volume_backup(
        source["id"], oci.core.models.CopyVolumeBackupDetails(destination_region="us-ashburn-1")
    )

    assert read.startswith('Signature algorithm="rsa-sha256",headers="date (request-target) host",keyId="ST$')
    assert 'headers="date (request-target) host content-length content-type x-content-sha256"' in write
    assert read.endswith('",version="1"')
    assert [request.status for request in emulator.requests] == [200]
    assert emulator.requests[0].headers["authorization"] == "<redacted>"
    assert all("ST$" not in value for value in emulator.requests[0].headers.values())


def test_unsigned_request_is_rejected(emulator: Emulator) -> None:
    status, headers, body = send_raw(emulator, "GET", f"/{SOURCE_REGION}{LIST_PATH}")

    assert (status, body) == (401, GENERIC_401)
    assert headers["opc-request-id"]
    assert emulator.requests[-1].error_code == "NotAuthenticated"


def test_tampered_request_is_rejected(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "GET", LIST_PATH)

    status, _, body = send_raw(emulator, "GET", f"/{SOURCE_REGION}{LIST_PATH}&limit=1", headers)

    assert (status, body) == (401, GENERIC_401)
    assert last_detail(emulator) == "signature does not verify"
    assert send_raw(emulator, "GET", f"/{SOURCE_REGION}{LIST_PATH}", headers)[0] == 200


def test_body_hash_mismatch_is_rejected(emulator: Emulator) -> None:
    path = "/20160918/volumeBackups/ocid1.volumebackup.oc1.phx.x/actions/copy"
    signed_body, sent_body = b'{"destinationRegion": "us-ashburn-1"}', b'{"destinationRegion": "us-sanjose-1"}'
    headers = signed_headers(emulator, "POST", path, signed_body)

    status, _, _ = send_raw(emulator, "POST", f"/{SOURCE_REGION}{path}", headers, sent_body)

    assert status == 401
    assert last_detail(emulator) == "x-content-sha256 does not match the body"


def test_post_must_sign_the_body_headers(emulator: Emulator) -> None:
    path = "/20160918/volumeBackups/ocid1.volumebackup.oc1.phx.x/actions/copy"
    headers = signed_headers(emulator, "GET", path)  # the generic header set only

    status, _, _ = send_raw(emulator, "POST", f"/{SOURCE_REGION}{path}", headers)

    assert status == 401
    assert last_detail(emulator) == "required headers not signed: content-length content-type x-content-sha256"


def test_stale_date_is_rejected(emulator: Emulator) -> None:
    stale = formatdate(time.time() - 600, usegmt=True)
    headers = signed_headers(emulator, "GET", LIST_PATH, extra={"date": stale})

    assert send_raw(emulator, "GET", f"/{SOURCE_REGION}{LIST_PATH}", headers)[0] == 401
    assert last_detail(emulator) == "date header outside the allowed clock skew"


def test_untrusted_and_revoked_tokens_are_rejected(
    emulator: Emulator, client: ClientFactory, principal: ResourcePrincipal
) -> None:
    emulator.revoke(principal.token)

    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client().list_volume_backups(COMPARTMENT_ID)

    assert (raised.value.status, raised.value.code) == (401, "NotAuthenticated")
    # The SDK re-reads the token file after a 401 and tries exactly once more.
    assert [request.status for request in emulator.requests] == [401, 401]
    assert {request.detail for request in emulator.requests} == {"session token not trusted"}


def test_expired_token_is_rejected(
    emulator: Emulator, client: ClientFactory, tmp_path: Path, use_principal: Callable[[ResourcePrincipal], None]
) -> None:
    expired = issue(tmp_path, lifetime_seconds=-60)
    use_principal(expired)
    emulator.trust(expired.token, expired.public_key_pem)

    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client().list_volume_backups(COMPARTMENT_ID)

    assert raised.value.status == 401
    assert last_detail(emulator) == "session token expired"


def test_rotated_token_is_picked_up_after_a_401(
    emulator: Emulator, client: ClientFactory, tmp_path: Path, use_principal: Callable[[ResourcePrincipal], None]
) -> None:
    rotating = issue(tmp_path)
    use_principal(rotating)
    emulator.trust(rotating.token, rotating.public_key_pem)
    long_lived = client()
    long_lived.list_volume_backups(COMPARTMENT_ID)
    old_token = rotating.token

    new_token = rotating.rotate()
    emulator.trust(new_token, rotating.public_key_pem)
    emulator.revoke(old_token)
    long_lived.list_volume_backups(COMPARTMENT_ID)
    client().list_volume_backups(COMPARTMENT_ID)

    assert new_token != old_token
    assert [request.status for request in emulator.requests] == [200, 401, 200, 200]


def issue(tmp_path: Path, lifetime_seconds: int = 3600) -> ResourcePrincipal:
    return issue_resource_principal(tmp_path / "rp", SOURCE_REGION, lifetime_seconds=lifetime_seconds)
