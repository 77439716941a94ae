"""The gate in front of every service on the port: IAM's answer before the service's.

Switched on by Emulator.enforce_policies. For each request the gate first verifies the signature
exactly as the services do (signature.py): an unauthenticated request passes through, so its
service answers 401 as OCI does, before anything about authorization is revealed. Then it asks
access.py what the request needs and engine.py whether the caller's statements allow it. A
refusal is OCI's answer to a missing policy: 404 NotAuthorizedOrNotFound, "Authorization failed or
requested resource not found." (errors.py), indistinguishable from a missing resource; the
request log records why, naming each permission and where it was missing.
"""

from __future__ import annotations

import re

import jwt

from .. import errors
from ..dispatch import Incoming, RecordedRequest, recorded
from ..signature import SESSION_TOKEN_PREFIX, TrustStore, verify_request
from .access import Access, Check, World, access_of
from .engine import PolicyEngine, Principal

_SESSION_TOKEN = re.compile(r'keyId="' + re.escape(SESSION_TOKEN_PREFIX) + r'([^"]*)"')


class PolicyGate:
    def __init__(self, engine: PolicyEngine, world: World, trust: TrustStore) -> None:
        self.engine = engine
        self._world = world
        self._trust = trust

    def refuse(self, incoming: Incoming) -> RecordedRequest | None:
        """The record of a refused request, or None to let the service answer it."""
        try:
            verify_request(incoming.method, incoming.target, incoming.headers, incoming.body, self._trust)
        except errors.NotAuthenticated:
            return None
        access = access_of(incoming.method, incoming.target, incoming.body, self._world)
        if access is None:
            return None
        missing = self.engine.missing(_principal(incoming), access)
        if not missing:
            return None
        error = errors.NotAuthorizedOrNotFound()
        error.detail = _why(access, missing)
        return recorded(
            incoming,
            access.region,
            access.path,
            access.query,
            error.status,
            error,
            access.record_operation,
            None,
            access.record_kind,
        )


def _principal(incoming: Incoming) -> Principal:
    # The signature verified with the key the emulator issued with this token: its claims are the
    # emulator's own, read as the SDK reads them, without the JWT's signature.
    match = _SESSION_TOKEN.search(incoming.headers.get("authorization", ""))
    claims = jwt.decode(match[1], options={"verify_signature": False}) if match else {}
    return Principal.from_claims(claims)


def _why(access: Access, missing: list[Check]) -> str:
    places = "; ".join(f"{check.permission} in {check.compartment_id} ({check.region})" for check in missing)
    return f"IAM: no statement allows {access.api_operation} {places}"
