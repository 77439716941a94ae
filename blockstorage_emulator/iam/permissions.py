"""Which permissions each verb grants on each resource type: the emulator's own table, from Oracle's.

Sources (Oracle's policy reference, each page's "Details for Verb + Resource-Type Combinations"):
- CORE: "Details for the Core Services", docs.oracle.com/en-us/iaas/Content/Identity/Reference/corepolicyreference.htm
- IAM: "Details for IAM without Identity Domains", .../Identity/Reference/iampolicyreference.htm
- MONITORING: "Details for Monitoring", .../Identity/Reference/monitoringpolicyreference.htm
- FUNCTIONS: "Details for Functions", .../Identity/Reference/functionspolicyreference.htm
- VAULT: "Details for the Vault Service", .../Identity/Reference/keypolicyreference.htm

The verbs are cumulative ("inspect > read > use > manage"): each row lists what its verb adds.
This table is written from those pages, never from the function's own tables
(backup_copier/deploy_kit/iam.py), so a mistake there is not mirrored here.
"""

from __future__ import annotations

from collections.abc import Mapping

from .grammar import VERBS

_Rows = Mapping[str, tuple[str, ...]]  # verb -> the permissions it adds to the verb below


def _rows(
    inspect: tuple[str, ...] = (), read: tuple[str, ...] = (), use: tuple[str, ...] = (), manage: tuple[str, ...] = ()
) -> _Rows:
    return {"inspect": inspect, "read": read, "use": use, "manage": manage}


# Rows added per verb, exactly as the pages print them ("no extra" is an empty row).
_ADDED: dict[str, _Rows] = {
    # CORE, "For volume-family Resource Types".
    "volumes": _rows(
        ("VOLUME_INSPECT",), (), ("VOLUME_UPDATE", "VOLUME_WRITE"), ("VOLUME_CREATE", "VOLUME_DELETE", "VOLUME_MOVE")
    ),
    "volume-attachments": _rows(
        ("VOLUME_ATTACHMENT_INSPECT",),
        ("VOLUME_ATTACHMENT_READ",),
        ("VOLUME_ATTACHMENT_UPDATE",),
        ("VOLUME_ATTACHMENT_CREATE", "VOLUME_ATTACHMENT_DELETE"),
    ),
    "volume-backups": _rows(
        ("VOLUME_BACKUP_INSPECT",),
        ("VOLUME_BACKUP_READ",),
        ("VOLUME_BACKUP_COPY", "VOLUME_BACKUP_UPDATE"),
        ("VOLUME_BACKUP_CREATE", "VOLUME_BACKUP_DELETE", "VOLUME_BACKUP_MOVE"),
    ),
    "boot-volume-backups": _rows(
        ("BOOT_VOLUME_BACKUP_INSPECT",),
        ("BOOT_VOLUME_BACKUP_READ",),
        ("BOOT_VOLUME_BACKUP_UPDATE", "BOOT_VOLUME_BACKUP_COPY"),
        ("BOOT_VOLUME_BACKUP_CREATE", "BOOT_VOLUME_BACKUP_DELETE", "BOOT_VOLUME_BACKUP_MOVE"),
    ),
    # The page spells these BACKUP_POLICY_INSPECT in the verb table and BACKUP_POLICIES_* elsewhere.
    "backup-policies": _rows(
        ("BACKUP_POLICY_INSPECT",),
        (),
        ("BACKUP_POLICIES_UPDATE",),
        ("BACKUP_POLICIES_CREATE", "BACKUP_POLICIES_DELETE"),
    ),
    "backup-policy-assignments": _rows(
        ("BACKUP_POLICY_ASSIGNMENT_INSPECT",),
        (),
        (),
        ("BACKUP_POLICY_ASSIGNMENT_CREATE", "BACKUP_POLICY_ASSIGNMENT_DELETE"),
    ),
    "volume-groups": _rows(
        ("VOLUME_GROUP_INSPECT",),
        (),
        (),
        ("VOLUME_GROUP_UPDATE", "VOLUME_GROUP_CREATE", "VOLUME_GROUP_DELETE", "VOLUME_GROUP_MOVE"),
    ),
    "volume-group-backups": _rows(
        ("VOLUME_GROUP_BACKUP_INSPECT",),
        (),
        (),
        (
            "VOLUME_GROUP_BACKUP_UPDATE",
            "VOLUME_GROUP_BACKUP_CREATE",
            "VOLUME_GROUP_BACKUP_DELETE",
            "VOLUME_GROUP_BACKUP_MOVE",
        ),
    ),
    # CORE, "For instance-family Resource Types": instances, for ListVolumeAttachments' INSTANCE_INSPECT.
    "instances": _rows(
        ("INSTANCE_INSPECT",),
        ("INSTANCE_READ",),
        (
            "INSTANCE_UPDATE",
            "INSTANCE_CREATE_IMAGE",
            "INSTANCE_POWER_ACTIONS",
            "INSTANCE_ATTACH_VOLUME",
            "INSTANCE_DETACH_VOLUME",
        ),
        (
            "INSTANCE_CREATE",
            "INSTANCE_DELETE",
            "INSTANCE_ATTACH_SECONDARY_VNIC",
            "INSTANCE_DETACH_SECONDARY_VNIC",
            "INSTANCE_MOVE",
        ),
    ),
    # IAM.
    "compartments": _rows(
        ("COMPARTMENT_INSPECT",),
        (),
        ("COMPARTMENT_UPDATE",),
        ("COMPARTMENT_CREATE", "COMPARTMENT_DELETE", "COMPARTMENT_RECOVER"),
    ),
    "tenancies": _rows(("TENANCY_INSPECT",), (), ("TENANCY_UPDATE",), ()),
    "dynamic-groups": _rows(
        ("DYNAMIC_GROUP_INSPECT",), (), ("DYNAMIC_GROUP_UPDATE",), ("DYNAMIC_GROUP_CREATE", "DYNAMIC_GROUP_DELETE")
    ),
    "policies": _rows(("POLICY_READ",), (), (), ("POLICY_UPDATE", "POLICY_CREATE", "POLICY_DELETE")),
    # MONITORING.
    "metrics": _rows(("METRIC_INSPECT",), ("METRIC_READ",), ("METRIC_WRITE",), ()),
    "alarms": _rows(
        ("ALARM_INSPECT",), ("ALARM_READ",), (), ("ALARM_CREATE", "ALARM_UPDATE", "ALARM_DELETE", "ALARM_MOVE")
    ),
    # FUNCTIONS.
    "fn-app": _rows(("FN_APP_LIST",), ("FN_APP_READ",), (), ("FN_APP_CREATE", "FN_APP_DELETE", "FN_APP_UPDATE")),
    "fn-function": _rows(
        ("FN_FUNCTION_LIST",),
        ("FN_FUNCTION_READ",),
        (),
        ("FN_FUNCTION_CREATE", "FN_FUNCTION_DELETE", "FN_FUNCTION_UPDATE"),
    ),
    "fn-invocation": _rows((), (), ("FN_INVOCATION",), ()),
    # VAULT: key-delegate has only a use row; keys is here so `Allow service blockstorage to use
    # keys` parses (the service side is never checked: see engine.py).
    "key-delegate": _rows((), (), ("KEY_ASSOCIATE", "KEY_DISASSOCIATE"), ()),
    "keys": _rows(
        ("KEY_INSPECT",),
        ("KEY_READ",),
        ("KEY_ENCRYPT", "KEY_DECRYPT", "KEY_EXPORT", "KEY_SIGN", "KEY_VERIFY"),
        ("KEY_CREATE", "KEY_UPDATE", "KEY_ROTATE", "KEY_DELETE", "KEY_MOVE", "KEY_IMPORT", "KEY_BACKUP", "KEY_RESTORE"),
    ),
}

