"""Region names: normalising what operators type, and the realm each region lives in.

The SDK's tables are used as plain dictionaries on purpose: its helper functions fall back
to the instance metadata service for unknown names, a network call a function must not make
while validating input.
"""

from __future__ import annotations

import re

from oci import regions as sdk_regions

# A region name the SDK does not know yet (OCI opens regions faster than SDKs ship) is
# accepted when it has the shape of one: a new region must not need a new release.
_REGION_NAME = re.compile(r"[a-z]{2,3}-[a-z]+-[1-9][0-9]?")
_SHORT_CODE = re.compile(r"[a-z]{3}")


def normalise_region(name: str) -> str | None:
    """The long region name for a long name or short code, or None if it is neither."""
    candidate = name.strip().lower()
    if candidate in sdk_regions.REGIONS_SHORT_NAMES:
        return str(sdk_regions.REGIONS_SHORT_NAMES[candidate])
    if candidate in sdk_regions.REGIONS or _REGION_NAME.fullmatch(candidate):
        return candidate
    return None


def region_from_ocid_segment(segment: str) -> str | None:
    """The long region name an OCID's region segment stands for, if the SDK knows it."""
    if segment in sdk_regions.REGIONS_SHORT_NAMES:
        return str(sdk_regions.REGIONS_SHORT_NAMES[segment])
    if segment in sdk_regions.REGIONS:
        return segment
    return None


def realm_of(region: str) -> str | None:
    realm = sdk_regions.REGION_REALMS.get(region)
    return str(realm) if realm else None


def is_known_realm(realm: str) -> bool:
    return realm in sdk_regions.REALMS


def looks_like_short_code(segment: str) -> bool:
    return bool(_SHORT_CODE.fullmatch(segment))
