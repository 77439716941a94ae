"""`python -m backup_copier.deploy_kit ...`: the deploy kit's command line (cli.py)."""

import sys

from .cli import main

sys.exit(main())
