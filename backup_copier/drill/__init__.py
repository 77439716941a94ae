"""Restore drills, `{"action": "drill", ...}`: copies restored in their regions, timed, checked and deleted.

May use backups/ and shared/; request.py runs a pass, finish.py ends the drills in flight, restore.py starts
new ones, marks.py says what proves a drill (docs/drills.md).
"""
