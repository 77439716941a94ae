"""`{"action": "check"}`: can this deployment copy backups? Answered without making a copy.

What an operator runs right after `fn deploy`. It reads the settings and the resource
principal itself, so a broken deployment is reported item by item instead of failing on
the first error, then lists (and reads one of) each kind of backup in the source region
and in every destination region, with the same clients and retry strategy the copy uses.
A refusal there is the 404 NotAuthorizedOrNotFound a missing IAM statement produces, and
the failing item names the statement (iam.py) that grants what is missing.

With `"drill": true` it also proves the restore drill's reads in each destination region
(ListAvailabilityDomains, ListVolumes), naming the statement a refusal lacks; it restores nothing.

Since the report and the sweep post metrics, it also posts one datapoint to Monitoring in
each compartment it lists: nothing short of a post proves the `use metrics` grant. And since
they can cover a whole tenancy ("subtree": true), it lists one page of the tenancy's
compartments, which proves `inspect compartments in tenancy`.

What it cannot prove without copying, it says so, each as an item of its own marked
`"verified": false`: the copy permissions (naming the copy statements to verify) and whether Block
Volume may use a destination KMS key are only decided by Oracle when a copy runs.

It lists the compartments the function copies from (SOURCE_COMPARTMENT_IDS) when they are set;
otherwise the function's own compartment, and says so in an item of its own, with how to check
others. Every fix names the compartment and region its statements are for, and the dynamic group
they grant is always `iam.DEFAULT_DYNAMIC_GROUP`, the name the deploy kit gives it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from oci import exceptions as oci_exceptions

from ..shared.clients import BlockStorageClients, IdentityClients, MonitoringClients, resource_principal_signer
from ..shared.context import Invocation
from ..shared.errors import CopierError, InvalidRequest, InvalidSetting
from ..shared.kinds import SPECS, KindSpec
from ..shared.metrics import PREFLIGHT, Metric, publish, use_metrics_statement
from ..shared.ocids import parse_ocid
from ..shared.outcomes import SERVICE_FAILURES, setting_fix, verdict_for
from ..shared.request import Request
from ..shared.result import InvocationResult, Outcome
from ..shared.retries import RetriesExhausted
from ..shared.settings import Settings, kms_key_setting, load_settings
from . import drill, fan_out, iam

MAX_COMPARTMENTS = 10
_FIELDS = frozenset({"action", "compartmentIds", "drill"})
_SUBNET_FIX = (
    "Give the function application's subnet a route to the Oracle Services Network (a service gateway, "
    "or a NAT gateway), and allow egress to it on port 443 in its security list"
)


@dataclass(frozen=True)
class Listed:
    """The compartments the check lists, and why these: what every read item and fix says."""

    ids: tuple[str, ...]
    why: str
    # The function's own compartment, listed only because SOURCE_COMPARTMENT_IDS is not set: it
    # may hold no backup at all, so a fix granting access there must say so.
    fallback: bool = False

    def fix(self, compartment: str, region: str, statements: list[str]) -> str:
        """The statements that grant what failed, after a line naming their compartment and region."""
        if self.fallback:
            heading = (
                f"For compartment {compartment}, the function's own compartment, in {region}. It was checked "
                "because SOURCE_COMPARTMENT_IDS is not set; if your backups are in other compartments, set "
                "SOURCE_COMPARTMENT_IDS to them (or send compartmentIds) and run the check again instead. To grant "
                "it here, add to the function's policy:"
            )
        else:
            heading = f"For compartment {compartment} ({self.why}), in {region}, add to the function's policy:"
        return "\n".join([heading, *statements])


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    # False when the item can only be partly checked without making a copy.
    verified: bool = True

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "ok": self.ok, "detail": self.detail}
        if self.fix:
            body["fix"] = self.fix
        if not self.verified:
            body["verified"] = False
        return body


def parse(document: dict[str, Any]) -> CheckRequest:
    """`{"action": "check", "compartmentIds": [...], "drill": true}`; compartmentIds and drill are optional."""
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        raise InvalidRequest(unknown[0], "is not a field of this request", "InvalidField")
    values = document.get("compartmentIds", [])
    if not isinstance(values, list) or len(values) > MAX_COMPARTMENTS:
        raise InvalidRequest(
            "compartmentIds", f"expected a list of at most {MAX_COMPARTMENTS} compartment OCIDs", "InvalidField"
        )
    ids = tuple(
        parse_ocid(value, field="compartmentIds", types={"compartment", "tenancy"}, regional=False).value
        for value in values
    )
    drills = document.get("drill", False)
    if not isinstance(drills, bool):
        raise InvalidRequest("drill", "expected true (also prove the restore drills' reads) or false", "InvalidField")
    return CheckRequest(ids, drills)


@dataclass
class CheckRequest(Request):
    compartment_ids: tuple[str, ...] = ()
    # Also prove the restore drill's reads in each destination region (deploy_kit/drill.py).
    drill: bool = False
    event_id: str | None = None

    def execute(self, invocation: Invocation) -> InvocationResult:
        checks: list[Check] = []
        settings = _settings(checks)
        signer = _signer(checks)
        source_region = None
        if settings is not None and signer is not None:
            clients = BlockStorageClients(settings, signer)
            source_region = clients.home_region
            listed = self._compartments(settings, signer)
            checks.append(_listed_item(listed))
            # Metrics first: one quick post, which the list calls below could otherwise leave no time for.
            _check_metrics(checks, settings, signer, source_region, listed, invocation)
            _check_regions(checks, settings, clients, listed, invocation)
            _check_compartments(checks, settings, signer, source_region, invocation)
            if source_region is not None:
                checks.append(_copy_permissions(settings, source_region, listed))
            if self.drill:
                checks += [
                    Check(name, ok, f"{detail} ({listed.why})" if ok else detail, fix)
                    for name, ok, detail, fix in drill.check_reads(settings, signer, listed.ids, invocation)
                ]
        if settings is not None and settings.fan_out and signer is not None:
            checks += _fan_out_checks(settings, signer, source_region, invocation)
        if settings is not None:
            checks.append(_retention(settings))
        failed = [check.name for check in checks if not check.ok]
        result = InvocationResult(
            outcome=Outcome.NOT_READY if failed else Outcome.READY,
            reason_code="NotReady" if failed else "Ready",
            reason=(
                f"{len(failed)} of {len(checks)} checks failed: {'; '.join(failed)}. Each failing check has a fix."
                if failed
                else f"all {len(checks)} checks passed; no copy was made"
            ),
            source_region=source_region,
            extra={"checks": [check.to_json() for check in checks]},
        )
        return result

    def _compartments(self, settings: Settings, signer: Any) -> Listed:
        """Where to list, and why there: the backups' compartments prove the policy, when known."""
        if self.compartment_ids:
            return Listed(self.compartment_ids, "compartmentIds of the request")
        if settings.source_compartment_ids:
            return Listed(settings.source_compartment_ids, "SOURCE_COMPARTMENT_IDS")
        own = _claim(signer, "res_compartment")
        if own:
            return Listed(
                (own,), "the function's own compartment, since SOURCE_COMPARTMENT_IDS is not set", fallback=True
            )
        return Listed((), "no compartment: the resource principal names none")


