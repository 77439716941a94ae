"""A refused copy names the permissions the deploy kit grants for it (issue 24, finding 4).

The answer to a 404 on a copy request used to say the permission was missing "in" the
destination and to run the check, which cannot test a copy and answered ready: a circle. Now it
names the copy permissions and the source region, from kinds.py's table, which must agree with
the statements deploy_kit/iam.py generates.
"""

from __future__ import annotations

import pytest

from backup_copier.deploy_kit import iam
from backup_copier.shared.kinds import SPECS, BackupKind
from blockstorage_emulator import Emulator
from tests.helpers import SOURCE_REGION, FunctionFactory, event_for


def _permissions(grants: tuple[iam.Grant, ...]) -> set[str]:
    return {permission for grant in grants for permission in grant.permissions}


@pytest.mark.parametrize("kind", list(BackupKind))
def test_the_copy_permissions_named_in_answers_are_the_ones_the_kit_grants(kind: BackupKind) -> None:
    spec, grants = SPECS[kind], iam.GRANTS[kind]
    if kind is BackupKind.VOLUME_GROUP:
        # No documented permission of its own: its member backups' copy grants apply.
        members = iam.GRANTS[BackupKind.VOLUME].copy + iam.GRANTS[BackupKind.BOOT_VOLUME].copy
        assert set(spec.copy_source_permissions) == _permissions(members)
    else:
        assert set(spec.copy_source_permissions) == _permissions(grants.copy)
    assert {spec.copy_destination_permission} == _permissions(grants.create)
    # The mark's and the expiry pass's refusals name these (backups/marker.py, expire/deletion.py).
    assert {spec.update_permission} == _permissions(grants.update)
    assert {spec.delete_permission} == _permissions(grants.delete)


@pytest.mark.parametrize(
    ("kind", "permission"), [("volume", "VOLUME_BACKUP_COPY"), ("boot_volume", "BOOT_VOLUME_BACKUP_COPY")]
)
def test_a_refused_copy_names_the_copy_permission_and_the_source_region(
    emulator: Emulator, function: FunctionFactory, kind: str, permission: str
) -> None:
    backup = emulator.add_backup(
        kind, SOURCE_REGION, "ocid1.compartment.oc1..aaaaaaaacopypermission", display_name=kind
    )
    emulator.deny("copy", region=SOURCE_REGION, kind=kind)

    answer = function().invoke(event_for(kind, backup["id"], compartmentId=backup["compartmentId"]))

    assert answer.status == 502
    [copy] = answer.json()["copies"]
    assert copy["reasonCode"] == "NotAuthorizedOrNotFound"
    assert f"sent to the source region, {SOURCE_REGION}: it needs" in copy["reason"]
    assert permission in copy["reason"] and "in us-ashburn-1" in copy["reason"]
    assert "cannot prove these without copying" in copy["reason"]
