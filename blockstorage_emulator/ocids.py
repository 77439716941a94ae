"""Realistic OCIDs: ocid1.<resource type>.oc1.<short region code>.<unique part>."""

from __future__ import annotations

import secrets
import string

import oci.regions

_UNIQUE_ALPHABET = string.ascii_lowercase + string.digits
_SHORT_CODE_BY_REGION: dict[str, str] = {long: short for short, long in oci.regions.REGIONS_SHORT_NAMES.items()}


def short_region_code(region: str) -> str:
    """`us-phoenix-1` -> `phx`; a region without a short code keeps its name."""
    return _SHORT_CODE_BY_REGION.get(region, region)


def canonical_region(name: str) -> str | None:
    """The long region name for a long name or short code, None if unknown."""
    long_name = str(oci.regions.REGIONS_SHORT_NAMES.get(name.lower(), name.lower()))
    return long_name if long_name in oci.regions.REGIONS else None


def random_part(length: int) -> str:
    return "".join(secrets.choice(_UNIQUE_ALPHABET) for _ in range(length))


def new_ocid(resource_type: str, region: str) -> str:
    return f"ocid1.{resource_type}.oc1.{short_region_code(region)}.{random_part(60)}"


def new_kms_key_ocid(region: str) -> str:
    # Key OCIDs carry the vault's identifier between region and unique part.
    return f"ocid1.key.oc1.{short_region_code(region)}.{random_part(13)}.{random_part(60)}"
