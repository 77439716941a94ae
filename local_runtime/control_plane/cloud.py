"""The control plane a setup script changes, kept as state: what the real oci CLI (and fn) create, list and update.

It answers the REST calls oci-cli 3.95.1 makes for the commands a setup script uses, with the JSON
shapes the SDK models read (camelCase fields, lists, and `items` collections where the API has
them), and keeps what they did, so a create-or-update script can run twice and a list answers
what was created:

    /20160918/dynamicGroups, /20160918/policies                      Identity (IAM)
    /20160918/tenancies/{id}/regionSubscriptions                     Identity, read only
    /20181201/rules                                                  Events
    /20240430/schedules                                              Resource Scheduler (ListSchedules: {items})
    /20180401/alarms                                                 Monitoring
    /20181201|20260325/applications, /functions[/{id}]               Functions (the applications and functions a
                                                                     test seeds; UpdateFunction only)

Each collection takes create (POST), list by compartment and optional name (GET), get and update
(GET, PUT). UpdateFunction's config replaces the whole map, as OCI's does ("OCI update config is
wholesale replacement of the map", fnproject/fn_go's oracle shim, common.go); UpdateSchedule and
UpdateFunction answer without a body, as the SDK's clients expect (no response_type). Anything
else answers 404 naming the path, so a script that calls something this stand-in lacks fails
loudly. Every request is recorded in `sent`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import oci.regions

# The answer OCI gives for anything missing or not allowed.
NOT_FOUND = {"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found."}
FUNCTIONS_VERSIONS = ("20181201", "20260325")
# What GetFunction answers as invokeEndpoint: any URL; the fn shim never calls it (invoke goes to `invoker`).
INVOKE_ENDPOINT = "https://invoke.functions.example.oci.oraclecloud.com"


@dataclass(frozen=True)
class Collection:
    """A collection of the control plane, as its API names it."""

    version: str
    ocid_type: str
    name_field: str
    # ListSchedules answers a collection object ({"items": [...]}); the others a plain list.
    wrapped: bool = False
    # UpdateSchedule answers 202 with a work request and no body; the others the resource.
    update_accepted: bool = False


COLLECTIONS = {
    "dynamicGroups": Collection("20160918", "dynamicgroup", "name"),
    "policies": Collection("20160918", "policy", "name"),
    "rules": Collection("20181201", "eventrule", "displayName"),
    "schedules": Collection("20240430", "resourceschedule", "displayName", wrapped=True, update_accepted=True),
    "alarms": Collection("20180401", "alarm", "displayName"),
}


@dataclass(frozen=True)
class Sent:
    """One request the control plane received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # JSON; None for no body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedPolicy:
    compartment_id: str  # where the policy is attached
    name: str
    statements: tuple[str, ...]


_REGION_KEYS = {name: code for code, name in oci.regions.REGIONS_SHORT_NAMES.items()}


