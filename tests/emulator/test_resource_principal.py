"""The locally issued resource principal, as the SDK consumes it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import jwt
import oci
import pytest

from local_runtime.credentials import issue_resource_principal


def test_environment_yields_a_v22_resource_principal_signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    principal = issue_resource_principal(tmp_path, "us-phoenix-1", compartment_id="ocid1.compartment.oc1..c")
    for name, value in principal.environment().items():
        monkeypatch.setenv(name, value)

    signer = oci.auth.signers.get_resource_principals_signer()

    assert isinstance(signer, oci.auth.signers.EphemeralResourcePrincipalSigner)
    assert (signer.region, signer.tenancy_id, signer.compartment_id) == (
        "us-phoenix-1",
        "ocid1.tenancy.oc1..aaaaaaaalocaltenancy",
        "ocid1.compartment.oc1..c",
    )
    environment = principal.environment()
    assert environment["OCI_RESOURCE_PRINCIPAL_VERSION"] == "2.2"
    assert all(
        os.path.isabs(environment[name])
        for name in ("OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM")
    )
    assert stat.S_IMODE(principal.private_key_path.stat().st_mode) == 0o600


def test_token_carries_the_claims_and_public_key(tmp_path: Path) -> None:
    principal = issue_resource_principal(tmp_path, "us-ashburn-1", lifetime_seconds=120)

    claims = jwt.decode(principal.token, principal.public_key_pem, algorithms=["RS256"], audience="oci")
    public_key = jwt.PyJWK(claims["jwk"]).key

    assert claims["exp"] - claims["iat"] == 120
    assert {"jti", "sub", "res_tenant", "res_compartment"} <= claims.keys()
    assert public_key.public_numbers() == principal._signing_key().public_key().public_numbers()
    assert principal.token not in repr(principal)


def test_rotate_replaces_the_token_file(tmp_path: Path) -> None:
    principal = issue_resource_principal(tmp_path, "us-ashburn-1")
    old_token = principal.token
    old_jti = jwt.decode(old_token, options={"verify_signature": False})["jti"]

    new_token = principal.rotate()

    assert principal.token_path.read_text() == new_token == principal.token
    assert jwt.decode(new_token, options={"verify_signature": False})["jti"] != old_jti
    assert sorted(path.name for path in tmp_path.iterdir()) == ["private.pem", "rpst"]
