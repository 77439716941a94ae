"""`make demo`: the function behind the real fdk socket, against the local emulator.

Sends every file in events/ through the function as the Fn agent would, delivers one
event twice (as OCI Events may), runs the report over the whole tenancy ("subtree": true), runs
the restore drill's second pass once its restore is done, and prints what happened in a table;
then copies one policy
backup to two destinations whose retention differs (COPY_RETENTION_DAYS_<REGION>). Nothing leaves
this machine: the emulator listens on 127.0.0.1 and verifies every request's signature.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backup_copier.backups import marks
from backup_copier.shared.kinds import SPECS, BackupKind
from backup_copier.shared.retention import RetentionRule, region_retention_setting
from blockstorage_emulator import Emulator
from blockstorage_emulator.ocids import new_ocid
from local_runtime import samples
from local_runtime.credentials import issue_resource_principal
from local_runtime.fdk_process import FnResponse, FunctionProcess

SOURCE_REGION = "us-phoenix-1"
DESTINATION_REGION = "us-ashburn-1"
# A second destination that keeps copies longer than their source (COPY_RETENTION_DAYS_<REGION>).
VAULT_REGION = "eu-frankfurt-1"
# The function's own OCID, which OCI Functions sets as FN_FN_ID: a restore drill's mark names it.
FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaademobackupcopierfunction"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="backup-copier-demo-") as folder, Emulator() as emulator:
        principal = issue_resource_principal(Path(folder), SOURCE_REGION)
        emulator.trust(principal.token, principal.public_key_pem)
        samples.seed(emulator, SOURCE_REGION)
        missed = _seed_backups_whose_events_were_never_sent(emulator)
        _seed_copies_made_before(emulator)
        expiring, unmarked = _seed_copies_made_last_month(emulator)
        _seed_the_tenancy(emulator)
        settings = {
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
            "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
            "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
            "COMPUTE_ENDPOINT": emulator.compute_endpoint_template,
            "FN_FN_ID": FUNCTION_ID,
        }
        print(f"Emulator on 127.0.0.1:{emulator.port}; function copies {SOURCE_REGION} -> {DESTINATION_REGION}\n")
        rows: list[tuple[str, FnResponse]] = []
        with FunctionProcess({**principal.environment(), **settings}) as function:
            # Events first, as the Events rule would send them; then the operator's requests.
            for name in sorted(samples.names(), key=lambda name: "eventType" not in samples.load(name)):
                rows.append((name, function.invoke(samples.load(name))))
            redelivered = "volume-backup-completed.json"
            rows.append((f"{redelivered} (delivered again)", function.invoke(samples.load(redelivered))))
            # What an hourly schedule sends: the report over every compartment of the tenancy.
            tenancy_wide = {"action": "report", "compartmentId": emulator.tenancy_id, "subtree": True}
            rows.append(("report.json, whole tenancy (subtree)", function.invoke(tenancy_wide)))
            # The drill's first pass (drill.json, above) restored a copy; once OCI has it AVAILABLE, the next pass
            # (every 15 minutes on its schedule) finds it passed and deletes it.
            emulator.finish_restores()
            rows.append(("drill.json, its next pass", function.invoke(samples.load("drill.json"))))
        per_region = _copy_to_two_regions(emulator, {**principal.environment(), **settings})
        _print_table(rows)
        _print_sweep_order(emulator, missed)
        _print_expiry(emulator, expiring, unmarked)
        print(per_region)
        _print_recovery_points(next(answer.json() for name, answer in rows if name == "report.json"))
        _print_drill(emulator, next(answer.json() for name, answer in rows if name == "drill.json, its next pass"))
        _print_emulator_summary(emulator)
        failures = [name for name, answer in rows if answer.status != 200]
        if failures:
            print(f"\nUnexpected failures: {failures}", file=sys.stderr)
            return 1
    return 0


def _seed_backups_whose_events_were_never_sent(emulator: Emulator) -> list[str]:
    """Backups made while no rule existed: only the reconcile sweep (events/reconcile.json) finds them."""
    compartment = samples.load("reconcile.json")["compartmentId"]
    now = datetime.now(UTC)
    kinds = ["volume", "boot_volume", "volume_group"]
    missed = [
        emulator.add_backup(
            kinds[index % 3],
            SOURCE_REGION,
            compartment,
            display_name=f"nightly-{hours_ago}h-ago",
            time_created=now - timedelta(hours=hours_ago),
        )["id"]
        for index, hours_ago in enumerate((96, 72, 48, 30, 12, 2))
    ]
    # Outside the sweep's default 168-hour window: left alone, and said so.
    emulator.add_backup(
        "volume", SOURCE_REGION, compartment, display_name="old", time_created=now - timedelta(hours=200)
    )
    return missed


def _seed_copies_made_before(emulator: Emulator) -> None:
    """Two volumes whose copies were made in earlier days: one fresh, one whose newest copy is too old."""
    compartment = samples.load("report.json")["compartmentId"]
    now = datetime.now(UTC)
    for name, copied_hours_ago in (("app-data", 20), ("db-data", 40)):
        volume = f"ocid1.volume.oc1.phx.demo{name.replace('-', '')}"
        backup = emulator.add_backup(
            "volume",
            SOURCE_REGION,
            compartment,
            volume_id=volume,
            display_name=f"{name}-{copied_hours_ago}h-ago",
            time_created=now - timedelta(hours=copied_hours_ago),
        )
        emulator.add_backup(
            "volume",
            DESTINATION_REGION,
            compartment,
            source_backup_id=backup["id"],
            time_created=now - timedelta(hours=copied_hours_ago - 1),
        )
    # db-data's backup of 3 hours ago has no copy yet: the sweep copies it, and the report sees it in flight.
    emulator.add_backup(
        "volume",
        SOURCE_REGION,
        compartment,
        volume_id="ocid1.volume.oc1.phx.demodbdata",
        display_name="db-data-3h-ago",
        time_created=now - timedelta(hours=3),
    )


def _print_drill(emulator: Emulator, second_pass: dict[str, Any]) -> None:
    """The restore drill's two passes: what was restored, its verdict, and that it is gone again."""
    for drill in second_pass["drills"]:
        if drill["state"] != "passed":
            continue
        gone = emulator.volume(drill["restored"])["lifecycleState"]
        print(
            f"\nRestore drill (drill.json): the {drill['kind']} {drill['volume'][:40]}…'s newest copy in {drill['region']} "
            f"was restored and passed in {drill['restoreMinutes']:g} min (AVAILABLE, "
            f"{'hydrated' if drill['hydrated'] else 'not yet hydrated'}); the restored volume is now {gone}."
        )