_CHECK_OTHERS = (
    'send {"action": "check", "compartmentIds": ["<backups-compartment-ocid>", ...]} to check the compartments '
    "your backups are in, or set SOURCE_COMPARTMENT_IDS to them (fn config function <app> <function> "
    "SOURCE_COMPARTMENT_IDS <ocid>[,<ocid>...]), which the check then lists"
)


def _listed_item(listed: Listed) -> Check:
    """Which compartments the read items below listed, and how to check others."""
    name = "compartments checked"
    if not listed.ids:
        return Check(name, False, listed.why, _CHECK_OTHERS)
    ids = ", ".join(listed.ids)
    if listed.fallback:
        return Check(
            name,
            True,
            f"only {ids}, the function's own compartment: SOURCE_COMPARTMENT_IDS is not set, so the function copies "
            "the backups of every compartment its Events rule covers, which the check cannot know. Items that pass "
            f"here prove nothing about the compartments your backups are in; {_CHECK_OTHERS}",
            verified=False,
        )
    if listed.why == "SOURCE_COMPARTMENT_IDS":
        return Check(name, True, f"{ids}: SOURCE_COMPARTMENT_IDS, the compartments the function copies from")
    return Check(name, True, f"{ids}: the request's compartmentIds")


def _copy_permissions(settings: Settings, source_region: str, listed: Listed) -> Check:
    """The copy statements, named: only a copy proves them, and the check never copies."""
    destinations = [region for region in settings.destination_regions if region != source_region]
    compartments = [None] if listed.fallback or not listed.ids else list(listed.ids)
    statements = [
        line
        for compartment in compartments
        for line in iam.copy_statements(
            source_region, destinations, compartment or "<backups-compartment-ocid>", iam.DEFAULT_DYNAMIC_GROUP
        )
    ]
    source_permissions = sorted({p for spec in SPECS.values() for p in spec.copy_source_permissions})
    created = sorted({spec.copy_destination_permission for spec in SPECS.values()})
    return Check(
        f"copy: {source_region} to {', '.join(destinations) or 'no other region'}",
        True,
        "not verified: the check cannot prove the copy permissions without copying, and it never copies. A copy "
        f"request is sent to the source region, {source_region}, which needs {', '.join(source_permissions)} on the "
        f"backup's compartment; each destination ({', '.join(destinations)}) needs {', '.join(created)} there. "
        "Verify that the function's policy holds the copy statements of `.venv/bin/python -m "
        "backup_copier.deploy_kit policies` (in fix). A copy they refuse answers failed naming the permission and "
        "the region.",
        "\n".join(statements),
        verified=False,
    )


