"""Copies completed OCI Block Volume backups to other regions, one Fn invocation at a time."""