def _print_recovery_points(report: dict[str, Any]) -> None:
    """The report's totals, and the worst volume of each status (the answer lists them worst first)."""
    totals = report["totals"]
    print(
        f"\nRecovery point (report.json), target {report['rpoTargetHours']:g} h: {totals['volumes']} volumes, "
        f"{totals['covered']} covered, {totals['breaching']} breaching, {totals['uncovered']} uncovered; "
        f"{report['metricsPosted']} metric streams posted. The worst of each:"
    )
    shown = set()
    for volume in report["volumes"]:
        if volume["status"] in shown:
            continue
        shown.add(volume["status"])
        [region] = volume["regions"][:1]
        in_flight = ", its newest backup's copy in flight" if region["inFlight"] else ""
        print(
            f"  {volume['status']:<10} {volume['kind']} {volume['displayName']}: {region['rpoHours']:.1f} h in "
            f"{region['destinationRegion']}{in_flight}"
        )


def _seed_copies_made_last_month(emulator: Emulator) -> tuple[str, str]:
    """Copies already in the DR region (events/expire.json's compartment): one this function made
    and marked last month, now past its expiry; a newer one of the same volume; and an old copy
    someone made by hand, which carries no mark and so is never this function's to delete."""
    compartment = samples.load("expire.json")["compartmentId"]
    now = datetime.now(UTC)
    volume = "ocid1.volume.oc1.phx.demovolumedemovolumedemovolumedemovolume"
    made: list[str] = []
    for days_ago, expires_in_days in ((40, -5), (3, 25)):
        source = emulator.add_backup(
            "volume",
            SOURCE_REGION,
            compartment,
            display_name=f"policy-{days_ago}d-ago",
            time_created=now - timedelta(days=days_ago),
            volume_id=volume,
            source_type="SCHEDULED",
            expiration_time=now + timedelta(days=expires_in_days),
        )
        copy_id = new_ocid("volumebackup", DESTINATION_REGION)
        rule = RetentionRule(DESTINATION_REGION, region_retention=None, default_days=None)
        mark = marks.mark_for(copy_id, _Backup(source), SPECS[BackupKind.VOLUME], rule)
        emulator.add_backup(
            "volume",
            DESTINATION_REGION,
            compartment,
            backup_id=copy_id,
            display_name=source["displayName"],
            time_created=now - timedelta(days=days_ago) + timedelta(hours=1),
            source_backup_id=source["id"],
            volume_id=volume,
            freeform_tags=mark.tags(),
        )
        made.append(copy_id)
    hand_source = emulator.add_backup(
        "volume", SOURCE_REGION, compartment, display_name="by-hand", time_created=now - timedelta(days=60)
    )
    hand_copy = emulator.add_backup(
        "volume",
        DESTINATION_REGION,
        compartment,
        display_name="by-hand-copy",
        time_created=now - timedelta(days=60),
        source_backup_id=hand_source["id"],
    )
    return made[0], hand_copy["id"]


