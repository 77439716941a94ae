"""Each region's availability domains: what Identity lists and what Block Storage accepts.

A name is the tenancy's own prefix, a colon and the region's AD label: the SDK's docstrings give
`Uocm:PHX-AD-1` (list_volumes, list_boot_volumes); Ashburn's read `US-ASHBURN-AD-1`, and regions
opened later carry their full name (`EU-FRANKFURT-1-AD-1`). The prefix differs per tenancy, so a
caller must take names from ListAvailabilityDomains and never build them. Three per region unless
a test says otherwise (many newer regions have one).
"""

from __future__ import annotations

import threading

from .ocids import canonical_region, random_part

DEFAULT_COUNT = 3
DEFAULT_PREFIX = "NfHZ"
# The two regions whose AD labels predate the region naming scheme.
_LEGACY_LABELS = {"us-phoenix-1": "PHX", "us-ashburn-1": "US-ASHBURN"}


def default_names(region: str, count: int = DEFAULT_COUNT, prefix: str = DEFAULT_PREFIX) -> list[str]:
    label = _LEGACY_LABELS.get(region, region.upper())
    return [f"{prefix}:{label}-AD-{number}" for number in range(1, count + 1)]


class AvailabilityDomains:
    """Names and OCIDs of each region's availability domains, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, list[str]] = {}
        self._ids: dict[tuple[str, str], str] = {}

    def set(self, region: str, names: list[str]) -> None:
        if canonical_region(region) != region:
            raise ValueError(f"unknown region {region!r}; use a long name such as us-phoenix-1")
        if not names or len(set(names)) != len(names) or not all(":" in name for name in names):
            raise ValueError("availability domains need one or more distinct names like 'Uocm:PHX-AD-1'")
        with self._lock:
            self._names[region] = list(names)

    def names(self, region: str) -> list[str]:
        with self._lock:
            return list(self._names.setdefault(region, default_names(region)))

    def id_of(self, region: str, name: str) -> str:
        """An AD's OCID (ocid1.availabilitydomain.oc1..<unique>), the same on every listing."""
        with self._lock:
            return self._ids.setdefault((region, name), f"ocid1.availabilitydomain.oc1..{random_part(60)}")
