"""Identity's ListCompartments and ListAvailabilityDomains, on the same port as Block Storage.

OCI serves it at https://identity.<region>.oci.oraclecloud.com/20160918/compartments; here it is
http://127.0.0.1:<port>/identity/<region>/20160918/compartments, which is what the function's
IDENTITY_ENDPOINT names in tests (`.../identity/{region}`). Compartments are global: every region
answers from the one tree. Requests are authenticated exactly as Block Storage's (signature.py),
then throttled if a test switched that on, slowed by injected latency, faulted, denied.

What the API reference and the SDK's docstring say, and the emulator does:
- below the tenancy, only the first-level children of `compartmentId`;
- `compartmentIdInSubtree=true` only on the tenancy (root compartment), then every compartment
  at any depth; the tenancy itself is never in the results;
- `accessLevel` ANY (the default: permissions are not checked) or ACCESSIBLE (only compartments
  the caller may inspect: here, every compartment not denied);
- `lifecycleState` CREATING, ACTIVE, INACTIVE, DELETING or DELETED, case-insensitive; `name` an
  exact match; `sortBy` TIMECREATED (newest first by default) or NAME (A to Z by default);
- pages of 1 to 1000 (default 100) with `opc-next-page`, as Block Storage (operations.py).

*Unconfirmed*, the emulator's choices: the answer to `compartmentIdInSubtree=true` below the
tenancy (400 InvalidParameter, OCI's code for a bad parameter, with the emulator's own message);
the order when no `sortBy` is given (TIMECREATED); `isAccessible` (true on ACCESSIBLE listings,
which leave denied compartments out; null on ANY listings, where permissions are not checked).
A compartment the caller has no policy in (Emulator.deny_compartment) answers 404
NotAuthorizedOrNotFound when its children are listed, as OCI does for any missing policy.

ListAvailabilityDomains (GET /20160918/availabilityDomains?compartmentId=, identity_client.py)
answers the region's availability domains (availability_domains.py), `name`, `id` and
`compartmentId` (the tenancy) each, as the SDK's AvailabilityDomain model reads them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from . import errors
from .availability_domains import AvailabilityDomains
from .faults import CompartmentDenials, LatencyPlan
from .fields import format_time
from .ocids import random_part
from .operations import Reply, decode_page, encode_page, page_size
from .read_service import ReadService, ReadServiceFront
from .signature import TrustStore

PREFIX = "/identity/"
API_PATH = "/20160918/compartments"
OPERATION = "list_compartments"
AVAILABILITY_DOMAINS_PATH = "/20160918/availabilityDomains"
LIST_AVAILABILITY_DOMAINS = "list_availability_domains"
OPERATIONS = (OPERATION, LIST_AVAILABILITY_DOMAINS)
LIFECYCLE_STATES = ("CREATING", "ACTIVE", "INACTIVE", "DELETING", "DELETED")
ACCESS_LEVELS = ("ANY", "ACCESSIBLE")
SORT_FIELDS = ("TIMECREATED", "NAME")
# The tenancy the emulator plays, unless told otherwise: the `res_tenant` claim of the resource
# principal local_runtime/credentials.py issues by default (a test checks the two agree).
DEFAULT_TENANCY_ID = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy"


@dataclass
class Compartment:
    id: str
    parent_id: str
    name: str
    description: str
    time_created: datetime
    lifecycle_state: str
    freeform_tags: dict[str, str] = field(default_factory=dict)

    def to_json(self, accessible: bool | None) -> dict[str, Any]:
        """As the API returns it, the fields the SDK's Compartment model reads."""
        return {
            "id": self.id,
            "compartmentId": self.parent_id,
            "name": self.name,
            "description": self.description,
            "timeCreated": format_time(self.time_created),
            "lifecycleState": self.lifecycle_state,
            # A code for why a compartment is INACTIVE; Oracle does not list the codes.
            "inactiveStatus": None,
            "isAccessible": accessible,
            "freeformTags": dict(self.freeform_tags),
            "definedTags": {},
        }