def _copy_to_two_regions(emulator: Emulator, environment: dict[str, str]) -> str:
    """One policy backup copied to two destinations with different retention: its two copies expire apart."""
    key = region_retention_setting(VAULT_REGION)
    made = datetime.now(UTC).replace(microsecond=0)
    backup = emulator.add_backup(
        "volume",
        SOURCE_REGION,
        samples.load("expire.json")["compartmentId"],
        display_name="policy-today",
        time_created=made,
        source_type="SCHEDULED",
        expiration_time=made + timedelta(days=14),
    )
    settings = {**environment, "DESTINATION_REGION": f"{DESTINATION_REGION},{VAULT_REGION}", key: "90"}
    with FunctionProcess(settings) as function:
        answer = function.invoke({"backupId": backup["id"]}).json()
    expires = {copy["destinationRegion"]: copy.get("expires") for copy in answer.get("copies", [])}
    return (
        f"Retention per region ({key}=90): a policy backup made now, expiring in 14 days, has its copy in "
        f"{DESTINATION_REGION} expire {expires.get(DESTINATION_REGION)} (with its source), its copy in "
        f"{VAULT_REGION} {expires.get(VAULT_REGION)} (90 days after it was made)."
    )


class _Backup:
    """An emulator backup's JSON seen through the SDK model's attribute names, for marks.mark_for."""

    def __init__(self, resource: dict[str, Any]) -> None:
        self.id = resource["id"]
        self.volume_id = resource["volumeId"]
        self.time_created = datetime.fromisoformat(resource["timeCreated"].replace("Z", "+00:00"))
        self.expiration_time = datetime.fromisoformat(resource["expirationTime"].replace("Z", "+00:00"))


def _print_expiry(emulator: Emulator, expiring: str, unmarked: str) -> None:
    gone = emulator.backup(expiring)["lifecycleState"]
    kept = emulator.backup(unmarked)["lifecycleState"]
    print(
        f"Expiry: the copy this function marked last month, 5 days past its expiry, is now {gone}; "
        f"the older copy made by hand, unmarked, is still {kept}."
    )


def _print_sweep_order(emulator: Emulator, missed: list[str]) -> None:
    copied = [r.path.split("/")[3] for r in emulator.requests if r.operation == "copy" and r.status == 200]
    swept = [backup_id for backup_id in copied if backup_id in missed]
    print(
        f"\nThe sweep copied {len(swept)} of the {len(missed)} backups whose events were never sent, "
        f"oldest first: {'yes' if swept == missed else 'NO'}."
    )


def _seed_the_tenancy(emulator: Emulator) -> None:
    """The samples' compartment in the emulator's tenancy, a team's compartment below it with a backup not
    yet copied, and a retired (INACTIVE) compartment, whose backup no tenancy-wide run reads."""
    production = samples.load("report.json")["compartmentId"]
    emulator.add_compartment(emulator.tenancy_id, "production", compartment_id=production)
    team = emulator.add_compartment(production, "team-b")
    retired = emulator.add_compartment(emulator.tenancy_id, "retired", lifecycle_state="INACTIVE")
    for compartment in (team, retired):
        emulator.add_backup(
            "volume",
            SOURCE_REGION,
            compartment,
            display_name="team-data",
            time_created=datetime.now(UTC) - timedelta(hours=30),
        )


