"""Injected faults and denied operations.

Faults stand in for the transient failures a real region produces (throttling,
5xx, dropped connections, slow answers); denials stand in for a missing IAM
policy, which OCI reports as 404 rather than 403.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from . import errors
from .volume_kinds import VOLUME_OPERATIONS

# "*" is every Block Storage operation: those on backups ("get", "list", ... with a kind) and those
# on volumes, boot volumes and volume groups, by the SDK's names ("create_volume", ...; see
# volume_kinds.py). post_metrics is Monitoring's (telemetry.py), list_compartments and
# list_availability_domains Identity's (identity.py), list_volume_attachments and
# list_boot_volume_attachments Compute's (compute.py), get_function and invoke_function OCI
# Functions' (functions.py), each named on its own.
BLOCK_STORAGE_OPERATIONS = ("get", "list", "copy", "update", "delete", *VOLUME_OPERATIONS)
OPERATIONS = (
    *BLOCK_STORAGE_OPERATIONS,
    "post_metrics",
    "list_compartments",
    "list_availability_domains",
    "list_volume_attachments",
    "list_boot_volume_attachments",
    "get_function",
    "invoke_function",
    "*",
)


@dataclass
class Fault:
    operation: str = "*"
    kind: str | None = None
    region: str | None = None
    count: int = 1
    status: int | None = None
    code: str | None = None
    message: str | None = None
    drop_connection: bool = False
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}, not {self.operation!r}")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.status is None and not self.drop_connection and self.delay_seconds <= 0:
            raise ValueError("a fault needs a status, drop_connection or a delay")

    def matches(self, operation: str, kind: str | None, region: str) -> bool:
        return self.operation in ("*", operation) and self.kind in (None, kind) and self.region in (None, region)

    def error(self) -> errors.ServiceError:
        """The service's error for this fault's status (only for a fault with a status)."""
        assert self.status is not None
        return errors.error_for(self.status, self.code, self.message)

    def describe(self) -> str:
        parts = []
        if self.delay_seconds > 0:
            parts.append(f"delay {self.delay_seconds:g}s")
        if self.drop_connection:
            parts.append("drop connection")
        if self.status is not None:
            parts.append(f"status {self.status}" + (f" {self.code}" if self.code else ""))
        return ", ".join(parts)


class FaultPlan:
    """Faults in injection order, each spent after `count` matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # [fault, hits left]; the caller's Fault is never mutated.
        self._armed: list[tuple[Fault, list[int]]] = []

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append((fault, [fault.count]))

    def take(self, operation: str, kind: str | None, region: str) -> Fault | None:
        """The first live fault matching the request, charged one hit."""
        with self._lock:
            for fault, hits_left in self._armed:
                if hits_left[0] > 0 and fault.matches(operation, kind, region):
                    hits_left[0] -= 1
                    return fault
        return None

    def strike(self, operation: str, kind: str | None, region: str, cleared: threading.Event) -> Fault | None:
        """The fault for this request, its delay already waited out as every service waits it (cut short
        when a test clears the emulator). The caller drops the connection or raises fault.error()."""
        fault = self.take(operation, kind, region)
        if fault is not None:
            cleared.wait(fault.delay_seconds)
        return fault

    def remaining(self) -> int:
        with self._lock:
            return sum(hits_left[0] for _, hits_left in self._armed)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()


@dataclass(frozen=True)
class Denial:
    operation: str
    region: str | None = None
    kind: str | None = None

    def matches(self, operation: str, kind: str | None, region: str) -> bool:
        return (
            self.operation in ("*", operation)
            and self.kind in (None, kind)
            and self.region
            in (
                None,
                region,
            )
        )


class AccessPolicy:
    """Operations the tenancy's IAM policy (as emulated) does not allow."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denials: list[Denial] = []

    def deny(self, denial: Denial) -> None:
        if denial.operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}, not {denial.operation!r}")
        with self._lock:
            self._denials.append(denial)

    def allow_all(self) -> None:
        with self._lock:
            self._denials.clear()

    def denies(self, operation: str, kind: str | None, region: str) -> bool:
        with self._lock:
            return any(denial.matches(operation, kind, region) for denial in self._denials)


class CompartmentDenials:
    """Compartments the caller has no policy in: Identity will not list their children and Block
    Storage will not list their backups; OCI answers both as 404 NotAuthorizedOrNotFound."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denied: set[str] = set()

    def deny(self, compartment_id: str) -> None:
        with self._lock:
            self._denied.add(compartment_id)

    def denies(self, compartment_id: str | None) -> bool:
        with self._lock:
            return compartment_id in self._denied

    def clear(self) -> None:
        with self._lock:
            self._denied.clear()


class LatencyPlan:
    """Service time added to every request of an operation, as a real region takes tens of
    milliseconds where loopback takes microseconds. Each request waits on its own server thread,
    so a slow request never delays another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}

    def set(self, operation: str, seconds: float) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}, not {operation!r}")
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            if seconds:
                self._seconds[operation] = seconds
            else:
                self._seconds.pop(operation, None)

    def seconds(self, operation: str) -> float:
        """The latency of one request; "*" stands for every Block Storage operation."""
        with self._lock:
            if operation in self._seconds:
                return self._seconds[operation]
            return self._seconds.get("*", 0.0) if operation in BLOCK_STORAGE_OPERATIONS else 0.0

    def clear(self) -> None:
        with self._lock:
            self._seconds.clear()
