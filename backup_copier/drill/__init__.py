"""Capability: {"action": "drill"}, restore drills that prove the copies restore, and time it (docs/drills.md)."""
