"""The operator's kit: the IAM statements (iam.py), the CLI that prints the deploy files (cli.py), and the preflight check `{"action": "check"}` (preflight.py).

May use shared/ only. Run the CLI as `python -m backup_copier.deploy_kit`.
"""
