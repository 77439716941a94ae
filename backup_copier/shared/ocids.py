"""OCID parsing. Every OCID is checked here before it can reach a URL.

The grammar is Oracle's: ocid1.<resource type>.<realm>.[region][.future use].<unique id>,
lower-case letters and digits only. Anything else (slashes, dots in the wrong place,
percent signs, white space, control characters) is refused, so a hostile event can never
steer a request to another path.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from . import regions
from .errors import InvalidRequest

_MAX_LENGTH = 255
_OCID = re.compile(
    r"ocid1"
    r"\.(?P<type>[a-z][a-z0-9]*)"
    r"\.(?P<realm>oc[0-9]{1,3})"
    r"\.(?P<region>[a-z0-9-]*)"
    r"(?:\.(?P<future>[a-z0-9]+))?"
    r"\.(?P<unique>[a-z0-9]{4,128})"
)
# The same grammar, anchored, for validators that take a pattern (backups/records.py: the id of
# every listed backup is checked before any request can put it in a URL).
OCID_PATTERN = f"^{_OCID.pattern}$"
MAX_OCID_LENGTH = _MAX_LENGTH


@dataclass(frozen=True)
class Ocid:
    value: str
    resource_type: str
    realm: str
    region_segment: str

    @property
    def region(self) -> str | None:
        """The long name of the region the resource lives in, when the OCID says."""
        return regions.region_from_ocid_segment(self.region_segment)

    def __str__(self) -> str:
        return self.value


def parse_ocid(
    value: object,
    *,
    field: str,
    types: Collection[str],
    regional: bool,
) -> Ocid:
    """Parse `value` as an OCID of one of `types`, or raise InvalidRequest naming `field`."""
    if not isinstance(value, str):
        raise InvalidRequest(field, f"expected an OCID string, got {type(value).__name__}", "InvalidOcid")
    described = ", ".join(f"ocid1.{t}." for t in sorted(types))
    if len(value) > _MAX_LENGTH:
        raise InvalidRequest(field, f"OCID longer than {_MAX_LENGTH} characters", "InvalidOcid")
    match = _OCID.fullmatch(value)
    if match is None:
        raise InvalidRequest(
            field, f"not a well-formed OCID (expected {described}…): {_printable(value)}", "InvalidOcid"
        )
    ocid = Ocid(value, match["type"], match["realm"], match["region"])
    if ocid.resource_type not in types:
        raise InvalidRequest(
            field, f"expected an OCID of kind {described}… but got ocid1.{ocid.resource_type}.", "InvalidOcid"
        )
    if not regions.is_known_realm(ocid.realm):
        raise InvalidRequest(field, f"unknown realm {ocid.realm!r} in OCID", "InvalidOcid")
    if regional and not ocid.region_segment:
        raise InvalidRequest(field, "OCID has no region segment; this resource is regional", "InvalidOcid")
    region = ocid.region
    if region is not None and regions.realm_of(region) not in (None, ocid.realm):
        raise InvalidRequest(field, f"OCID realm {ocid.realm} does not match its region {region}", "InvalidOcid")
    return ocid


def _printable(value: str, limit: int = 80) -> str:
    """A quoted, escaped excerpt, so control characters in input never reach a log raw."""
    excerpt = value[:limit] + ("…" if len(value) > limit else "")
    return ascii(excerpt)
