"""Restore drills, `{"action": "drill", ...}`: copies restored in their regions, timed, checked and deleted, over passes.

May use backups/ and shared/; request.py runs a pass, read.py reads the scope, finish.py ends the drills in
flight (verdict.py judges, teardown.py deletes), restore.py starts new ones in rotation.py's turn, marks.py
says what proves a drill (docs/drills.md).
"""
