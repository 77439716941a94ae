"""The recovery-point report, `{"action": "report", ...}`: how stale each volume's newest copy is in each destination region, as an answer and as OCI Monitoring metrics.

May use backups/ and shared/; request.py parses the body, scan.py reads, coverage.py aggregates per volume, summary.py answers, publish.py posts the metrics.
"""
