"""IAM enforced over HTTP: the deploy kit's statements, the real SDK and signer, the emulator's answers.

The statements are the kit's own output (`policies`, with a key and fan-out, and `metrics-policy`),
for one backups compartment; the caller is a resource principal whose function the kit's dynamic
group names. The operations are the calls the function makes, each on freshly seeded backups.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import oci
import pytest
from oci.core.models import (
    CopyBootVolumeBackupDetails,
    CopyVolumeBackupDetails,
    CopyVolumeGroupBackupDetails,
    UpdateBootVolumeBackupDetails,
    UpdateVolumeBackupDetails,
    UpdateVolumeGroupBackupDetails,
)
from oci.monitoring.models import Datapoint, MetricDataDetails, PostMetricDataDetails

from backup_copier.deploy_kit import cli as deploy
from blockstorage_emulator import Emulator, FunctionCall
from blockstorage_emulator.iam import PolicySyntaxError
from local_runtime.credentials import ResourcePrincipal, issue_resource_principal
from local_runtime.fdk_process import FnResponse
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import send_raw, service_error

FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaaiamenforcementfunction"
NAMESPACE = "backup_copier"
GROUP = "backup-copier"
PHX, IAD = SOURCE_REGION, DESTINATION_REGION
# The two statements whose grantee is a service, not the function: the emulator cannot see Block
# Volume's use of the key or Events' invocation of the function.
SERVICE_STATEMENTS = ("Allow service blockstorage to use keys", "Allow service cloudEvents to use functions-family")


@pytest.fixture(scope="module")
def function_principal(tmp_path_factory: pytest.TempPathFactory) -> ResourcePrincipal:
    return issue_resource_principal(tmp_path_factory.mktemp("iam-rp"), SOURCE_REGION, resource_id=FUNCTION_ID)


@dataclass
class Cloud:
    """A tenancy with a backups compartment, another one, the function and its key; clients signed as the function."""

    emulator: Emulator
    backups: str
    other: str
    functions: str
    key: str
    statements: list[str]
    groups: dict[str, str]

    signer: Any = None  # the function's, built once: building one per call costs ~50 ms
    _clients: dict[tuple[type, str], Any] = field(default_factory=dict)

    def _client(self, client_class: type, endpoint_template: str, region: str = PHX) -> Any:
        if (client_class, region) not in self._clients:
            self._clients[(client_class, region)] = client_class(
                {"region": region},
                signer=self.signer,
                service_endpoint=endpoint_template.format(region=region),
                retry_strategy=oci.retry.NoneRetryStrategy(),
            )
        return self._clients[(client_class, region)]

    def storage(self, region: str) -> oci.core.BlockstorageClient:
        return self._client(oci.core.BlockstorageClient, self.emulator.endpoint_template, region)

    def identity(self) -> oci.identity.IdentityClient:
        return self._client(oci.identity.IdentityClient, self.emulator.identity_endpoint_template)

    def monitoring(self) -> oci.monitoring.MonitoringClient:
        return self._client(oci.monitoring.MonitoringClient, self.emulator.metrics_endpoint_template)

    def functions_management(self) -> oci.functions.FunctionsManagementClient:
        return self._client(oci.functions.FunctionsManagementClient, self.emulator.functions_endpoint_template)

    def functions_invoke(self) -> oci.functions.FunctionsInvokeClient:
        return self._client(oci.functions.FunctionsInvokeClient, self.emulator.functions_invoke_endpoint_template)

    def signed_as(self, signer: Any) -> Cloud:
        """The same tenancy, with clients signed by another principal."""
        return replace(self, signer=signer, _clients={})

    def seed(self, kind: str, region: str, compartment: str | None = None) -> str:
        return str(self.emulator.add_backup(kind, region, compartment or self.backups)["id"])

    def post_metric(self, namespace: str = NAMESPACE, compartment: str | None = None) -> Any:
        metric = MetricDataDetails(
            namespace=namespace,
            compartment_id=compartment or self.backups,
            name="copy_rpo_hours",
            dimensions={"destinationRegion": IAD},
            datapoints=[Datapoint(timestamp=datetime.now(UTC), value=1.0)],
        )
        return self.monitoring().post_metric_data(PostMetricDataDetails(metric_data=[metric]))


def _answer(call: FunctionCall) -> FnResponse:
    return FnResponse(200, {"Content-Type": "application/json"}, b"{}")


@pytest.fixture
def cloud(
    emulator: Emulator, function_principal: ResourcePrincipal, use_principal: Callable[[ResourcePrincipal], None]
) -> Cloud:
    emulator.trust(function_principal.token, function_principal.public_key_pem)
    use_principal(function_principal)
    emulator.copy_limit = None  # the operations copy again and again; the limit is not what is tested
    backups = emulator.add_compartment(emulator.tenancy_id, "backups")
    functions = emulator.add_compartment(emulator.tenancy_id, "functions")
    key = emulator.add_kms_key(IAD)
    emulator.add_function(PHX, functions, function_id=FUNCTION_ID)
    emulator.serve_function(FUNCTION_ID, _answer)
    policies = [
        "policies",
        "--source-region",
        "phx",
        "--destination",
        "iad",
        "--compartment",
        backups,
        "--kms-key",
        key,
    ]
    statements = json.loads(deploy.render([*policies, "--function-compartment", functions, "--fan-out", "--json"]))
    statements += json.loads(
        deploy.render(["metrics-policy", "--compartment", backups, "--namespace", NAMESPACE, "--json"])
    )
    groups = {GROUP: deploy.render(["dynamic-group", "--function-id", FUNCTION_ID]).strip()}
    emulator.enforce_policies(statements, groups)
    other = emulator.add_compartment(emulator.tenancy_id, "other")
    signer = oci.auth.signers.get_resource_principals_signer()
    return Cloud(emulator, backups, other, functions, key, statements, groups, signer)


_COPY_DETAILS = {
    "volume": CopyVolumeBackupDetails,
    "boot_volume": CopyBootVolumeBackupDetails,
    "volume_group": CopyVolumeGroupBackupDetails,
}
_UPDATE_DETAILS = {
    "volume": UpdateVolumeBackupDetails,
    "boot_volume": UpdateBootVolumeBackupDetails,
    "volume_group": UpdateVolumeGroupBackupDetails,
}


def _kind_operations(kind: str) -> dict[str, Callable[[Cloud], Any]]:
    """What the function does with one kind of backup: find, copy, mark, expire."""

    def method(cloud: Cloud, region: str, verb: str) -> Any:
        return getattr(cloud.storage(region), f"{verb}_{kind}_backup{'s' if verb == 'list' else ''}")

    def copy(cloud: Cloud) -> Any:
        details = _COPY_DETAILS[kind](destination_region=IAD, kms_key_id=cloud.key)
        return method(cloud, PHX, "copy")(cloud.seed(kind, PHX), details)

    def update(region: str) -> Callable[[Cloud], Any]:
        return lambda cloud: method(cloud, region, "update")(
            cloud.seed(kind, region), _UPDATE_DETAILS[kind](freeform_tags={"backup-copier-copy": "true"})
        )

    return {
        f"list {kind} backups in {PHX}": lambda cloud: method(cloud, PHX, "list")(compartment_id=cloud.backups),
        f"list {kind} backups in {IAD}": lambda cloud: method(cloud, IAD, "list")(compartment_id=cloud.backups),
        f"get a {kind} backup in {PHX}": lambda cloud: method(cloud, PHX, "get")(cloud.seed(kind, PHX)),
        f"get a {kind} backup in {IAD}": lambda cloud: method(cloud, IAD, "get")(cloud.seed(kind, IAD)),
        f"copy a {kind} backup": copy,
        f"mark a {kind} backup in {PHX}": update(PHX),
        f"mark a {kind} backup in {IAD}": update(IAD),
        f"delete a {kind} backup in {IAD}": lambda cloud: method(cloud, IAD, "delete")(cloud.seed(kind, IAD)),
    }


OPERATIONS: dict[str, Callable[[Cloud], Any]] = {
    **_kind_operations("volume"),
    **_kind_operations("boot_volume"),
    **_kind_operations("volume_group"),
    "ListCompartments": lambda cloud: cloud.identity().list_compartments(
        cloud.emulator.tenancy_id, compartment_id_in_subtree=True
    ),
    "PostMetricData": lambda cloud: cloud.post_metric(),
    "GetFunction": lambda cloud: cloud.functions_management().get_function(FUNCTION_ID),
    "InvokeFunction": lambda cloud: cloud.functions_invoke().invoke_function(FUNCTION_ID, invoke_function_body=b"{}"),
}


def _refused(cloud: Cloud) -> dict[str, tuple[int, str]]:
    """Each operation the current statements refuse, with its status and code."""
    refused = {}
    for name, operation in OPERATIONS.items():
        try:
            operation(cloud)
        except oci.exceptions.ServiceError as error:
            refused[name] = (error.status, error.code)
    return refused


def test_the_kit_s_statements_allow_everything_the_function_does(cloud: Cloud) -> None:
    assert _refused(cloud) == {}
    assert not [request for request in cloud.emulator.requests if request.status == 404]


def test_a_copy_in_the_backups_compartment_is_allowed_and_in_another_is_refused_as_oci_refuses(cloud: Cloud) -> None:
    storage = cloud.storage(PHX)
    copied = storage.copy_volume_backup(cloud.seed("volume", PHX), CopyVolumeBackupDetails(destination_region=IAD))
    assert copied.status == 200

    elsewhere = cloud.seed("volume", PHX, cloud.other)
    error = service_error(storage.copy_volume_backup, elsewhere, CopyVolumeBackupDetails(destination_region=IAD))

    assert (error.status, error.code, error.message) == (
        404,
        "NotAuthorizedOrNotFound",
        "Authorization failed or requested resource not found.",
    )
    assert cloud.emulator.copies_of(elsewhere) == []
    refusal = cloud.emulator.requests[-1]
    assert (refusal.operation, refusal.kind, refusal.status, refusal.error_code) == (
        "copy",
        "volume",
        404,
        "NotAuthorizedOrNotFound",
    )
    assert refusal.detail is not None and f"VOLUME_BACKUP_COPY in {cloud.other} ({PHX})" in refusal.detail
    assert refusal.headers["authorization"] == "<redacted>"


def test_listing_another_compartment_is_refused_and_a_missing_backup_looks_the_same(cloud: Cloud) -> None:
    storage = cloud.storage(PHX)
    listed = service_error(storage.list_volume_backups, compartment_id=cloud.other)
    missing = service_error(storage.get_volume_backup, "ocid1.volumebackup.oc1.phx.aaaaaaaadoesnotexist")
    assert (listed.status, listed.code, listed.message) == (missing.status, missing.code, missing.message)


def test_metrics_are_allowed_only_in_the_granted_namespace_and_compartment(cloud: Cloud) -> None:
    assert cloud.post_metric().status == 200
    for error in (
        service_error(cloud.post_metric, "other_namespace"),
        service_error(cloud.post_metric, NAMESPACE, cloud.other),
    ):
        assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")
    assert [metric.namespace for metric in cloud.emulator.posted_metrics()] == [NAMESPACE]


def test_removing_any_single_statement_refuses_an_operation_the_function_needs(cloud: Cloud) -> None:
    refused_without: dict[str, dict[str, tuple[int, str]]] = {}
    for statement in cloud.statements:
        cloud.emulator.enforce_policies([kept for kept in cloud.statements if kept != statement], cloud.groups)
        refused_without[statement] = _refused(cloud)

    unchecked = [statement for statement, refused in refused_without.items() if not refused]
    assert [statement.split(" in ")[0] for statement in unchecked] == list(SERVICE_STATEMENTS), unchecked
    assert {answer for refused in refused_without.values() for answer in refused.values()} == {
        (404, "NotAuthorizedOrNotFound")
    }

    def refused_by(fragment: str) -> set[str]:
        [statement] = [statement for statement in cloud.statements if fragment in statement]
        return set(refused_without[statement])

    copies = {f"copy a {kind} backup" for kind in ("volume", "boot_volume", "volume_group")}
    assert refused_by("'VOLUME_BACKUP_COPY'") == {"copy a volume backup", "copy a volume_group backup"}
    assert refused_by("'BOOT_VOLUME_BACKUP_COPY'") == {"copy a boot_volume backup"}
    assert refused_by("key-delegate") == copies
    assert refused_by("'VOLUME_BACKUP_DELETE'") == {
        "delete a volume backup in us-ashburn-1",
        "delete a volume_group backup in us-ashburn-1",
    }
    assert refused_by("inspect volumes") >= {
        f"get a {kind} backup in {region}" for kind in ("volume", "boot_volume") for region in (PHX, IAD)
    }
    assert refused_by("inspect compartments") == {"ListCompartments"}
    assert refused_by("use metrics") == {"PostMetricData"}
    assert refused_by("read fn-function") == {"GetFunction"}
    assert refused_by("use fn-invocation") == {"InvokeFunction"}


def test_a_principal_the_dynamic_group_does_not_match_is_refused_everything(
    emulator: Emulator, cloud: Cloud, principal: ResourcePrincipal, use_principal: Callable[[ResourcePrincipal], None]
) -> None:
    use_principal(principal)  # the session's principal: another function
    assert set(_refused(cloud.signed_as(oci.auth.signers.get_resource_principals_signer()))) == set(OPERATIONS)


def test_a_statement_the_emulator_cannot_evaluate_switches_nothing_on(emulator: Emulator, cloud: Cloud) -> None:
    emulator.stop_enforcing_policies()
    with pytest.raises(PolicySyntaxError, match=r"request\.utc-timestamp"):
        emulator.enforce_policies(
            [
                "Allow dynamic-group backup-copier to read metrics in tenancy where request.utc-timestamp after '2020-01-01Z'"
            ],
            cloud.groups,
        )
    assert _refused(cloud) == {}


def test_enforcement_is_off_by_default_and_allow_all_switches_it_off(
    emulator: Emulator, cloud: Cloud, function_principal: ResourcePrincipal
) -> None:
    elsewhere = cloud.seed("volume", PHX, cloud.other)
    emulator.allow_all()
    assert cloud.storage(PHX).get_volume_backup(elsewhere).status == 200
    with Emulator() as fresh:  # what every other test relies on: no policy, no refusal
        fresh.trust(function_principal.token, function_principal.public_key_pem)
        unseen = fresh.add_backup("volume", PHX, "ocid1.compartment.oc1..aaaaaaaanopolicyanywhere")["id"]
        assert replace(cloud, emulator=fresh, _clients={}).storage(PHX).get_volume_backup(unseen).status == 200


def test_an_unauthenticated_request_is_still_401_before_any_policy_is_consulted(cloud: Cloud) -> None:
    status, _, body = send_raw(cloud.emulator, "GET", f"/{PHX}/20160918/volumeBackups?compartmentId={cloud.other}")
    assert (status, body["code"]) == (401, "NotAuthenticated")


def test_a_second_policy_attached_to_a_compartment_adds_its_statements(emulator: Emulator, cloud: Cloud) -> None:
    elsewhere = cloud.seed("volume", PHX, cloud.other)
    storage = cloud.storage(PHX)
    assert service_error(storage.get_volume_backup, elsewhere).status == 404
    emulator.add_policy(
        [f"Allow dynamic-group {GROUP} to inspect volume-family in compartment id {cloud.other}"],
        compartment_id=cloud.other,
    )
    assert storage.get_volume_backup(elsewhere).status == 200
