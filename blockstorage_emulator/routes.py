"""The route table: which (method, path) is which API operation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from . import errors
from .kinds import KINDS, Kind
from .operations import Operation, copy_backup, delete_backup, get_backup, list_backups, update_backup
from .volume_kinds import VOLUME_KINDS
from .volume_operations import create_volume, delete_volume, get_volume, list_volumes, update_volume

API_VERSION = "20160918"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    kind: Kind
    operations: dict[str, tuple[str, Operation]]  # HTTP method -> (operation name, handler)


@dataclass(frozen=True)
class Resolution:
    """What a request addresses, known even when it cannot be served."""

    # "get", "list", "copy", "update", "delete" (of backups), "unknown", or the SDK's name of an
    # operation on volumes, boot volumes and volume groups ("create_volume", "list_boot_volumes")
    operation: str
    kind: Kind | None  # for volumes, the kind of backup they are restored from
    resource_id: str | None
    handler: Operation | None
    error: errors.ServiceError | None


def _routes() -> list[Route]:
    routes = []
    for kind in KINDS.values():
        base = f"/{API_VERSION}/{kind.collection}"
        routes += [
            Route(re.compile(f"^{base}$"), kind, {"GET": ("list", list_backups)}),
            Route(
                re.compile(f"^{base}/(?P<id>[^/]+)$"),
                kind,
                {"GET": ("get", get_backup), "PUT": ("update", update_backup), "DELETE": ("delete", delete_backup)},
            ),
            Route(re.compile(f"^{base}/(?P<id>[^/]+)/actions/copy$"), kind, {"POST": ("copy", copy_backup)}),
        ]
    for restored in VOLUME_KINDS.values():
        base = f"/{API_VERSION}/{restored.collection}"
        routes += [
            Route(
                re.compile(f"^{base}$"),
                restored.backup,
                {
                    "GET": (restored.operation("list"), list_volumes),
                    "POST": (restored.operation("create"), create_volume),
                },
            ),
            Route(
                re.compile(f"^{base}/(?P<id>[^/]+)$"),
                restored.backup,
                {
                    "GET": (restored.operation("get"), get_volume),
                    "PUT": (restored.operation("update"), update_volume),
                    "DELETE": (restored.operation("delete"), delete_volume),
                },
            ),
        ]
    return routes


ROUTES = _routes()


def resolve(method: str, path: str) -> Resolution:
    for route in ROUTES:
        match = route.pattern.match(path)
        if match is None:
            continue
        resource_id = unquote(match["id"]) if "id" in route.pattern.groupindex else None
        if method not in route.operations:
            # Still name the operation the path belongs to, for the request log.
            operation = next(iter(route.operations.values()))[0]
            return Resolution(operation, route.kind, resource_id, None, errors.MethodNotAllowed())
        operation, handler = route.operations[method]
        return Resolution(operation, route.kind, resource_id, handler, None)
    return Resolution("unknown", None, None, None, errors.NotAuthorizedOrNotFound())