def _print_table(rows: list[tuple[str, FnResponse]]) -> None:
    header = ("request (events/)", "HTTP", "outcome", "detail")
    lines = [header] + [(name, str(answer.status), *_summarise(answer.json())) for name, answer in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(3)]
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)) + "  " + line[3])
        if index == 0:
            print("  ".join("-" * width for width in widths) + "  " + "-" * 40)


def _summarise(body: dict[str, Any]) -> tuple[str, str]:
    copies = body.get("copies") or []
    if body.get("outcome") in ("copied", "already_copied") and copies:
        detail = ", ".join(
            f"{c['destinationRegion']}: {c.get('copyId', '')[:40]}… ({c.get('copyState')})" for c in copies
        )
    elif "totals" in body:
        totals = body["totals"]
        detail = (
            f"{totals['volumes']} volumes: {totals['covered']} covered, {totals['breaching']} breaching, "
            f"{totals['uncovered']} uncovered; {body['metricsPosted']} metrics posted"
        ) + (f"; {body['compartmentsScanned']} compartments read" if body.get("subtree") else "")
    elif "scanned" in body:
        stopped = body["stoppedEarly"]
        detail = (
            f"scanned {body['scanned']}: copied {len(body['copied'])}, already copied {body['alreadyCopied']}, "
            f"skipped {_counted(body.get('skippedByReason') or {})}; {body['remaining']} left for the next run"
            + (f" (stopped early: {_words(stopped)})" if stopped else "")
        )
    elif "kept" in body:
        detail = (
            f"deleted {len(body['deleted'])}, kept {_counted(body['kept'])}; {body['remaining']} left for the next run"
            + "".join(f"; {d['copyId'][:40]}… (expired {d['expires']})" for d in body["deleted"])
        )
    elif body.get("action") == "drill":
        minutes = [d["restoreMinutes"] for d in body["drills"] if d["state"] == "passed"]
        detail = (
            f"started {body['started']}, in flight {body['inFlight']}, passed {body['passed']}, failed {body['failed']}, "
            f"deleted {body['deleted']}" + "".join(f"; restored in {m:g} min" for m in minutes)
        )
    elif "checks" in body:
        failing = [check["name"] for check in body["checks"] if not check["ok"]]
        detail = f"{len(body['checks']) - len(failing)} of {len(body['checks'])} checks pass" + (
            f"; failing: {', '.join(failing)}" if failing else ""
        )
    else:
        detail = body.get("reason") or json.dumps({k: v for k, v in body.items() if k not in ("callId",)})[:120]
    return str(body.get("outcome")), detail


def _counted(counts: dict[str, int]) -> str:
    """{'InProgress': 3, 'NotMarked': 1} as "3 in progress, 1 not marked": words, not a Python dict."""
    return ", ".join(f"{count} {_words(reason)}" for reason, count in counts.items()) or "none"


def _words(code: str) -> str:
    """A reason code (NotYetAvailable) or a snake_case value (max_copies) as lower-case words."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", code).replace("_", " ").lower()


def _print_emulator_summary(emulator: Emulator) -> None:
    requests = emulator.requests
    by_operation: dict[str, int] = {}
    for request in requests:
        by_operation[request.operation] = by_operation.get(request.operation, 0) + 1
    refused = sum(1 for request in requests if request.status == 401)
    copies = emulator.backups(DESTINATION_REGION)
    print(
        f"\nEmulator: {len(requests)} signed requests ({', '.join(f'{n} {op}' for op, n in sorted(by_operation.items()))}), "
        f"{refused} refused for a bad signature; {len(copies)} copies now in {DESTINATION_REGION}, "
        f"{len({c.get('sourceVolumeBackupId') or c.get('sourceBootVolumeBackupId') or c.get('sourceVolumeGroupBackupId') for c in copies})} distinct sources."
    )


if __name__ == "__main__":
    sys.exit(main())