def _fan_out_checks(settings: Settings, signer: Any, region: str | None, invocation: Invocation) -> list[Check]:
    """FAN_OUT=on: the function can read itself and gives children more time; invoking is not tried."""
    ok, detail, fix = fan_out.check_own_function(settings, signer, region, invocation, os.environ)
    note, statement = fan_out.invoke_note(_claim(signer, "res_compartment"))
    return [
        Check("fan-out: the function reads itself", ok, detail, fix),
        Check("fan-out: the function invokes itself", True, note, statement, verified=False),
    ]


def _settings(checks: list[Check]) -> Settings | None:
    try:
        settings = load_settings(os.environ)
    except InvalidSetting as error:
        checks.append(Check("settings", False, error.message, setting_fix(error)))
        return None
    checks.append(Check("settings", True, f"valid; copies go to {', '.join(settings.destination_regions)}"))
    return settings


def _retention(settings: Settings) -> Check:
    """What the expiry pass will do with these settings; the permissions only show when it runs."""
    rules = "; ".join(
        f"into {region}, {settings.retention_for(region).describe()}" for region in settings.destination_regions
    )
    detail = (
        f"each copy is marked with its expiry when made, by its destination region's rule: {rules}. "
        f'The expiry pass ({{"action": "expire"}}, on a schedule: docs/retention.md) deletes only marked copies past '
        f"their expiry, and always keeps the newest {settings.keep_last_copies} AVAILABLE "
        f"cop{'y' if settings.keep_last_copies == 1 else 'ies'} of each volume in each region"
        + (" (DRY_RUN is on: it deletes nothing)" if settings.dry_run else "")
        + ", and records each copy it deletes on that copy's source, so that it is not copied again. Whether the "
        "function may tag copies and their sources, and delete copies, is decided only when it does: the mark "
        "statements (UPDATE in the source and destination regions) and the delete statements come from "
        "`python -m backup_copier.deploy_kit policies`."
    )
    return Check("retention", True, detail, verified=False)


def _signer(checks: list[Check]) -> Any:
    try:
        signer = resource_principal_signer()
    except CopierError as error:
        checks.append(
            Check(
                "resource principal",
                False,
                error.message,
                "Invoke the function in OCI Functions (`fn invoke`), which provides the resource principal; "
                "locally, set OCI_RESOURCE_PRINCIPAL_VERSION, _RPST, _PRIVATE_PEM and _REGION",
            )
        )
        return None
    checks.append(Check("resource principal", True, f"available; the function runs in {signer.region}"))
    return signer


def _claim(signer: Any, name: str) -> str | None:
    try:
        value = signer.get_claim(name)
    except Exception:
        return None
    return value if isinstance(value, str) and value else None