# Aggregate resource types: "A policy that uses <verb> volume-family is equivalent to writing one
# with a separate <verb> <individual resource-type> statement for each of the individual
# resource-types" (CORE; FUNCTIONS says the same of functions-family).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "volume-family": (
        "volumes",
        "volume-attachments",
        "volume-backups",
        "boot-volume-backups",
        "backup-policies",
        "backup-policy-assignments",
        "volume-groups",
        "volume-group-backups",
    ),
    "functions-family": ("fn-app", "fn-function", "fn-invocation"),
}
# ...except that volume-family does not include the copy permissions: Oracle's own example adds
# `use volume-backups where request.permission='VOLUME_BACKUP_COPY'` for copies ("Overview of
# Block Volume Backups", Content/Block/Concepts/blockvolumebackups.htm); reference.md, "IAM".
_NOT_IN_FAMILY = {"volume-family": frozenset({"VOLUME_BACKUP_COPY", "BOOT_VOLUME_BACKUP_COPY"})}


def _cumulative(rows: _Rows) -> dict[str, frozenset[str]]:
    granted: set[str] = set()
    by_verb = {}
    for verb in VERBS:
        granted |= set(rows[verb])
        by_verb[verb] = frozenset(granted)
    return by_verb


def _table() -> dict[str, dict[str, frozenset[str]]]:
    table = {resource_type: _cumulative(rows) for resource_type, rows in _ADDED.items()}
    for family, members in _FAMILIES.items():
        excluded = _NOT_IN_FAMILY.get(family, frozenset())
        table[family] = {
            verb: frozenset().union(*(table[member][verb] for member in members)) - excluded for verb in VERBS
        }
    # all-resources: every resource type (of this table), with every permission its verb grants.
    table["all-resources"] = {
        verb: frozenset().union(*(grants[verb] for grants in list(table.values()))) for verb in VERBS
    }
    return table


GRANTS: dict[str, dict[str, frozenset[str]]] = _table()
KNOWN_PERMISSIONS: frozenset[str] = GRANTS["all-resources"]["manage"] | _NOT_IN_FAMILY["volume-family"]


def granted(verb: str, resource_type: str) -> frozenset[str]:
    """The permissions `<verb> <resource_type>` grants; KeyError for a type the table lacks."""
    return GRANTS[resource_type][verb]
