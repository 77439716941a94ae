"""`make demo` runs as the README shows: every answer 200, a report with a breaching volume, a copy expiring,
one backup's copies in two regions expiring by each region's rule, and a restore drill passing for a volume."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta

from tests.helpers import PROJECT_ROOT


def test_the_demo_shows_a_breaching_volume() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local_runtime.demo"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    # Words, not Python reprs: no dict braces, no None.
    assert "{'" not in done.stdout and "None" not in done.stdout, done.stdout
    # Every item of the preflight check passes, the tenancy's compartments (the emulator's Identity) included.
    assert re.search(r"^check\.json +200 +ready +(\d+) of \1 checks pass$", done.stdout, re.M), done.stdout
    assert re.search(r"^report\.json +200 +at_risk ", done.stdout, re.M), done.stdout
    # The tenancy-wide report reads the tenancy, the samples' compartment and the team's below it, not the
    # INACTIVE one, and finds the team's backup that has no copy (one more uncovered volume).
    tenancy = re.search(
        r"^report\.json, whole tenancy \(subtree\) +200 +at_risk +(\d+) volumes: .*; (\d+) compartments read",
        done.stdout,
        re.M,
    )
    single = re.search(r"^report\.json +200 +at_risk +(\d+) volumes", done.stdout, re.M)
    assert tenancy is not None and single is not None, done.stdout
    assert (int(tenancy[1]), int(tenancy[2])) == (int(single[1]) + 1, 3)
    totals = re.search(r"(\d+) covered, (\d+) breaching, (\d+) uncovered; (\d+) metric streams posted", done.stdout)
    assert totals is not None, done.stdout
    assert int(totals[2]) >= 1
    assert re.search(r"^  breaching  volume \S+: \d+\.\d h in us-ashburn-1", done.stdout, re.M), done.stdout
    assert "is now TERMINATING; the older copy made by hand, unmarked, is still AVAILABLE" in done.stdout
    assert "oldest first: yes" in done.stdout
    expiries = re.search(
        r"its copy in us-ashburn-1 expire (\S+) .*, its copy in eu-frankfurt-1 (\S+) \(90 days", done.stdout
    )
    assert expiries is not None, done.stdout
    made = datetime.fromisoformat(expiries[1].replace("Z", "+00:00")) - timedelta(days=14)
    assert expiries[2] == (made + timedelta(days=90)).isoformat().replace("+00:00", "Z")
    # The drill's first pass restores the volume's newest copy; its next pass finds it passed and deletes it.
    assert re.search(r"^drill\.json +200 +drilled +started 1, in flight 1, passed 0", done.stdout, re.M), done.stdout
    assert re.search(
        r"^drill\.json, its next pass +200 +drilled +started 0, in flight 0, passed 1, failed 0, deleted 1; restored in",
        done.stdout,
        re.M,
    ), done.stdout
    assert re.search(
        r"^Restore drill \(drill\.json\): the volume .* the restored volume is now TERMINATING\.$", done.stdout, re.M
    )
    # The README's demo block is the demo's own output, shortened: each row's request, status and outcome.
    block = (PROJECT_ROOT / "README.md").read_text().split("request (events/)", 1)[1].split("```", 1)[0]
    rows = [line for line in block.splitlines()[2:] if line]
    assert len(rows) >= 10
    for row in rows:
        request, status, outcome, detail = re.split(r"\s{2,}", row, maxsplit=3)
        # The detail up to what a run makes anew (an OCID) or the README shortens (…).
        shown = detail.split("…")[0].split("ocid1.")[0]
        assert re.search(rf"^{re.escape(request)} +{status} +{outcome} +{re.escape(shown)}", done.stdout, re.M), row
