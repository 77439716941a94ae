"""How long the copies in one destination region are kept: the one place that ranks the retention settings.

A copy's expiry is decided once, when it is made (or first marked), and written into its mark
(backups/marks.py); the expiry pass only reads marks. The first of these that applies wins:

1. `COPY_RETENTION_DAYS_<REGION>` for the copy's region: that many days after the source
   backup was made, or never; whatever the source's own expiry, policy backup or manual;
2. the source backup's own expiry (a policy backup's `expirationTime`);
3. `COPY_RETENTION_DAYS`: that many days after the source backup was made;
4. never, like any manual backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

REGION_RETENTION_PREFIX = "COPY_RETENTION_DAYS_"
NEVER: Literal["never"] = "never"
# A hundred years: a compliance region may keep copies for decades; anything longer is a typo
# (`never` says "for ever" plainly).
MAX_REGION_RETENTION_DAYS = 36_500

RegionRetention = int | Literal["never"]


def region_retention_setting(region: str) -> str:
    """The configuration key that holds the retention of copies into `region`."""
    return REGION_RETENTION_PREFIX + region.upper().replace("-", "_")


def parse_region_retention(value: str) -> RegionRetention:
    """A whole number of days from 1 to MAX_REGION_RETENTION_DAYS, or `never`; ValueError otherwise."""
    text = value.strip()
    if text.lower() == NEVER:
        return NEVER
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_REGION_RETENTION_DAYS:
        return int(text)
    raise ValueError(
        f"expected a whole number of days from 1 to {MAX_REGION_RETENTION_DAYS}, or never, got {ascii(value)[:40]}"
    )


@dataclass(frozen=True)
class RetentionRule:
    """The rule for the copies made into one destination region."""

    region: str
    # COPY_RETENTION_DAYS_<REGION>, when set: days, or NEVER.
    region_retention: RegionRetention | None
    # COPY_RETENTION_DAYS, when set.
    default_days: int | None

    @property
    def setting(self) -> str:
        return region_retention_setting(self.region)

    def expiry(self, source_expiration: datetime | None, source_created: datetime | None) -> datetime | None:
        """When a copy of a source with this expiration and creation time expires; None: never."""
        if self.region_retention == NEVER:
            return None
        if self.region_retention is not None:
            # Without a creation time (OCI always gives one) there is nothing to count from:
            # never, the side on which no copy is lost.
            return source_created + timedelta(days=self.region_retention) if source_created else None
        if source_expiration is not None:
            return source_expiration
        if self.default_days is not None and source_created is not None:
            return source_created + timedelta(days=self.default_days)
        return None

    def describe(self) -> str:
        """The rule in a sentence, as the preflight check shows it."""
        if self.region_retention == NEVER:
            return f"every copy is kept for ever ({self.setting}=never), whatever its source's own expiry"
        if self.region_retention is not None:
            return (
                f"every copy expires {self.region_retention} days after its source was made "
                f"({self.setting}), whatever its source's own expiry"
            )
        if self.default_days is None:
            manual = f"copies of manual backups never expire (set COPY_RETENTION_DAYS or {self.setting} to let them)"
        else:
            manual = f"copies of manual backups expire {self.default_days} days after their source was made"
        return f"copies of policy backups expire with their source, and {manual}"
