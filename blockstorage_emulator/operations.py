"""The Block Storage API operations: request parsing and response shaping.

Validation and semantics follow the OCI Core API (version 20160918); the state
changes themselves are the backend's business.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .kinds import Kind
from .models import Backend, CopyRequest

# The page size every List operation here accepts, Identity's ListCompartments included: 1 to 1000,
# 100 when absent. Oracle's Private Cloud Appliance API reference, which documents the same Core
# and Identity 20160918 operations, states "1 is the minimum, 1000 is the maximum. Default Value:
# 100" for ListVolumeBackups, ListBootVolumeBackups, ListVolumeGroupBackups and ListCompartments
# (docs.oracle.com/en/engineered-systems/private-cloud-appliance/3.0-latest/ceapi/
# op-20160918-volumebackups-get.html, -bootvolumebackups-get.html, -volumegroupbackups-get.html,
# -compartments-get.html). OCI's own reference (docs.oracle.com/iaas/api/) renders its ranges in
# the browser and could not be read: the same range there is *unconfirmed*, and so is the answer
# to a larger limit (400 InvalidParameter, the code OCI uses for a bad query parameter; the
# message is the emulator's own).
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_RETRY_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class Call:
    """One routed API request."""

    region: str
    kind: Kind
    resource_id: str | None
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Operation = Callable[[Backend, Call], Reply]


def get_backup(backend: Backend, call: Call) -> Reply:
    with backend.lock:
        backup = backend.get(call.region, call.kind, call.resource_id or "")
        return Reply(200, backup.to_json(), {"etag": backup.etag})


def list_backups(backend: Backend, call: Call) -> Reply:
    compartment_id = call.query.get("compartmentId")
    if not compartment_id:
        raise errors.MissingParameter("Missing required parameter: compartmentId")
    limit, offset = paging(call.query)
    sort_by, descending = sorting(call.query)
    filters = {"compartmentId": compartment_id}
    for name in call.kind.list_filters:
        if name in call.query:
            value = call.query[name]
            filters[name] = value.upper() if name == "lifecycleState" else value
    page, more = backend.page(call.region, call.kind, filters, sort_by, descending, offset, limit)
    return Reply(200, page, next_page(offset, limit, more))


def copy_backup(backend: Backend, call: Call) -> Reply:
    token = retry_token(call)
    details = json_object(call.body)
    destination = details.get("destinationRegion")
    if not isinstance(destination, str) or not destination:
        raise errors.InvalidParameter("destinationRegion is required.")
    display_name = optional_string(details, "displayName")
    kms_key_id = optional_string(details, "kmsKeyId")
    request = CopyRequest(destination, display_name, kms_key_id, token, fingerprint(call, details))
    with backend.lock:
        copy = backend.copy(call.region, call.kind, call.resource_id or "", request)
        return Reply(200, copy.to_json(), {"etag": copy.etag})


def update_backup(backend: Backend, call: Call) -> Reply:
    details = json_object(call.body)
    with backend.lock:
        backup = backend.update(call.region, call.kind, call.resource_id or "", details, call.headers.get("if-match"))
        return Reply(200, backup.to_json(), {"etag": backup.etag})


def delete_backup(backend: Backend, call: Call) -> Reply:
    backend.delete(call.region, call.kind, call.resource_id or "", call.headers.get("if-match"))
    return Reply(204, None)


def retry_token(call: Call) -> str | None:
    """The request's opc-retry-token: "Minimum Length: 1 Maximum Length: 64" (Oracle's Private Cloud
    Appliance reference of the same Core 20160918 API, e.g. op-20160918-volumegroups-post.html)."""
    token = call.headers.get("opc-retry-token")
    if token is not None and not 1 <= len(token) <= MAX_RETRY_TOKEN_LENGTH:
        raise errors.InvalidParameter(
            f"opc-retry-token must be between 1 and {MAX_RETRY_TOKEN_LENGTH} characters long."
        )
    return token


def fingerprint(call: Call, details: dict[str, Any]) -> str:
    """What identifies a request for retry-token replay: its method, path and canonical body."""
    canonical_body = json.dumps(details, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{call.method} {call.path}\n{canonical_body}".encode()).hexdigest()


def paging(query: dict[str, str]) -> tuple[int, int]:
    """(page size, offset) of a List request."""
    return page_size(query.get("limit")), decode_page(query["page"]) if "page" in query else 0


def next_page(offset: int, limit: int, more: bool) -> dict[str, str]:
    """The opc-next-page header, when more follow."""
    return {"opc-next-page": encode_page(offset + limit)} if more else {}


def sorting(query: dict[str, str]) -> tuple[str, bool]:
    """(sortBy, descending) of a List request that takes TIMECREATED or DISPLAYNAME."""
    sort_by = query.get("sortBy", "TIMECREATED")
    if sort_by not in ("TIMECREATED", "DISPLAYNAME"):
        raise errors.InvalidParameter(f"Invalid sortBy: {sort_by}")
    # OCI's default order depends on the sort field: newest first, names A to Z.
    sort_order = query.get("sortOrder", "DESC" if sort_by == "TIMECREATED" else "ASC")
    if sort_order not in ("ASC", "DESC"):
        raise errors.InvalidParameter(f"Invalid sortOrder: {sort_order}")
    return sort_by, sort_order == "DESC"


def page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise errors.InvalidParameter(f"limit must be between 1 and {MAX_PAGE_SIZE}.")
    return size


def encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def decode_page(token: str) -> int:
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode("ascii")).decode().partition(":")
        if prefix == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise errors.InvalidParameter("Invalid page token.")


def json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise errors.InvalidParameter("Unable to parse the request body as JSON.") from None
    if not isinstance(parsed, dict):
        raise errors.InvalidParameter("The request body must be a JSON object.")
    return parsed


def optional_string(details: dict[str, Any], name: str) -> str | None:
    value = details.get(name)
    if value is not None and not isinstance(value, str):
        raise errors.InvalidParameter(f"{name} must be a string.")
    return value
