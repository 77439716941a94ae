"""The public facade: a Block Storage backend behind a local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from .compute import OPERATIONS as COMPUTE_OPERATIONS
from .compute import PREFIX as COMPUTE_PREFIX
from .compute import ComputeService
from .dispatch import Dispatcher, RecordedRequest
from .faults import AccessPolicy, CompartmentDenials, Denial, Fault, FaultPlan, LatencyPlan
from .functions import GET_FUNCTION, INVOKE_FUNCTION, FunctionInvocation, FunctionsService, Runner
from .functions import INVOKE_PREFIX as FUNCTIONS_INVOKE_PREFIX
from .functions import PREFIX as FUNCTIONS_PREFIX
from .iam import EmulatorWorld, PolicyEngine, PolicyGate
from .identity import DEFAULT_TENANCY_ID, IdentityService
from .identity import OPERATIONS as IDENTITY_OPERATIONS
from .identity import PREFIX as IDENTITY_PREFIX
from .models import Backend
from .server import EmulatorHTTPServer
from .signature import TrustStore
from .telemetry import OPERATION as POST_METRICS
from .telemetry import PREFIX as TELEMETRY_PREFIX
from .telemetry import PostedMetric, TelemetryIngestion
from .throttle import CallRate


class Emulator:
    """Emulated OCI Block Storage for every region, on one 127.0.0.1 port.

    Requests go to http://127.0.0.1:<port>/<region>/20160918/...; the region
    prefix stands in for the per-region endpoints of the real service. Monitoring's
    PostMetricData (telemetry.py), Identity's ListCompartments and ListAvailabilityDomains
    (identity.py), Compute's attachment listings (compute.py) and OCI Functions (functions.py)
    answer on the same port under their own prefixes, for one tenancy (`tenancy_id`).
    """

    def __init__(self, tenancy_id: str = DEFAULT_TENANCY_ID) -> None:
        self._backend = Backend()
        self._trust = TrustStore()
        self._faults = FaultPlan()
        self._policy = AccessPolicy()
        self._latency = LatencyPlan()
        self._denied_compartments = CompartmentDenials()
        self._telemetry = TelemetryIngestion(self._trust, latency=self._latency)
        self._volumes = self._backend.volumes
        self._identity = IdentityService(
            self._trust,
            tenancy_id,
            latency=self._latency,
            compartments=self._denied_compartments,
            availability_domains=self._volumes.availability_domains,
        )
        self._functions = FunctionsService(self._trust)
        self._compute = ComputeService(
            self._trust, self._volumes.attachments, latency=self._latency, compartments=self._denied_compartments
        )
        self._dispatcher = Dispatcher(
            self._backend,
            self._trust,
            self._faults,
            self._policy,
            (self._telemetry, self._identity, self._functions, self._compute),
            latency=self._latency,
            compartments=self._denied_compartments,
        )
        # The services other than Block Storage, by the operations they answer: where a fault or
        # a denial naming one of those goes.
        self._service_of: dict[str, TelemetryIngestion | IdentityService | FunctionsService | ComputeService] = {
            POST_METRICS: self._telemetry,
            **dict.fromkeys(IDENTITY_OPERATIONS, self._identity),
            **dict.fromkeys(COMPUTE_OPERATIONS, self._compute),
            GET_FUNCTION: self._functions,
            INVOKE_FUNCTION: self._functions,
        }
        self._iam_world = EmulatorWorld(self._backend, self._identity.directory, self._functions)
        # Get, update and delete of a restored volume are decided on its compartment, as OCI does.
        self._iam_world.lookups.append(self._volumes.compartment_of)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> Emulator:
        if self._server is None:
            self._server = EmulatorHTTPServer(self._dispatcher)
            self._thread = self._server.serve_in_background()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.port

    @property
    def endpoint_template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{region}}"

    @property
    def metrics_endpoint_template(self) -> str:
        """For METRICS_ENDPOINT: Monitoring's telemetry ingestion (telemetry.py), on the same port."""
        return f"http://127.0.0.1:{self.port}{TELEMETRY_PREFIX}{{region}}"

    @property
    def identity_endpoint_template(self) -> str:
        """For IDENTITY_ENDPOINT: Identity's ListCompartments and ListAvailabilityDomains (identity.py)."""
        return f"http://127.0.0.1:{self.port}{IDENTITY_PREFIX}{{region}}"

    @property
    def compute_endpoint_template(self) -> str:
        """For COMPUTE_ENDPOINT: Compute's ListVolumeAttachments and ListBootVolumeAttachments (compute.py)."""
        return f"http://127.0.0.1:{self.port}{COMPUTE_PREFIX}{{region}}"

    @property
    def functions_endpoint_template(self) -> str:
        """For FUNCTIONS_ENDPOINT: Functions management (functions.py), on the same port."""
        return f"http://127.0.0.1:{self.port}{FUNCTIONS_PREFIX}{{region}}"

    @property
    def functions_invoke_endpoint_template(self) -> str:
        """What GetFunction returns as invokeEndpoint, for a test that builds an invoke client itself."""
        return f"http://127.0.0.1:{self.port}{FUNCTIONS_INVOKE_PREFIX}{{region}}"

    # Identity

    def trust(self, token: str, public_key_pem: bytes) -> None:
        self._trust.trust(token, public_key_pem)

    def revoke(self, token: str) -> None:
        self._trust.revoke(token)

    # State

    @property
    def copy_limit(self) -> int | None:
        return self._backend.copy_limit

    @copy_limit.setter
    def copy_limit(self, limit: int | None) -> None:
        self._backend.copy_limit = limit

    def add_backup(self, kind: str, region: str, compartment_id: str, **options: Any) -> dict[str, Any]:
        """Seed a backup; the options are Backend.seed's (display_name, lifecycle_state,
        time_created, source_backup_id, backup_id, freeform_tags, defined_tags, volume_id,
        expiration_time, source_type, size_in_gbs, and for a volume group backup members and
        boot_members: how many volume and boot volume backups it holds)."""
        return self._backend.add_backup(kind, region, compartment_id, **options)

    def seed_backup(self, kind: str, region: str, compartment_id: str, **options: Any) -> str:
        """add_backup without rendering the backup: for seeding worlds of a million backups."""
        return self._backend.seed(kind, region, compartment_id, **options).id

    def add_kms_key(self, region: str, key_id: str | None = None) -> str:
        """A Vault key in `region` that copies there may name; `key_id` when a test has chosen it already
        (a printed setup names it), else a new OCID."""
        return self._backend.add_kms_key(region, key_id)

    def backups(self, region: str, kind: str | None = None) -> list[dict[str, Any]]:
        return self._backend.backups(region, kind)

    def backups_in(self, region: str, compartment_id: str) -> list[dict[str, Any]]:
        """Every backup of one compartment in one region, in any state: what a test that seeds its
        own compartments reads, without rendering the rest of a session's (possibly large) world."""
        return self._backend.backups_in(region, compartment_id)

    def copies_of(self, source_backup_id: str, region: str | None = None) -> list[dict[str, Any]]:
        return self._backend.copies_of(source_backup_id, region)

    def complete_copies(self, region: str | None = None) -> int:
        return self._backend.complete_copies(region)

    def set_lifecycle_state(self, backup_id: str, state: str) -> None:
        self._backend.set_lifecycle_state(backup_id, state)

    def set_freeform_tags(self, backup_id: str, tags: dict[str, str]) -> None:
        self._backend.set_freeform_tags(backup_id, tags)

    def serve_fields(self, backup_id: str, fields: dict[str, Any], withhold: tuple[str, ...] = ()) -> None:
        """A test's hook: the backup is served with `fields` as written and without `withhold`
        (Backend.serve_fields), e.g. a retention lock, or a malformed item."""
        self._backend.serve_fields(backup_id, fields, withhold)

    def finish_deletions(self) -> int:
        """TERMINATING backups, volumes, boot volumes and volume groups become TERMINATED (OCI takes
        a while; tests say when); a terminated volume group's members leave it."""
        return self._backend.finish_deletions() + self._volumes.finish_deletions()

    def backup(self, backup_id: str) -> dict[str, Any]:
        """One backup as the API would return it, in whichever region it lives."""
        return self._backend.backup(backup_id)

    # Volumes, boot volumes and volume groups: what backups restore to (volumes.py)
    #
    # CreateVolume / CreateBootVolume / CreateVolumeGroup answer PROVISIONING; a test moves a restore
    # on: begin_restoring (volumes and boot volumes to RESTORING), finish_restores (AVAILABLE),
    # fail_restore (FAULTY), hydrate (isHydrated true). Each takes one OCID (a group's members
    # follow their group) or, where it says so, none for all of them.

    def add_volume(self, kind: str, region: str, compartment_id: str, **options: Any) -> dict[str, Any]:
        """Seed a "volume", "boot_volume" or "volume_group" as the API would return it, AVAILABLE and
        hydrated unless told otherwise. The options are Volumes.seed's: availability_domain (the
        region's first by default), display_name, lifecycle_state, size_in_gbs, vpus_per_gb,
        freeform_tags, defined_tags, source_details (e.g. {"type": "volume", "id": ...} for a
        clone), kms_key_id, is_hydrated, time_created, members (a group's volume OCIDs)."""
        return self._volumes.seed(kind, region, compartment_id, **options)

    def volume(self, resource_id: str) -> dict[str, Any]:
        """A volume, boot volume or volume group as the API would return it, in whichever region."""
        return self._volumes.find(resource_id)

    def volumes(self, region: str, kind: str | None = None) -> list[dict[str, Any]]:
        """A region's volumes, boot volumes and volume groups (or those of one kind), terminated ones too."""
        return self._volumes.listing(region, kind)

    def restores_of(self, backup_id: str, region: str | None = None) -> list[dict[str, Any]]:
        """Every volume, boot volume or volume group restored from `backup_id` (its sourceDetails)."""
        return self._volumes.restores_of(backup_id, region)

    def begin_restoring(self, resource_id: str | None = None) -> int:
        """PROVISIONING volumes and boot volumes become RESTORING (a group itself stays PROVISIONING)."""
        return self._volumes.begin_restoring(resource_id)

    def finish_restores(self, resource_id: str | None = None) -> int:
        """Restores in progress become AVAILABLE, not yet hydrated; a group once its members are."""
        return self._volumes.finish_restores(resource_id)

    def fail_restore(self, resource_id: str) -> None:
        """The restore of this volume, boot volume or group fails: FAULTY."""
        self._volumes.fail_restore(resource_id)

    def hydrate(self, resource_id: str | None = None) -> int:
        """The data of AVAILABLE restores has finished copying: isHydrated becomes true."""
        return self._volumes.hydrate(resource_id)

    def set_volume_state(self, resource_id: str, state: str) -> None:
        self._volumes.set_state(resource_id, state)

    def set_volume_tags(self, resource_id: str, tags: dict[str, str]) -> None:
        """An operator's console edit of a volume's freeform tags: replaced whole, a new ETag."""
        self._volumes.set_freeform_tags(resource_id, tags)

    def set_group_members(self, group_id: str, volume_ids: list[str]) -> None:
        """An operator's UpdateVolumeGroup: the group's volumes become `volume_ids` (added ones join it)."""
        self._volumes.set_group_members(group_id, volume_ids)

    def attach(
        self,
        volume_id: str,
        *,
        instance_id: str | None = None,
        compartment_id: str | None = None,
        lifecycle_state: str = "ATTACHED",
    ) -> dict[str, Any]:
        """Attach a volume or boot volume to an instance (a made-up one unless named), whose
        compartment (the volume's unless named) is where Compute lists the attachment. Block
        Storage then refuses to delete the volume with 409 Conflict."""
        return self._volumes.attach(
            volume_id, instance_id=instance_id, compartment_id=compartment_id, lifecycle_state=lifecycle_state
        )

    def detach(self, attachment_id: str) -> None:
        """The attachment becomes DETACHED (and stays listed, as in OCI); the volume may be deleted."""
        self._volumes.attachments.set_state(attachment_id, "DETACHED")

    def attachments(self, region: str | None = None) -> list[dict[str, Any]]:
        return self._volumes.attachments.everything(region)

    def set_availability_domains(self, region: str, names: list[str]) -> None:
        """The region's availability domains, as ListAvailabilityDomains answers and restores accept
        (three per region by default, e.g. NfHZ:PHX-AD-1)."""
        self._volumes.availability_domains.set(region, names)

    def availability_domains(self, region: str) -> list[str]:
        return self._volumes.availability_domains.names(region)

    def clear_volumes(self) -> None:
        """Every volume, boot volume, volume group and attachment goes, in every region."""
        self._volumes.clear()

    # Observation and failure injection

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._dispatcher.requests

    def clear_requests(self) -> None:
        self._dispatcher.clear_requests()

    def inject(self, fault: Fault) -> None:
        self._faults_of(fault.operation).inject(fault)

    def faults_remaining(self) -> int:
        return self._faults.remaining() + sum(service.faults.remaining() for service in self._other_services())

    def clear_faults(self) -> None:
        """Every injected fault, latency and switched-on calls-a-second limit goes."""
        self._faults.clear()
        for service in self._other_services():
            service.faults.clear()
        self._latency.clear()
        self._dispatcher.rate.limit = None
        self._identity.rate.limit = None
        self._compute.service.rate.limit = None

    def deny(self, operation: str, *, region: str | None = None, kind: str | None = None) -> None:
        """`operation` answers 404 NotAuthorizedOrNotFound, as a missing IAM policy does: a Block
        Storage one ("copy" with a kind, "delete_volume", ...) or another service's by name."""
        service = self._service_of.get(operation)
        (service.policy if service else self._policy).deny(Denial(operation, region, kind))

    def deny_compartment(self, compartment_id: str) -> None:
        """No policy in this compartment: listing its child compartments (Identity) and its
        backups (Block Storage) answers 404 NotAuthorizedOrNotFound, as OCI does."""
        self._denied_compartments.deny(compartment_id)

    def allow_all(self) -> None:
        """Every denial goes, and IAM enforcement (enforce_policies) is switched off."""
        self._dispatcher.gate = None
        self._policy.allow_all()
        for service in self._other_services():
            service.policy.allow_all()
        self._denied_compartments.clear()

    # IAM (iam/): the recorded statements, enforced

    def enforce_policies(
        self, statements: Iterable[str], dynamic_groups: Mapping[str, str], *, compartment_id: str | None = None
    ) -> None:
        """From now on every signed request, on every service, is allowed only as these IAM statements
        allow its resource principal; anything else answers 404 NotAuthorizedOrNotFound, as OCI does.
        `dynamic_groups` maps each group's name to its matching rule; the statements form one policy
        attached to `compartment_id` (the tenancy when None). A statement or rule the emulator cannot
        evaluate raises iam.PolicySyntaxError. Off again with stop_enforcing_policies or allow_all."""
        engine = PolicyEngine(self._iam_world, dynamic_groups)
        engine.add_policy(statements, compartment_id)
        self._dispatcher.gate = PolicyGate(engine, self._iam_world, self._trust)

    def add_policy(self, statements: Iterable[str], *, compartment_id: str | None = None) -> None:
        """Another policy beside enforce_policies' (attached to `compartment_id`, the tenancy when None)."""
        gate = self._dispatcher.gate
        if not isinstance(gate, PolicyGate):
            raise RuntimeError("call enforce_policies first: add_policy adds to the policies being enforced")
        gate.engine.add_policy(statements, compartment_id)

    def stop_enforcing_policies(self) -> None:
        self._dispatcher.gate = None

    def set_latency(self, operation: str, seconds: float) -> None:
        """Every request of `operation` ("list", "get", ..., "*" for every Block Storage one,
        "list_compartments", "post_metrics") takes `seconds` longer; 0 removes it."""
        self._latency.set(operation, seconds)

    def limit_call_rate(self, service: str, calls_per_second: int | None) -> None:
        """Switch on (or off, None) a calls-a-second limit past which `service` ("blockstorage"
        "identity" or "compute") answers 429 TooManyRequests. Monitoring's 50 is always on."""
        self.call_rate(service).limit = calls_per_second

    def call_rate(self, service: str) -> CallRate:
        """A service's call counter, whose clock a test may hold still."""
        rates = {
            "blockstorage": self._dispatcher.rate,
            "identity": self._identity.rate,
            "compute": self._compute.service.rate,
            "monitoring": self._telemetry.rate,
        }
        if service not in rates:
            raise ValueError(f"service must be one of {sorted(rates)}, not {service!r}")
        return rates[service]

    @property
    def in_flight(self) -> int:
        """Requests being answered right now, on every service."""
        return self._dispatcher.in_flight

    def wait_for_in_flight(self, count: int, timeout: float = 10.0) -> bool:
        """Whether `count` requests were being answered at once before `timeout` seconds passed."""
        return self._dispatcher.wait_for_in_flight(count, timeout)

    def _faults_of(self, operation: str) -> FaultPlan:
        service = self._service_of.get(operation)
        return service.faults if service else self._faults

    def _other_services(self) -> list[TelemetryIngestion | IdentityService | FunctionsService | ComputeService]:
        return list({id(service): service for service in self._service_of.values()}.values())

    # Identity: the tenancy's compartments

    @property
    def tenancy_id(self) -> str:
        return self._identity.directory.tenancy_id

    def add_compartment(
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
        """A compartment under `parent_id` (the tenancy or another compartment); its OCID (`compartment_id`,
        to register one that backups were already seeded in, else a new one)."""
        return self._identity.directory.add(
            parent_id,
            name,
            lifecycle_state=lifecycle_state,
            description=description,
            time_created=time_created,
            freeform_tags=freeform_tags,
            compartment_id=compartment_id,
        )

    def set_compartment_state(self, compartment_id: str, lifecycle_state: str) -> None:
        self._identity.directory.set_state(compartment_id, lifecycle_state)

    def compartment(self, compartment_id: str) -> dict[str, Any]:
        return self._identity.directory.get(compartment_id)

    @property
    def identity(self) -> IdentityService:
        return self._identity

    # Monitoring

    def posted_metrics(self, compartment_id: str | None = None) -> list[PostedMetric]:
        """Every metric stream Monitoring accepted, oldest first; optionally of one compartment."""
        return [m for m in self._telemetry.posted if compartment_id in (None, m.compartment_id)]

    def clear_metrics(self) -> None:
        self._telemetry.clear()

    @property
    def telemetry(self) -> TelemetryIngestion:
        return self._telemetry

    # Functions (functions.py)

    def add_function(self, region: str, compartment_id: str, **options: Any) -> dict[str, Any]:
        """Seed a function, as GetFunction returns it (without invokeEndpoint, which depends on the
        caller's host); the options are FunctionsService.add's (display_name, application_id,
        function_id, timeout_in_seconds, detached_mode_timeout_in_seconds, failure_destination,
        memory_in_mbs, config)."""
        return self._functions.add(region, compartment_id, **options)

    def update_function(self, function_id: str, **fields: Any) -> None:
        """Change a function's API fields by their JSON names, e.g. detachedModeTimeoutInSeconds=None."""
        self._functions.update(function_id, **fields)

    def serve_function(self, function_id: str, runner: Runner) -> None:
        """Who runs the function's invocations: `runner(FunctionCall)` returns its answer
        (status, headers, body); the emulator never imports the function's code."""
        self._functions.serve(function_id, runner)

    def function_invocations(self, function_id: str | None = None) -> list[FunctionInvocation]:
        """Every InvokeFunction call accepted so far, oldest first."""
        return self._functions.invocations(function_id)

    def wait_for_detached(self, timeout: float = 60.0) -> list[FunctionInvocation]:
        """Wait until every detached run (those they start included) has finished; return them."""
        return self._functions.wait_for_detached(timeout)

    def clear_function_invocations(self) -> None:
        self._functions.clear()
