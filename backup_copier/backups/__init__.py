"""Backups in OCI as every capability sees them: their states, and one backup copied to one region.

May use shared/ only; capabilities build on it and never on each other.
"""
