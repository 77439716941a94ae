"""Copy expiry, `{"action": "expire", ...}`: marked copies past their expiry deleted oldest first, and nothing else ever.

May use backups/ and shared/; request.py parses the body, plan.py decides, deletion.py deletes one copy, summary.py answers.
"""
