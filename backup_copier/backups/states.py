"""A backup's lifecycle states, and what each means to a copier."""

from __future__ import annotations

from datetime import timedelta

AVAILABLE = "AVAILABLE"
# A copy in these states is (or will be) a usable copy: making another would duplicate it.
PRESENT_STATES = frozenset({"REQUEST_RECEIVED", "CREATING", "AVAILABLE"})
NOT_YET_STATES = frozenset({"REQUEST_RECEIVED", "CREATING"})
# Being deleted, or deleted: nothing to copy from, nothing to delete.
GONE_STATES = frozenset({"TERMINATING", "TERMINATED"})
# Clocks of two regions never disagree by this much; it bounds the scans for existing copies.
COPY_CLOCK_SKEW = timedelta(hours=1)
# A copy that failed: no recovery point, and worth counting where it happens.
FAULTY = "FAULTY"