class Directory:
    """The tenancy's compartment tree."""

    def __init__(self, tenancy_id: str) -> None:
        if not tenancy_id.startswith("ocid1.tenancy."):
            raise ValueError(f"a tenancy OCID starts with ocid1.tenancy., not {tenancy_id[:20]!r}")
        self.tenancy_id = tenancy_id
        self._lock = threading.Lock()
        self._compartments: dict[str, Compartment] = {}

    def add(
        self,
        parent_id: str,
        name: str | None = None,
        *,
        lifecycle_state: str = "ACTIVE",
        description: str | None = None,
        time_created: datetime | None = None,
        freeform_tags: dict[str, str] | None = None,
        compartment_id: str | None = None,
    ) -> str:
        if lifecycle_state not in LIFECYCLE_STATES:
            raise ValueError(f"unknown compartment state {lifecycle_state!r}; expected one of {LIFECYCLE_STATES}")
        compartment_id = compartment_id or f"ocid1.compartment.oc1..{random_part(60)}"
        with self._lock:
            if compartment_id in self._compartments:
                raise ValueError(f"{compartment_id} exists already")
            if parent_id != self.tenancy_id and parent_id not in self._compartments:
                raise ValueError(f"no compartment {parent_id} in tenancy {self.tenancy_id}")
            chosen = name or f"compartment-{len(self._compartments) + 1}"
            # Compartment names are unique among their siblings in OCI.
            if any(c.parent_id == parent_id and c.name == chosen for c in self._compartments.values()):
                raise ValueError(f"{parent_id} already has a compartment named {chosen!r}")
            self._compartments[compartment_id] = Compartment(
                id=compartment_id,
                parent_id=parent_id,
                name=chosen,
                description=description if description is not None else chosen,
                time_created=time_created or datetime.now(UTC),
                lifecycle_state=lifecycle_state,
                freeform_tags=dict(freeform_tags or {}),
            )
        return compartment_id

    def set_state(self, compartment_id: str, lifecycle_state: str) -> None:
        if lifecycle_state not in LIFECYCLE_STATES:
            raise ValueError(f"unknown compartment state {lifecycle_state!r}; expected one of {LIFECYCLE_STATES}")
        with self._lock:
            self._compartments[compartment_id].lifecycle_state = lifecycle_state

    def get(self, compartment_id: str) -> dict[str, Any]:
        with self._lock:
            return self._compartments[compartment_id].to_json(None)

    def knows(self, compartment_id: str) -> bool:
        with self._lock:
            return compartment_id == self.tenancy_id or compartment_id in self._compartments

    def below(self, compartment_id: str, subtree: bool) -> list[Compartment]:
        """Copies of the children of a compartment, or (subtree) every compartment under it."""
        with self._lock:
            if subtree:
                return [replace(c, freeform_tags=dict(c.freeform_tags)) for c in self._compartments.values()]
            return [
                replace(c, freeform_tags=dict(c.freeform_tags))
                for c in self._compartments.values()
                if c.parent_id == compartment_id
            ]


