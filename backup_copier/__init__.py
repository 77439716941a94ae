"""Copies completed OCI Block Volume backups to other regions, one Fn invocation at a time."""

from .shared import logs

# Before anything imports the SDK: the fdk has set the root logger to DEBUG, and the SDK logs
# at import time (its circuit-breaker notice) as plain text into the function's log.
logs.configure()
