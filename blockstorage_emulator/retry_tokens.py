"""opc-retry-token: the same request sent again answers the resource it created the first time.

The SDK's docstrings for every create and copy operation: "A token that uniquely identifies a
request so it can be retried in case of a timeout or server error without risk of executing that
same action again. Retry tokens expire after 24 hours". The same token with a different request
answers 409 Conflict (the message is the emulator's own). One store per kind of action: a copy's
token and a restore's token never meet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import errors

RETRY_TOKEN_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class _Record:
    fingerprint: str  # identifies the request: method, path and canonical body
    region: str
    resource_id: str
    expires_at: float


class RetryTokens:
    """Tokens already used; callers hold the backend's lock."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}

    def replay(self, token: str | None, fingerprint: str) -> tuple[str, str] | None:
        """(region, resource id) an earlier request with this token created, if any."""
        if not token:
            return None
        record = self._records.get(token)
        if record is None or record.expires_at < time.time():
            return None
        if record.fingerprint != fingerprint:
            raise errors.Conflict("The opc-retry-token was already used for a different request")
        return record.region, record.resource_id

    def remember(self, token: str | None, fingerprint: str, region: str, resource_id: str) -> None:
        if token:
            self._records[token] = _Record(fingerprint, region, resource_id, time.time() + RETRY_TOKEN_LIFETIME_SECONDS)
