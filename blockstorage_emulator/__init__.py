"""A local, faithful-enough OCI Block Storage service for backup-copy tests."""

from .dispatch import RecordedRequest
from .emulator import Emulator
from .errors import ServiceError
from .faults import Fault
from .functions import FunctionCall, FunctionInvocation
from .telemetry import PostedMetric

__all__ = ["Emulator", "Fault", "FunctionCall", "FunctionInvocation", "PostedMetric", "RecordedRequest", "ServiceError"]