def _check_regions(
    checks: list[Check],
    settings: Settings,
    clients: BlockStorageClients,
    listed: Listed,
    invocation: Invocation,
) -> None:
    source = clients.home_region
    if source is None or not listed.ids:
        return  # the compartments checked item says why nothing was listed
    if source in settings.destination_regions:
        checks.append(
            Check(
                "destination regions",
                False,
                f"DESTINATION_REGION includes {source}, the region the function (and its backups) are in",
                f"fn config function <app> <function> DESTINATION_REGION <regions other than {source}>",
            )
        )
    function_compartment = _claim(clients.signer, "res_compartment")
    roles = [(source, "source")] + [(r, "destination") for r in settings.destination_regions if r != source]
    for region, role in roles:
        _check_region(checks, clients, region, role, listed, function_compartment, invocation)
    for region in settings.destination_regions:
        key = settings.kms_key_ids.get(region)
        if key:
            checks.append(
                Check(
                    f"KMS key for {region}",
                    True,
                    f"{kms_key_setting(region)} is a key OCID in {region}, as a copy into {region} needs. Whether "
                    "Block Volume may encrypt with it is decided only when a copy runs (reading the key would need "
                    "a wider grant than copying does), so that part is not verified here. The copy needs: "
                    + " | ".join(iam.kms_statements(key)),
                    verified=False,
                )
            )


def _check_metrics(
    checks: list[Check],
    settings: Settings,
    signer: Any,
    region: str | None,
    listed: Listed,
    invocation: Invocation,
) -> None:
    """Post one datapoint of a metric no alarm watches: only a real post proves METRIC_WRITE for the namespace."""
    namespace = settings.metrics_namespace
    if not settings.metrics_enabled:
        checks.append(
            Check("metrics", True, "METRICS is off: the report and the sweep post nothing, so nothing to check")
        )
        return
    monitoring = MonitoringClients(settings, signer)
    for compartment in listed.ids:
        name = f"metrics {region}: post to namespace {namespace}"
        datapoint = Metric(PREFLIGHT, {"check": "metrics"}, 1)
        outcome = publish(settings, monitoring, region, invocation, compartment, [datapoint])
        if outcome.posted:
            checks.append(
                Check(
                    name,
                    True,
                    f"posted one {PREFLIGHT} datapoint (no alarm watches it) in compartment {compartment} "
                    f"({listed.why})",
                )
            )
        elif outcome.reason_code in ("NotAuthorizedOrNotFound", "NotAuthorized"):
            # Its own words, not the post's reason: that names the statement with a placeholder group.
            checks.append(
                Check(
                    name,
                    False,
                    f"PostMetricData in {region}, compartment {compartment}: {outcome.reason_code}; the dynamic group "
                    f"{iam.DEFAULT_DYNAMIC_GROUP} lacks METRIC_WRITE for the namespace {namespace} there",
                    listed.fix(
                        compartment,
                        region or "the function's region",
                        [use_metrics_statement(compartment, namespace, iam.DEFAULT_DYNAMIC_GROUP)],
                    ),
                )
            )
        else:
            fix = _SUBNET_FIX if outcome.reason_code == "ConnectionFailed" else "See the detail; run the check again"
            checks.append(Check(name, False, f"compartment {compartment}: {outcome.reason}", fix))


def _check_compartments(
    checks: list[Check], settings: Settings, signer: Any, region: str | None, invocation: Invocation
) -> None:
    """One ListCompartments call on the tenancy: what a tenancy-wide sweep, expiry or report needs first."""
    name = 'compartments: list the tenancy\'s compartments (for "subtree": true)'
    tenancy = _claim(signer, "res_tenant")
    if region is None or tenancy is None:
        checks.append(Check(name, False, "the resource principal names no tenancy or region", None))
        return
    client = IdentityClients(settings, signer).for_region(region)
    try:
        listed = client.list_compartments(
            tenancy,
            limit=1,
            access_level="ANY",
            compartment_id_in_subtree=True,
            lifecycle_state="ACTIVE",
            retry_strategy=invocation.retry_strategy,
        )
    except SERVICE_FAILURES as error:
        verdict = verdict_for(error, action="list the tenancy's compartments", region=region)
        cause = error.last_error if isinstance(error, RetriesExhausted) else error
        detail, fix = verdict.reason or "", "See the detail; run the check again"
        if isinstance(cause, oci_exceptions.ServiceError) and cause.status in (401, 403, 404):
            # Its own words: the general verdict would say to run the check, which is what is running.
            detail = (
                f"ListCompartments in {region}, tenancy {tenancy}: {cause.status} {cause.code}, which is how OCI "
                f"reports a missing permission; the dynamic group {iam.DEFAULT_DYNAMIC_GROUP} needs "
                f"{', '.join(iam.INSPECT_COMPARTMENTS.permissions)} in the tenancy"
            )
            fix = (
                "In the tenancy's root compartment (compartments are global: one statement serves every region, "
                f"{region} included), add to the function's policy:\n{iam.inspect_compartments_statement()}"
            )
        if verdict.reason_code == "ConnectionFailed":
            fix = _SUBNET_FIX
        checks.append(Check(name, False, detail, fix))
        return
    found = "at least one ACTIVE compartment" if listed.data else "no compartment below the tenancy yet"
    checks.append(Check(name, True, f"listed the tenancy's compartments in {region}: {found}"))


