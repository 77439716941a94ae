"""The catch-up sweep, `{"action": "reconcile", ...}`: every backup in a compartment that has no copy yet, copied oldest first.

May use backups/ and shared/; request.py parses the body, scan.py reads, loop.py copies, summary.py answers.
"""
