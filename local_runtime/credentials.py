"""Local stand-in for the resource-principal credentials OCI Functions injects.

OCI Functions hands a function a resource principal session token (RPST) and a
private key as files, and points at them through `OCI_RESOURCE_PRINCIPAL_*`
environment variables (version 2.2). `oci.auth.signers.get_resource_principals_signer()`
reads exactly these variables; with absolute paths it re-reads the files when a
service answers 401, which is how the platform rotates tokens under a running
function. This module produces the same files so the real SDK code path runs
locally.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_FILE_NAME = "rpst"
PRIVATE_KEY_FILE_NAME = "private.pem"
DEFAULT_TENANCY_ID = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy"
DEFAULT_COMPARTMENT_ID = "ocid1.compartment.oc1..aaaaaaaalocalcompartment"
RESOURCE_ID = "ocid1.fnfunc.oc1..aaaaaaaalocalfunction"


@dataclass
class ResourcePrincipal:
    """Files and claims of one locally issued resource principal."""

    directory: Path
    region: str
    # A session token is a bearer credential: keep it out of repr and logs.
    token: str = field(repr=False)
    public_key_pem: bytes
    tenancy_id: str = DEFAULT_TENANCY_ID
    compartment_id: str = DEFAULT_COMPARTMENT_ID
    lifetime_seconds: int = 3600
    # The function's OCID: res_id and sub, what a dynamic group's `resource.id` matches.
    resource_id: str = RESOURCE_ID
    # Kept out of repr so a printed principal never shows key material.
    _private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)

    @property
    def token_path(self) -> Path:
        return (self.directory / TOKEN_FILE_NAME).resolve()

    @property
    def private_key_path(self) -> Path:
        return (self.directory / PRIVATE_KEY_FILE_NAME).resolve()

    def environment(self) -> dict[str, str]:
        """Variables OCI Functions sets for a resource principal v2.2."""
        return {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(self.token_path),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(self.private_key_path),
            "OCI_RESOURCE_PRINCIPAL_REGION": self.region,
        }

    def rotate(self) -> str:
        """Replace the token file with a fresh token, as the platform does.

        The replacement is atomic so a signer re-reading the file never sees a
        half-written token.
        """
        self.token = _issue_token(
            self._signing_key(), self.tenancy_id, self.compartment_id, self.resource_id, self.lifetime_seconds
        )
        _write_atomically(self.token_path, self.token.encode("ascii"), mode=0o600)
        return self.token

    def _signing_key(self) -> rsa.RSAPrivateKey:
        if self._private_key is None:
            loaded = serialization.load_pem_private_key(self.private_key_path.read_bytes(), None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise TypeError(f"{self.private_key_path} does not hold an RSA private key")
            self._private_key = loaded
        return self._private_key


def issue_resource_principal(
    directory: Path,
    region: str,
    *,
    tenancy_id: str = DEFAULT_TENANCY_ID,
    compartment_id: str = DEFAULT_COMPARTMENT_ID,
    lifetime_seconds: int = 3600,
    resource_id: str = RESOURCE_ID,
) -> ResourcePrincipal:
    """Create a key pair and a session token for it under `directory`; `resource_id` is the function's
    OCID (a dynamic group rule names it, and the deploy kit wants one with a region)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    principal = ResourcePrincipal(
        directory=directory,
        region=region,
        token="",
        public_key_pem=public_pem,
        tenancy_id=tenancy_id,
        compartment_id=compartment_id,
        lifetime_seconds=lifetime_seconds,
        resource_id=resource_id,
        _private_key=private_key,
    )
    _write_atomically(principal.private_key_path, private_pem, mode=0o600)
    principal.rotate()
    return principal


def _issue_token(
    private_key: rsa.RSAPrivateKey, tenancy_id: str, compartment_id: str, resource_id: str, lifetime_seconds: int
) -> str:
    """Build an RPST-shaped JWT.

    The SDK decodes the token without checking its signature and reads `exp`,
    `iat` (refresh timing) and `res_tenant` / `res_compartment` (the
    principal's coordinates). The real identity service signs with its own
    key; here the session key signs it, which no consumer can tell apart.
    The resource claims (`res_type`, `res_id`, `res_compartment`, and `sub` the
    resource's OCID) are the ones Oracle's own token code sets for a resource
    principal (the `ociauthz` Go package's ResourcePrincipalTokenClaimValues:
    ptype, res_type, res_tenant, res_compartment, res_id, sub = res_id); the
    emulator's IAM (blockstorage_emulator/iam) matches dynamic groups on them.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": resource_id,
        "iss": "authService.oracle.com",
        "aud": "oci",
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": secrets.token_hex(16),
        "ptype": "resource",
        "res_type": "fnfunc",
        "res_id": resource_id,
        "res_tenant": tenancy_id,
        "res_compartment": compartment_id,
        "tenant": tenancy_id,
        "jwk": _public_jwk(private_key.public_key()),
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


def _public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": "asw",
        "n": _base64url_integer(numbers.n),
        "e": _base64url_integer(numbers.e),
    }


def _base64url_integer(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _write_atomically(path: Path, content: bytes, *, mode: int) -> None:
    """Write to a sibling temporary file, then rename over `path`."""
    descriptor, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary_name, path)
    except BaseException:
        Path(temporary_name).unlink(missing_ok=True)
        raise
