"""Starting a drill: the copy restored in its own region and compartment, marked, and bound to its copy.

- Kinds: a volume backup becomes a volume (CreateVolume), a boot volume backup a boot volume
  (CreateBootVolume), a volume group backup a volume group (CreateVolumeGroup from
  volumeGroupBackupId), whose volumes are part of the same drill.
- Where: the copy's compartment, in the copy's region, in the first availability domain Identity's
  ListAvailabilityDomains names there, unless DRILL_AVAILABILITY_DOMAIN_<REGION> names another.
- How: a volume at the lowest performance (vpusPerGB 0, Lower Cost); a boot volume at 10 (Balanced),
  the lowest CreateBootVolumeDetails allows ("Allowed values": 10, 20, 30 to 120); both at the copy's
  own size, and with the region's KMS_KEY_ID_<REGION> when set, so the drill also proves the key can
  decrypt. CreateVolumeGroupDetails has no size, performance or key: a group is restored as its
  backup says, with Oracle-provided keys.
- The create request carries the mark (marks.py) and a retry token of its own, so a request the
  SDK sends again after a lost answer makes one resource, not two. Right after it, the copy records
  the drill as running and the mark is rewritten to name the resource's own OCID: either one binds
  the OCID to the drill, so a pass stopped between them leaves a drill the next pass still proves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oci import exceptions as oci_exceptions

from ..shared.clients import BlockStorageClients, IdentityClients
from ..shared.context import Invocation
from ..shared.errors import CopierError, InvalidSetting
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.retries import is_retryable_except_409
from ..shared.settings import Settings, drill_availability_domain_setting
from . import marks, tags
from .restored import Restored, write_mark
from .rotation import CopyFacts, VolumeKey
from .summary import Entry
from .teardown import DRILL_STATEMENTS

# A drill's resources are named after their copy, so an operator sees at once what they are.
NAME_PREFIX = "drill-"
MAX_NAME_LENGTH = 255


class NoAvailabilityDomain(CopierError):
    """The region's availability domains could not be read, or none matches the setting."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Restorer:
    settings: Settings
    clients: BlockStorageClients
    identity: IdentityClients
    invocation: Invocation
    function_id: str
    _domains: dict[str, str] = field(default_factory=dict)

    def start(self, key: VolumeKey, copy: CopyFacts, now: datetime) -> Entry:
        entry = Entry(key.volume_id, key.kind.value, key.region, copy.id, None, "notStarted")
        entry.size_in_gbs, entry.compartment_id = copy.size_in_gbs, copy.compartment_id
        mark = marks.DrillMark(self.function_id, copy.id, key.volume_id, now)
        try:
            domain = self.availability_domain(key.region, copy.compartment_id)
            created = self._create(copy, mark, domain)
        except NoAvailabilityDomain as error:
            entry.fail(error.code, error.message)
            return entry
        except SERVICE_FAILURES as error:
            verdict = verdict_for(
                error,
                action=f"restore {copy.id} in {key.region}",
                region=key.region,
                refused=f"The copy was deleted, or the function's dynamic group lacks a permission: add {DRILL_STATEMENTS}.",
            )
            if _refused_restore(error):
                # The service refused this copy's restore (a key that cannot decrypt, a copy no longer
                # AVAILABLE): the drill's finding, recorded on the copy like any failed drill.
                entry.state, entry.reason_code, entry.reason = "failed", verdict.reason_code, verdict.reason
                self._record_refusal(copy, entry, now)
            else:
                entry.fail(verdict.reason_code, verdict.reason)
            return entry
        entry.restored, entry.state = created.id, "started"
        entry.size_in_gbs = created.size_in_gbs or copy.size_in_gbs
        self._bind(copy, mark, created, entry)
        return entry

    def _record_refusal(self, copy: CopyFacts, entry: Entry, now: datetime) -> None:
        last = marks.LastDrill("failed", now, entry.reason_code or "Refused", "")
        try:
            tags.merge_tags(
                self.clients.for_region(copy.region),
                tags.Operations.of_copy(copy.spec),
                copy.id,
                lambda current: marks.recorded_tags(marks.tags_of(current), last=last),
                self.invocation,
            )
        except (*SERVICE_FAILURES, tags.TagsChanging):
            pass  # the answer and the drills_failed metric say it; the next turn restores it again

    def availability_domain(self, region: str, compartment_id: str) -> str:
        """The region's first availability domain, or the one DRILL_AVAILABILITY_DOMAIN_<REGION> names;
        read once per pass and region."""
        if region in self._domains:
            return self._domains[region]
        client = self.identity.for_region(region)
        try:
            listed = client.list_availability_domains(compartment_id, retry_strategy=self.invocation.retry_strategy)
        except SERVICE_FAILURES as error:
            verdict = verdict_for(
                error,
                action=f"list the availability domains of {region}",
                region=region,
                refused=f"The function's dynamic group lacks COMPARTMENT_INSPECT there: add {DRILL_STATEMENTS}.",
            )
            raise NoAvailabilityDomain(verdict.reason_code, verdict.reason) from None
        names = [str(domain.name) for domain in listed.data]
        wanted = self.settings.drill_availability_domains.get(region)
        chosen = _matching(names, wanted) if wanted else (names[0] if names else None)
        if chosen is None:
            key = drill_availability_domain_setting(region)
            problem = (
                f"{wanted!r} is none of {region}'s availability domains ({', '.join(names) or 'none listed'})"
                if wanted
                else f"Identity lists no availability domain in {region}"
            )
            setting = InvalidSetting(key, problem)
            raise NoAvailabilityDomain(
                setting.code, f"{setting.message}. Fix it with: fn config function <app> <function> {key} <name>"
            )
        self._domains[region] = chosen
        return chosen

    def _create(self, copy: CopyFacts, mark: marks.DrillMark, domain: str) -> Restored:
        # Deferred for cold start, as in shared/clients.py.
        from oci.core import models

        restore = copy.spec.restore
        source = getattr(models, restore.source_details_class)(**{restore.source_id_attribute: copy.id})
        fields: dict[str, Any] = {
            "compartment_id": copy.compartment_id,
            "availability_domain": domain,
            "display_name": (NAME_PREFIX + (copy.display_name or copy.id))[:MAX_NAME_LENGTH],
            "freeform_tags": mark.tags(),
            "source_details": source,
        }
        if restore.lowest_vpus_per_gb is not None:
            fields["vpus_per_gb"] = restore.lowest_vpus_per_gb
            if copy.size_in_gbs:
                fields["size_in_gbs"] = copy.size_in_gbs
            key_id = self.settings.kms_key_ids.get(copy.region)
            if key_id:
                fields["kms_key_id"] = key_id
        details = getattr(models, restore.create_details_class)(**fields)
        client = self.clients.for_region(copy.region)
        response = getattr(client, restore.create_operation)(
            details,
            opc_retry_token=retry_token(),
            retry_strategy=self.invocation.retrying_only(is_retryable_except_409).retry_strategy,
        )
        return Restored.of(copy.spec, copy.region, response.data, response.headers.get("etag"))

    def _bind(self, copy: CopyFacts, mark: marks.DrillMark, created: Restored, entry: Entry) -> None:
        """The copy records the drill; the mark names the resource. Either is enough to prove it later."""
        client = self.clients.for_region(copy.region)
        problems = []
        try:
            tags.merge_tags(
                client,
                tags.Operations.of_copy(copy.spec),
                copy.id,
                lambda current: marks.recorded_tags(marks.tags_of(current), running=created.id),
                self.invocation,
            )
        except (*SERVICE_FAILURES, tags.TagsChanging) as error:
            problems.append(_said(error, f"record the drill on {copy.id}", copy.region))
        bound = marks.DrillMark(mark.function_id, mark.copy_id, mark.volume_id, mark.started, created.id)
        try:
            write_mark(self.clients, created, bound, self.invocation)
        except (*SERVICE_FAILURES, tags.TagsChanging) as error:
            problems.append(_said(error, f"tag {created.id}", copy.region))
        if len(problems) == 2:
            entry.fail(
                "DrillUnbound",
                f"restored {created.id}, but neither its copy nor the volume could be tagged ({problems[0]}; "
                f"{problems[1]}): no pass can prove it is a drill, so none will delete it. Delete it by hand, and add "
                f"{DRILL_STATEMENTS}",
            )


def retry_token() -> str:
    """A token of this create request alone: the SDK sends it with each retry of the request, so a retry
    after a lost answer makes one resource, not two; a later drill of the same copy gets a new one."""
    return "drill-" + uuid.uuid4().hex


def _refused_restore(error: BaseException) -> bool:
    """A 400 or 409: the service refused this restore as asked, which trying later will not change."""
    return isinstance(error, oci_exceptions.ServiceError) and error.status in (400, 409)


def _matching(names: list[str], wanted: str) -> str | None:
    """The listed name `wanted` is, whole or after its tenancy prefix, in any case."""
    wanted = wanted.strip().lower()
    for name in names:
        if name.lower() == wanted or name.lower().partition(":")[2] == wanted:
            return name
    return None


def _said(error: BaseException, action: str, region: str) -> str:
    if isinstance(error, tags.TagsChanging):
        return str(error)
    return verdict_for(error, action=action, region=region).reason