def _matches(resource: Mapping[str, Any], query: Mapping[str, str], parent_field: str, name_field: str) -> bool:
    """A List's filters: the parent (compartment or application) always, the name when given."""
    return (
        resource.get(parent_field) == query.get(parent_field)
        and query.get(name_field, resource[name_field]) == resource[name_field]
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ControlPlane:
    """One tenancy's control plane: seeded applications and functions, and what scripts create."""

    tenancy_id: str
    home_region: str | None = "us-ashburn-1"
    subscribed_regions: tuple[str, ...] = ("us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1")
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {name: {} for name in COLLECTIONS})
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # Seeding

    def add_function(
        self,
        function_id: str,
        *,
        application: str,
        compartment_id: str,
        name: str = "backup-copier",
        config: Mapping[str, str] | None = None,
        timeout_in_seconds: int = 30,
        memory_in_mbs: int = 256,
    ) -> dict[str, Any]:
        """A deployed function (as `fn deploy` leaves it) in the application named `application`."""
        with self._lock:
            app = next((a for a in self.applications.values() if a["displayName"] == application), None)
            if app is None:
                region = function_id.split(".")[3]
                app = {
                    "id": f"ocid1.fnapp.oc1.{region}.aaaaaaaa{re.sub(r'[^a-z0-9]', '', application.lower())}",
                    "displayName": application,
                    "compartmentId": compartment_id,
                    "lifecycleState": "ACTIVE",
                    "config": {},
                }
                self.applications[app["id"]] = app
            now = _now()
            function = {
                "id": function_id,
                "displayName": name,
                "applicationId": app["id"],
                "compartmentId": compartment_id,
                "lifecycleState": "ACTIVE",
                "image": f"iad.ocir.io/example/{name}:0.0.1",
                "imageDigest": "sha256:" + "0" * 64,
                "memoryInMBs": memory_in_mbs,
                "timeoutInSeconds": timeout_in_seconds,
                "config": dict(config or {}),
                "invokeEndpoint": INVOKE_ENDPOINT,
                "shape": "GENERIC_X86",
                "timeCreated": now,
                "timeUpdated": now,
                "freeformTags": {},
                "definedTags": {},
            }
            self.functions[function_id] = function
            return function

    # What a run left behind

    def all(self, collection: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(resource) for resource in self.resources[collection].values()]

    def named(self, collection: str, name: str) -> dict[str, Any]:
        """The one resource of `collection` called `name` (AssertionError when there is none, or several)."""
        found = [r for r in self.all(collection) if r[COLLECTIONS[collection].name_field] == name]
        assert len(found) == 1, f"{len(found)} {collection} named {name!r}"
        return found[0]

    def dynamic_groups(self) -> dict[str, str]:
        """Each dynamic group's matching rule, by name: what Emulator.enforce_policies takes."""
        return {group["name"]: group["matchingRule"] for group in self.all("dynamicGroups")}

    def policies(self) -> list[RecordedPolicy]:
        return [
            RecordedPolicy(policy["compartmentId"], policy["name"], tuple(policy["statements"]))
            for policy in self.all("policies")
        ]

    def rule_condition(self, name: str) -> Any:
        """The Events rule's condition, parsed (the API carries it as a JSON string)."""
        return json.loads(self.named("rules", name)["condition"])

    def schedule_bodies(self) -> dict[str, Any]:
        """The body each schedule sends the function, by the schedule's display name."""
        return {
            schedule["displayName"]: parameter["value"]
            for schedule in self.all("schedules")
            for resource in schedule.get("resources") or ()
            for parameter in resource.get("parameters") or ()
            if parameter.get("parameterType") == "BODY"
        }

    def function(self, function_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.functions[function_id])

    def writes(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.method in ("POST", "PUT")]

    # The REST API

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        with self._lock:
            self.sent.append(Sent(method, path, dict(query), body))
            version, _, rest = path.strip("/").partition("/")
            parts = rest.split("/") if rest else []
            if version == "20160918" and parts[:1] == ["tenancies"] and parts[2:] == ["regionSubscriptions"]:
                return self._region_subscriptions(method, parts[1])
            if version in FUNCTIONS_VERSIONS and parts[:1] in (["applications"], ["functions"]):
                return self._functions(method, parts, query, body)
            collection = COLLECTIONS.get(parts[0]) if parts else None
            if collection is None or collection.version != version:
                return Answer(404, {"code": "NotFound", "message": f"this control plane has no {method} {path}"})
            return self._collection(parts[0], collection, method, parts[1:], query, body)

    def _region_subscriptions(self, method: str, tenancy_id: str) -> Answer:
        if method != "GET" or tenancy_id != self.tenancy_id:
            return Answer(404, NOT_FOUND)
        regions = sorted({*self.subscribed_regions, *([self.home_region] if self.home_region else [])})
        return Answer(
            200,
            [
                {
                    "regionName": region,
                    "regionKey": str(_REGION_KEYS.get(region, region)).upper(),
                    "status": "READY",
                    "isHomeRegion": region == self.home_region,
                }
                for region in regions
            ],
        )

    def _collection(
        self, name: str, collection: Collection, method: str, rest: list[str], query: dict[str, str], body: Any
    ) -> Answer:
        store = self.resources[name]
        if not rest and method == "POST":
            resource = {
                **body,
                "id": self._new_id(collection, store, str(body.get(collection.name_field, ""))),
                "lifecycleState": "ACTIVE",
                "timeCreated": _now(),
            }
            store[resource["id"]] = resource
            return Answer(200, resource, {"etag": resource["id"]})
        if not rest and method == "GET":
            found = [r for r in store.values() if _matches(r, query, "compartmentId", collection.name_field)]
            return Answer(200, {"items": found} if collection.wrapped else found)
        if len(rest) == 1 and rest[0] in store:
            resource = store[rest[0]]
            if method == "GET":
                return Answer(200, resource, {"etag": resource["id"]})
            if method == "PUT":
                resource.update(body)
                if collection.update_accepted:
                    return Answer(202, None, {"opc-work-request-id": f"ocid1.workrequest.oc1..{len(self.sent)}"})
                return Answer(200, resource, {"etag": resource["id"]})
        return Answer(404, NOT_FOUND)

    def _functions(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> Answer:
        # ListApplications by compartmentId, ListFunctions by applicationId; both by displayName too.
        listed = {"applications": (self.applications, "compartmentId"), "functions": (self.functions, "applicationId")}
        if len(parts) == 1 and parts[0] in listed and method == "GET":
            store, parent = listed[parts[0]]
            return Answer(200, [item for item in store.values() if _matches(item, query, parent, "displayName")])
        function = self.functions.get(parts[1]) if parts[:1] == ["functions"] and len(parts) == 2 else None
        if function is None:
            return Answer(404, NOT_FOUND)
        if method == "GET":
            return Answer(200, function, {"etag": function["timeUpdated"]})
        if method == "PUT":
            # UpdateFunctionDetails: each field given replaces the function's, config as a whole map.
            function.update({key: value for key, value in body.items() if value is not None})
            function["timeUpdated"] = _now()
            return Answer(200, None, {"opc-work-request-id": f"ocid1.fnworkrequest.oc1..{len(self.sent)}"})
        return Answer(404, NOT_FOUND)

    @staticmethod
    def _new_id(collection: Collection, store: Mapping[str, Any], name: str) -> str:
        """ocid1.<type>.oc1..<the name's letters and digits>, unique: a test can read it in what a script wrote."""
        slug = re.sub(r"[^a-z0-9]", "", name.lower()) or "resource"
        taken = {key.rsplit(".", 1)[1] for key in store}
        unique = next(candidate for n in itertools.count() if (candidate := f"{slug}{n or ''}") not in taken)
        return f"ocid1.{collection.ocid_type}.oc1..{unique}"