class IdentityService(ReadServiceFront):
    """ListCompartments and ListAvailabilityDomains for every region; faults, denials and
    throttling of its own."""

    def __init__(
        self,
        trust: TrustStore,
        tenancy_id: str = DEFAULT_TENANCY_ID,
        *,
        latency: LatencyPlan | None = None,
        compartments: CompartmentDenials | None = None,
        availability_domains: AvailabilityDomains | None = None,
    ) -> None:
        self.trust = trust
        self.directory = Directory(tenancy_id)
        self.denials = compartments or CompartmentDenials()
        self.availability_domains = availability_domains or AvailabilityDomains()
        self.service = ReadService(
            prefix=PREFIX,
            routes={
                API_PATH: (OPERATION, lambda region, query: self._list(query)),
                AVAILABILITY_DOMAINS_PATH: (LIST_AVAILABILITY_DOMAINS, self._availability_domains),
            },
            default_operation=OPERATION,
            trust=trust,
            latency=latency or LatencyPlan(),
        )

    def _availability_domains(self, region: str, query: dict[str, str]) -> Reply:
        """ListAvailabilityDomains: "Specify the OCID of either the tenancy or another of your
        compartments" (identity_client.py); no paging. Any compartment OCID counts as one of the
        tenancy's, as Block Storage here takes any compartment: only a denied one (no policy)
        answers 404."""
        compartment_id = query.get("compartmentId")
        if not compartment_id:
            raise errors.MissingParameter("Missing required parameter: compartmentId")
        if not compartment_id.startswith(("ocid1.compartment.", "ocid1.tenancy.")) or self.denials.denies(
            compartment_id
        ):
            raise errors.NotAuthorizedOrNotFound()
        names = self.availability_domains.names(region)
        return Reply(
            200,
            [
                {
                    "name": name,
                    "id": self.availability_domains.id_of(region, name),
                    "compartmentId": self.directory.tenancy_id,
                }
                for name in names
            ],
        )

    def _list(self, query: dict[str, str]) -> Reply:
        compartment_id = query.get("compartmentId")
        if not compartment_id:
            raise errors.MissingParameter("Missing required parameter: compartmentId")
        limit = page_size(query.get("limit"))
        offset = decode_page(query["page"]) if "page" in query else 0
        access_level = query.get("accessLevel", "ANY")
        if access_level not in ACCESS_LEVELS:
            raise errors.InvalidParameter(f"Invalid accessLevel: {access_level}; expected ANY or ACCESSIBLE.")
        subtree = _boolean(query.get("compartmentIdInSubtree", "false"), "compartmentIdInSubtree")
        sort_by = query.get("sortBy", "TIMECREATED")
        if sort_by not in SORT_FIELDS:
            raise errors.InvalidParameter(f"Invalid sortBy: {sort_by}")
        sort_order = query.get("sortOrder", "DESC" if sort_by == "TIMECREATED" else "ASC")
        if sort_order not in ("ASC", "DESC"):
            raise errors.InvalidParameter(f"Invalid sortOrder: {sort_order}")
        state = query.get("lifecycleState")
        if state is not None and state.upper() not in LIFECYCLE_STATES:
            raise errors.InvalidParameter(f"Invalid lifecycleState: {state}")

        if not self.directory.knows(compartment_id) or self.denials.denies(compartment_id):
            raise errors.NotAuthorizedOrNotFound()
        if subtree and compartment_id != self.directory.tenancy_id:
            # Unconfirmed: Oracle documents that the flag is allowed only on the tenancy, not
            # what it answers elsewhere. A 400 at least never passes for a complete listing.
            raise errors.InvalidParameter(
                "compartmentIdInSubtree can only be true when compartmentId is the tenancy (root compartment)."
            )
        found = self.directory.below(compartment_id, subtree)
        if access_level == "ACCESSIBLE":
            found = [c for c in found if not self.denials.denies(c.id)]
        if state is not None:
            found = [c for c in found if c.lifecycle_state == state.upper()]
        if "name" in query:
            found = [c for c in found if c.name == query["name"]]
        found.sort(
            key=lambda c: (c.time_created if sort_by == "TIMECREATED" else c.name, c.id),
            reverse=sort_order == "DESC",
        )
        page = found[offset : offset + limit]
        body = [c.to_json(True if access_level == "ACCESSIBLE" else None) for c in page]
        headers = {"opc-next-page": encode_page(offset + limit)} if offset + limit < len(found) else {}
        return Reply(200, body, headers)


def _boolean(raw: str, name: str) -> bool:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise errors.InvalidParameter(f"Invalid {name}: {raw}; expected true or false.")
