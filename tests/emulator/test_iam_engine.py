"""The emulator's IAM decisions, in process: verbs and permissions, subjects, locations, conditions.

Each test asks the engine about one Check (a permission, where); access.py decides which checks a
request needs (test_iam_access.py) and the HTTP tests prove the gate answers with them
(test_iam_enforcement.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jwt
import pytest

from blockstorage_emulator.functions import FunctionsService
from blockstorage_emulator.iam import Check, EmulatorWorld, PolicyEngine, PolicySyntaxError, Principal
from blockstorage_emulator.iam.permissions import granted
from blockstorage_emulator.identity import DEFAULT_TENANCY_ID, Directory
from blockstorage_emulator.models import Backend
from blockstorage_emulator.signature import TrustStore
from local_runtime.credentials import issue_resource_principal

FUNCTION = "ocid1.fnfunc.oc1.phx.aaaaaaaafunction"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafunctions"
OTHER_FUNCTION = "ocid1.fnfunc.oc1.phx.aaaaaaaaother"
RULE = f"ALL {{resource.type = 'fnfunc', resource.id = '{FUNCTION}'}}"
ME = Principal(id=FUNCTION, type="fnfunc", compartment_id=FUNCTION_COMPARTMENT)
SOMEONE_ELSE = Principal(id=OTHER_FUNCTION, type="fnfunc", compartment_id=FUNCTION_COMPARTMENT)
REGION = "us-phoenix-1"


class Tenancy:
    """A tenancy: Prod > Backups > Daily, and Dev beside Prod."""

    def __init__(self) -> None:
        self.directory = Directory(DEFAULT_TENANCY_ID)
        self.world = EmulatorWorld(Backend(), self.directory, FunctionsService(TrustStore()))
        self.prod = self.directory.add(DEFAULT_TENANCY_ID, "Prod")
        self.backups = self.directory.add(self.prod, "Backups")
        self.daily = self.directory.add(self.backups, "Daily")
        self.dev = self.directory.add(DEFAULT_TENANCY_ID, "Dev")

    def engine(
        self, *statements: str, groups: Mapping[str, str] | None = None, attached: str | None = None
    ) -> PolicyEngine:
        engine = PolicyEngine(self.world, {"dg": RULE} if groups is None else groups)
        engine.add_policy(statements, attached)
        return engine


@pytest.fixture
def tenancy() -> Tenancy:
    return Tenancy()


def check(permission: str, compartment: str, region: str = REGION, **variables: str) -> Check:
    return Check(permission, compartment, region, {name.replace("__", "."): value for name, value in variables.items()})


@pytest.mark.parametrize(
    ("verb", "allowed", "refused"),
    [
        ("inspect", ["VOLUME_BACKUP_INSPECT"], ["VOLUME_BACKUP_READ", "VOLUME_BACKUP_COPY"]),
        ("read", ["VOLUME_BACKUP_INSPECT", "VOLUME_BACKUP_READ"], ["VOLUME_BACKUP_COPY", "VOLUME_BACKUP_UPDATE"]),
        ("use", ["VOLUME_BACKUP_READ", "VOLUME_BACKUP_COPY", "VOLUME_BACKUP_UPDATE"], ["VOLUME_BACKUP_CREATE"]),
        ("manage", ["VOLUME_BACKUP_COPY", "VOLUME_BACKUP_CREATE", "VOLUME_BACKUP_DELETE"], ["BOOT_VOLUME_BACKUP_READ"]),
    ],
)
def test_the_verbs_are_cumulative(tenancy: Tenancy, verb: str, allowed: list[str], refused: list[str]) -> None:
    engine = tenancy.engine(f"Allow dynamic-group dg to {verb} volume-backups in tenancy")
    for permission in allowed:
        assert engine.allows(ME, "Op", check(permission, tenancy.backups)), permission
    for permission in refused:
        assert not engine.allows(ME, "Op", check(permission, tenancy.backups)), permission


def test_oracle_s_rows_for_the_permissions_the_function_needs() -> None:
    assert granted("inspect", "volumes") == {"VOLUME_INSPECT"}
    assert "VOLUME_WRITE" in granted("use", "volumes") and "VOLUME_CREATE" not in granted("use", "volumes")
    assert (
        granted("inspect", "volume-group-backups")
        == granted("use", "volume-group-backups")
        == {"VOLUME_GROUP_BACKUP_INSPECT"}
    )
    assert granted("inspect", "compartments") == {"COMPARTMENT_INSPECT"}
    assert granted("use", "metrics") == {"METRIC_INSPECT", "METRIC_READ", "METRIC_WRITE"}
    assert granted("read", "fn-function") == {"FN_FUNCTION_LIST", "FN_FUNCTION_READ"}
    assert granted("read", "fn-invocation") == set() and granted("use", "fn-invocation") == {"FN_INVOCATION"}
    assert granted("use", "key-delegate") == {"KEY_ASSOCIATE", "KEY_DISASSOCIATE"}


def test_volume_family_grants_the_backups_but_not_their_copy(tenancy: Tenancy) -> None:
    engine = tenancy.engine("Allow dynamic-group dg to manage volume-family in tenancy")
    for permission in (
        "VOLUME_INSPECT",
        "VOLUME_BACKUP_CREATE",
        "BOOT_VOLUME_BACKUP_DELETE",
        "VOLUME_GROUP_BACKUP_UPDATE",
    ):
        assert engine.allows(ME, "Op", check(permission, tenancy.backups)), permission
    for permission in ("VOLUME_BACKUP_COPY", "BOOT_VOLUME_BACKUP_COPY"):
        assert not engine.allows(ME, "Op", check(permission, tenancy.backups)), permission
    assert tenancy.engine("Allow dynamic-group dg to use volume-backups in tenancy").allows(
        ME, "Op", check("VOLUME_BACKUP_COPY", tenancy.backups)
    )


def test_a_permission_list_grants_exactly_its_permissions(tenancy: Tenancy) -> None:
    engine = tenancy.engine("Allow dynamic-group dg to {VOLUME_BACKUP_READ, VOLUME_BACKUP_COPY} in tenancy")
    assert engine.allows(ME, "Op", check("VOLUME_BACKUP_COPY", tenancy.backups))
    assert not engine.allows(ME, "Op", check("VOLUME_BACKUP_INSPECT", tenancy.backups))


def test_request_permission_narrows_a_verb_to_one_permission(tenancy: Tenancy) -> None:
    engine = tenancy.engine(
        "Allow dynamic-group dg to manage volume-backups in tenancy where request.permission='VOLUME_BACKUP_CREATE'"
    )
    assert engine.allows(ME, "Op", check("VOLUME_BACKUP_CREATE", tenancy.backups))
    assert not engine.allows(ME, "Op", check("VOLUME_BACKUP_DELETE", tenancy.backups))


def test_a_compartment_statement_covers_its_descendants_only(tenancy: Tenancy) -> None:
    engine = tenancy.engine(f"Allow dynamic-group dg to read volume-backups in compartment id {tenancy.prod}")
    for compartment in (tenancy.prod, tenancy.backups, tenancy.daily):
        assert engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", compartment)), compartment
    for compartment in (tenancy.dev, DEFAULT_TENANCY_ID, "ocid1.compartment.oc1..aaaaaaaanotregistered"):
        assert not engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", compartment)), compartment


def test_the_tenancy_covers_every_compartment_registered_or_not(tenancy: Tenancy) -> None:
    engine = tenancy.engine("Allow dynamic-group dg to read volume-backups in tenancy")
    for compartment in (DEFAULT_TENANCY_ID, tenancy.daily, tenancy.dev, "ocid1.compartment.oc1..aaaaaaaanotregistered"):
        assert engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", compartment)), compartment


def test_a_compartment_by_name_is_a_path_from_where_the_policy_is_attached(tenancy: Tenancy) -> None:
    from_root = tenancy.engine("Allow dynamic-group dg to read volume-backups in compartment Prod:Backups")
    from_prod = tenancy.engine(
        "Allow dynamic-group dg to read volume-backups in compartment backups", attached=tenancy.prod
    )
    for engine in (from_root, from_prod):
        assert engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.daily))
        assert not engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.prod))


def test_the_dynamic_group_s_rule_decides_who_the_statements_are_for(tenancy: Tenancy) -> None:
    by_id = tenancy.engine("Allow dynamic-group dg to read metrics in tenancy")
    assert by_id.allows(ME, "Op", check("METRIC_READ", tenancy.dev))
    assert not by_id.allows(SOMEONE_ELSE, "Op", check("METRIC_READ", tenancy.dev))
    by_compartment = tenancy.engine(
        "Allow dynamic-group dg to read metrics in tenancy",
        groups={"DG": f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{FUNCTION_COMPARTMENT}'}}"},
    )
    assert by_compartment.allows(SOMEONE_ELSE, "Op", check("METRIC_READ", tenancy.dev))
    instances = tenancy.engine(
        "Allow dynamic-group dg to read metrics in tenancy",
        groups={"dg": f"ANY {{instance.compartment.id = '{FUNCTION_COMPARTMENT}'}}"},
    )
    assert not instances.allows(ME, "Op", check("METRIC_READ", tenancy.dev))


def test_any_user_is_everyone_and_groups_and_services_are_no_function(tenancy: Tenancy) -> None:
    assert tenancy.engine("Allow any-user to read metrics in tenancy").allows(
        SOMEONE_ELSE, "Op", check("METRIC_READ", tenancy.dev)
    )
    for subject in ("group Admins", "service blockstorage", "any-group"):
        engine = tenancy.engine(f"Allow {subject} to read metrics in tenancy")
        assert not engine.allows(ME, "Op", check("METRIC_READ", tenancy.dev)), subject


@pytest.mark.parametrize(
    ("condition", "region", "allowed"),
    [
        ("request.region = 'phx'", "us-phoenix-1", True),
        ("request.region = 'PHX'", "us-phoenix-1", True),
        ("request.region = 'us-phoenix-1'", "us-phoenix-1", True),
        ("request.region = 'phx'", "us-ashburn-1", False),
        ("request.region != 'phx'", "us-ashburn-1", True),
        ("any {request.region = 'phx', request.region = 'iad'}", "us-ashburn-1", True),
        ("all {request.region = 'phx', request.region = 'iad'}", "us-ashburn-1", False),
    ],
)
def test_region_conditions_take_the_short_code_or_the_name(
    tenancy: Tenancy, condition: str, region: str, allowed: bool
) -> None:
    engine = tenancy.engine(f"Allow dynamic-group dg to read volume-backups in tenancy where {condition}")
    assert engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.dev, region)) is allowed


def test_a_metrics_grant_narrowed_to_a_namespace(tenancy: Tenancy) -> None:
    engine = tenancy.engine(
        "Allow dynamic-group dg to use metrics in tenancy where target.metrics.namespace = 'backup_copier'"
    )
    assert engine.allows(ME, "Op", check("METRIC_WRITE", tenancy.dev, target__metrics__namespace="backup_copier"))
    assert engine.allows(ME, "Op", check("METRIC_WRITE", tenancy.dev, target__metrics__namespace="Backup_Copier"))
    assert not engine.allows(ME, "Op", check("METRIC_WRITE", tenancy.dev, target__metrics__namespace="other"))


def test_a_variable_the_request_does_not_have_declines_whatever_the_operator(tenancy: Tenancy) -> None:
    for operator in ("=", "!="):
        engine = tenancy.engine(
            f"Allow dynamic-group dg to read volume-backups in tenancy where target.metrics.namespace {operator} 'x'"
        )
        assert not engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.dev)), operator


def test_tag_key_principal_operation_and_compartment_conditions(tenancy: Tenancy) -> None:
    tag = tenancy.engine(
        "Allow dynamic-group dg to manage volume-backups in tenancy where target.resource.tag.ops.copier = 'yes'"
    )
    assert tag.allows(ME, "Op", check("VOLUME_BACKUP_DELETE", tenancy.dev, target__resource__tag__ops__copier="yes"))
    assert not tag.allows(ME, "Op", check("VOLUME_BACKUP_DELETE", tenancy.dev))
    key = tenancy.engine(
        "Allow dynamic-group dg to use key-delegate in tenancy where target.key.id = 'ocid1.key.oc1.iad.k'"
    )
    assert key.allows(ME, "Op", check("KEY_ASSOCIATE", DEFAULT_TENANCY_ID, target__key__id="ocid1.key.oc1.iad.k"))
    assert not key.allows(
        ME, "Op", check("KEY_ASSOCIATE", DEFAULT_TENANCY_ID, target__key__id="ocid1.key.oc1.iad.other")
    )
    schedules = tenancy.engine(
        f"Allow any-user to use fn-invocation in tenancy where all {{request.principal.type='fnfunc', any {{request.principal.id='{FUNCTION}'}}}}"
    )
    assert schedules.allows(ME, "Op", check("FN_INVOCATION", tenancy.dev))
    assert not schedules.allows(SOMEONE_ELSE, "Op", check("FN_INVOCATION", tenancy.dev))
    operation = tenancy.engine(
        "Allow dynamic-group dg to read volume-backups in tenancy where request.operation = 'GetVolumeBackup'"
    )
    assert operation.allows(ME, "GetVolumeBackup", check("VOLUME_BACKUP_READ", tenancy.dev))
    assert not operation.allows(ME, "CopyVolumeBackup", check("VOLUME_BACKUP_READ", tenancy.dev))
    named = tenancy.engine(
        "Allow dynamic-group dg to read volume-backups in tenancy where target.compartment.name = /back*/"
    )
    assert named.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.backups))
    assert not named.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.daily))


def test_any_statement_suffices(tenancy: Tenancy) -> None:
    engine = tenancy.engine(
        "Allow dynamic-group dg to read volume-backups in tenancy where request.region = 'iad'",
        f"Allow dynamic-group dg to read volume-backups in compartment id {tenancy.dev}",
    )
    assert engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.dev, "us-phoenix-1"))
    assert engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.prod, "us-ashburn-1"))
    assert not engine.allows(ME, "Op", check("VOLUME_BACKUP_READ", tenancy.prod, "us-phoenix-1"))


def test_no_statement_no_access(tenancy: Tenancy) -> None:
    assert not tenancy.engine().allows(ME, "Op", check("VOLUME_BACKUP_INSPECT", tenancy.dev))


@pytest.mark.parametrize(
    ("statement", "attached", "why"),
    [
        ("Allow dynamic-group nobody to read metrics in tenancy", None, "no dynamic group named 'nobody'"),
        ("Allow dynamic-group dg to read backups in tenancy", None, "no resource type 'backups'"),
        (
            "Allow dynamic-group dg to {{VOLUME_BACKUP_TELEPORT}} in tenancy",
            None,
            "no permission .VOLUME_BACKUP_TELEPORT.",
        ),
        ("Allow dynamic-group dg to read metrics in tenancy", "prod", "needs a policy attached to the tenancy"),
        ("Allow dynamic-group dg to read metrics in compartment Staging", None, "no compartment 'Staging'"),
        ("Allow dynamic-group dg to read metrics in compartment id {dev}", "prod", "is not"),
    ],
)
def test_a_policy_oci_would_not_create_is_refused(
    tenancy: Tenancy, statement: str, attached: str | None, why: str
) -> None:
    with pytest.raises(PolicySyntaxError, match=why):
        tenancy.engine(statement.format(dev=tenancy.dev), attached=tenancy.prod if attached else None)


def test_a_principal_is_read_from_the_token_s_claims() -> None:
    claims = {
        "sub": FUNCTION,
        "res_id": FUNCTION,
        "res_type": "fnfunc",
        "res_compartment": FUNCTION_COMPARTMENT,
        "ptype": "resource",
    }
    assert Principal.from_claims(claims) == ME
    assert Principal.from_claims({}).rule_variables() == {}


def test_the_issued_token_carries_the_claims_a_dynamic_group_matches(tmp_path: Path) -> None:
    issued = issue_resource_principal(tmp_path, REGION, compartment_id=FUNCTION_COMPARTMENT, resource_id=FUNCTION)
    assert Principal.from_claims(jwt.decode(issued.token, options={"verify_signature": False})) == ME
    assert Principal.from_claims(jwt.decode(issued.rotate(), options={"verify_signature": False})) == ME