def _check_region(
    checks: list[Check],
    clients: BlockStorageClients,
    region: str,
    role: str,
    listed: Listed,
    function_compartment: str | None,
    invocation: Invocation,
) -> None:
    client = clients.for_region(region)
    for compartment in listed.ids:
        for spec in SPECS.values():
            check = _readable(client, spec, region, role, compartment, listed, function_compartment, invocation)
            checks.append(check)
            if check.fix == _SUBNET_FIX:
                # Unreachable for one kind is unreachable for all: say it once, not per kind.
                return


def _readable(
    client: Any,
    spec: KindSpec,
    region: str,
    role: str,
    compartment: str,
    listed: Listed,
    function_compartment: str | None,
    invocation: Invocation,
) -> Check:
    label = spec.kind.value.replace("_", " ")
    name = f"{role} {region}: read {label} backups"
    operation = _api_name(spec.list_operation)
    try:
        page = getattr(client, spec.list_operation)(compartment, limit=1, retry_strategy=invocation.retry_strategy).data
        if page:
            operation = _api_name(spec.get_operation)
            getattr(client, spec.get_operation)(page[0].id, retry_strategy=invocation.retry_strategy)
    except (oci_exceptions.ServiceError, oci_exceptions.RequestException, oci_exceptions.ConnectTimeout) as error:
        return _refused(name, error, spec, region, role, compartment, listed, operation, function_compartment)
    except RetriesExhausted as error:
        return _refused(
            name, error.last_error, spec, region, role, compartment, listed, operation, function_compartment
        )
    read = f"{operation} answered" if page else f"{operation} answered (no {label} backup there yet)"
    return Check(name, True, f"{read} in compartment {compartment} ({listed.why})")


def _refused(
    name: str,
    error: BaseException,
    spec: KindSpec,
    region: str,
    role: str,
    compartment: str,
    listed: Listed,
    operation: str,
    function_compartment: str | None,
) -> Check:
    where = f"{operation} in {region}, compartment {compartment}"
    if isinstance(error, oci_exceptions.ServiceError) and error.status == 404:
        permissions = sorted({p for grant in iam.find_grants([spec.kind]) for p in grant.permissions})
        return Check(
            name,
            False,
            f"{where}: 404 NotAuthorizedOrNotFound, which is how OCI reports a missing permission; "
            f"the dynamic group {iam.DEFAULT_DYNAMIC_GROUP} needs {' and '.join(permissions)} there",
            listed.fix(compartment, f"{region} (the {role} region)", iam.find_statements(spec, region, compartment)),
        )
    if isinstance(error, oci_exceptions.ServiceError) and error.status == 401:
        rule = (
            iam.dynamic_group_rule(compartment_id=function_compartment)
            if function_compartment
            else "ALL {resource.type = 'fnfunc', resource.id = '<function OCID>'}"
        )
        return Check(
            name,
            False,
            f"{where}: 401 NotAuthenticated; the resource principal was refused",
            f"Make the dynamic group '{iam.DEFAULT_DYNAMIC_GROUP}' match this function, e.g. with the rule {rule}",
        )
    verdict = verdict_for(error, action=where, region=region)
    if verdict.reason_code == "ConnectionFailed":
        return Check(name, False, verdict.reason, _SUBNET_FIX)
    return Check(name, False, verdict.reason, "See the detail; run the check again once it is resolved")


def _api_name(sdk_operation: str) -> str:
    """`list_volume_backups` -> `ListVolumeBackups`, the name Oracle's policy reference uses."""
    return "".join(part.capitalize() for part in sdk_operation.split("_"))
