"""The copy: a backup-completed event, or an operator's `{"backupId": ...}`, copied to each destination region.

May use backups/ and shared/; the dispatch hands it its bodies.
"""
