"""Verification of the OCI SDK's draft-cavage HTTP signatures.

The SDK (oci/signer.py with the vendored httpsig_cffi) sends

    Authorization: Signature algorithm="rsa-sha256",headers="date (request-target) host",
                   keyId="ST$<session token>",signature="<base64>",version="1"

and signs the lines `name: value` of the listed headers joined by newlines,
where `(request-target)` is `<lower-case method> <path with query>` and POST,
PUT and PATCH add `content-length content-type x-content-sha256`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import NotAuthenticated

SESSION_TOKEN_PREFIX = "ST$"
MAX_CLOCK_SKEW_SECONDS = 300
GENERIC_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
BODY_METHODS = ("POST", "PUT", "PATCH")
_PARAMETER = re.compile(r'(\w+)="([^"]*)"')


class TrustStore:
    """The session tokens this emulator, playing the identity service, issued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    def trust(self, token: str, public_key_pem: bytes) -> None:
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise TypeError("session keys must be RSA public keys")
        with self._lock:
            self._keys[token] = key

    def revoke(self, token: str) -> None:
        with self._lock:
            self._keys.pop(token, None)

    def public_key(self, token: str) -> rsa.RSAPublicKey | None:
        with self._lock:
            return self._keys.get(token)


def rejected(detail: str) -> NotAuthenticated:
    """A 401 with OCI's generic message; the detail stays server-side."""
    error = NotAuthenticated()
    error.detail = detail
    return error


def verify_request(method: str, target: str, headers: Mapping[str, str], body: bytes, trust: TrustStore) -> None:
    """Raise NotAuthenticated unless the request carries a valid signature.

    `headers` must have lower-case names; `target` is the raw request target.
    """
    authorization = headers.get("authorization", "")
    scheme, _, parameter_text = authorization.partition(" ")
    if scheme != "Signature":
        raise rejected("no Signature authorization header")
    parameters = dict(_PARAMETER.findall(parameter_text))
    if parameters.get("version", "1") != "1" or parameters.get("algorithm") != "rsa-sha256":
        raise rejected("unsupported signature version or algorithm")
    key_id = parameters.get("keyId", "")
    if not key_id.startswith(SESSION_TOKEN_PREFIX):
        raise rejected("keyId is not a session token")
    token = key_id.removeprefix(SESSION_TOKEN_PREFIX)
    public_key = trust.public_key(token)
    if public_key is None:
        raise rejected("session token not trusted")
    _check_expiry(token)

    signed = parameters.get("headers", "date").lower().split()
    required = GENERIC_HEADERS + (BODY_HEADERS if method in BODY_METHODS else ())
    missing = [name for name in required if name not in signed]
    if missing:
        raise rejected(f"required headers not signed: {' '.join(missing)}")
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"{name}: {method.lower()} {target}")
        elif name in headers:
            lines.append(f"{name}: {headers[name]}")
        else:
            raise rejected(f"signed header {name} is absent")
    try:
        signature = base64.b64decode(parameters.get("signature", ""), validate=True)
        public_key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, InvalidSignature):
        raise rejected("signature does not verify") from None

    _check_date(headers["date"])
    if method in BODY_METHODS:
        _check_body(headers, body)


def _check_expiry(token: str) -> None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise rejected("session token is not a JWT") from None
    expires_at = claims.get("exp")
    if not isinstance(expires_at, (int, float)) or expires_at <= time.time():
        raise rejected("session token expired")


def _check_date(date: str) -> None:
    try:
        sent_at = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise rejected("unparseable date header") from None
    if abs(time.time() - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        raise rejected("date header outside the allowed clock skew")


def _check_body(headers: Mapping[str, str], body: bytes) -> None:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    if headers.get("x-content-sha256") != digest:
        raise rejected("x-content-sha256 does not match the body")
    if headers.get("content-length") != str(len(body)):
        raise rejected("content-length does not match the body")
