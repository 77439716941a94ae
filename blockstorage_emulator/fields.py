"""API fields every Block Storage resource shares: timestamps, tags, ETags.

Backups (models.py) and restored volumes (volumes.py) render and validate them the same way,
so the rules live here once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Protocol

from . import errors

# Freeform tag limits as the Tagging service enforces them (keys, values, tags per resource).
MAX_TAG_KEY_LENGTH = 100
MAX_TAG_VALUE_LENGTH = 256
MAX_FREEFORM_TAGS = 64
MAX_DISPLAY_NAME_LENGTH = 255


class Tagged(Protocol):
    etag: str


def format_time(moment: datetime) -> str:
    """RFC 3339 with milliseconds and a Z, as OCI renders timestamps."""
    # isoformat is several times faster than strftime, and every listed backup renders two times.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_etag() -> str:
    return secrets.token_hex(16)


def check_etag(resource: Tagged, if_match: str | None) -> None:
    if if_match is not None and if_match != resource.etag:
        raise errors.NoEtagMatch(f"The If-Match header ({if_match}) does not match the resource's ETag.")


def defined_tags(value: object) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(
        isinstance(namespace, str) and isinstance(values, dict) for namespace, values in value.items()
    ):
        raise errors.InvalidParameter("definedTags must be an object of tag namespaces, each an object of tags.")
    return {namespace: dict(values) for namespace, values in value.items()}


def freeform_tags(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise errors.InvalidParameter("freeformTags must be an object of string keys and string values.")
    if len(value) > MAX_FREEFORM_TAGS:
        raise errors.InvalidParameter(f"A resource can have at most {MAX_FREEFORM_TAGS} freeform tags.")
    for key, tag_value in value.items():
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH or len(tag_value) > MAX_TAG_VALUE_LENGTH:
            raise errors.InvalidParameter(
                f"Freeform tag keys must be 1 to {MAX_TAG_KEY_LENGTH} characters and values at most "
                f"{MAX_TAG_VALUE_LENGTH}: {key[:40]!r}."
            )
    return dict(value)


def display_name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_DISPLAY_NAME_LENGTH:
        raise errors.InvalidParameter(f"displayName must be a string of 1 to {MAX_DISPLAY_NAME_LENGTH} characters.")
    return value


def copy_defined(tags: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {namespace: dict(values) for namespace, values in tags.items()}
