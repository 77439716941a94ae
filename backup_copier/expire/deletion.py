"""Deleting one due copy, safely: read it fresh, check every rule again, delete it only as read.

The listing the plan came from may be minutes old; an operator may have changed the expiry
tag since, or another run may be deleting the same copy. So each deletion reads the copy
again, re-applies the rules to what it reads, and deletes with If-Match on that read's
ETag: a copy changed in between is left for the next run (412), never deleted on old facts.
A copy already TERMINATING, TERMINATED or gone counts as deleted, so concurrent runs and a
run after a crash converge. "Gone" is proven, not assumed: OCI answers 404 both for a
missing copy and for a missing permission, so a 404 is believed only when listing the
copy's volume no longer shows it alive.

A copy this pass deleted is then recorded on its source (backups/expired.py: an expiry the
function carried out is final, so no run copies that source into the region again). The record
never changes the deletion's verdict: when it cannot be written, the deletion says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from oci import exceptions as oci_exceptions

from ..backups.listing import pages
from ..backups.marker import Problem, record_expiry
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.errors import InvalidRequest
from ..shared.ocids import parse_ocid
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.retries import is_retryable_except_409
from .plan import GONE_STATES, Candidate, kept_reason

Verdict = Literal["deleted", "already_gone", "changed", "failed"]


@dataclass(frozen=True)
class Deletion:
    verdict: Verdict
    reason_code: str | None = None
    reason: str | None = None
    # A copy this pass deleted whose expiry could not be recorded on its source: (code, sentence).
    unrecorded: Problem | None = None


@dataclass
class Deleter:
    clients: BlockStorageClients
    invocation: Invocation
    now: datetime

    def delete(self, candidate: Candidate) -> Deletion:
        invocation = self.invocation.retrying_only(is_retryable_except_409)
        client = self.clients.for_region(candidate.region)
        try:
            fresh = self._read(client, candidate, invocation)
            if fresh is None:
                return self._gone_or_refused(candidate, invocation, "read")
            if fresh.data.lifecycle_state in GONE_STATES:
                return Deletion("already_gone")
            reason = kept_reason(fresh.data, candidate.spec, self.now)
            if reason is not None:
                return Deletion("changed", "ChangedSinceListed", f"kept: {reason} when read again")
            getattr(client, candidate.spec.delete_operation)(
                candidate.copy_id, if_match=fresh.headers.get("etag"), retry_strategy=invocation.retry_strategy
            )
        except oci_exceptions.ServiceError as error:
            return self._refused(error, client, candidate, invocation)
        except SERVICE_FAILURES as error:
            return self._failed(error, candidate)
        return Deletion("deleted", unrecorded=self._record(candidate))

    def _record(self, candidate: Candidate) -> Problem | None:
        """The expiry carried out, recorded on the copy's source (backups/expired.py): never fails the deletion."""
        try:
            source = parse_ocid(
                candidate.source_backup_id, field="sourceBackupId", types={candidate.spec.ocid_type}, regional=True
            )
        except InvalidRequest as error:
            return error.code, f"the mark's source backup is not one this function can tag: {error.message}"
        # The source lives in the region its OCID names: the region the function runs in, for every
        # copy this function made (the IAM grants UPDATE there).
        source_region = source.region or self.clients.home_region or ""
        return record_expiry(
            candidate.spec,
            self.clients,
            self.invocation,
            source_region,
            candidate.source_backup_id,
            candidate.region,
            candidate.copy_id,
        )

    def _refused(
        self, error: oci_exceptions.ServiceError, client: Any, candidate: Candidate, invocation: Invocation
    ) -> Deletion:
        """What a service error on the read or the delete means: gone, changed, or failed."""
        if error.status == 404:
            return self._gone_or_refused(candidate, invocation, "delete")
        if error.status == 412:
            return Deletion("changed", "ChangedSinceListed", "the copy changed between its read and its deletion")
        if error.status == 409:
            return self._after_conflict(client, candidate, invocation, error)
        return self._failed(error, candidate)

    def _read(self, client: Any, candidate: Candidate, invocation: Invocation) -> Any:
        try:
            return getattr(client, candidate.spec.get_operation)(
                candidate.copy_id, retry_strategy=invocation.retry_strategy
            )
        except oci_exceptions.ServiceError as error:
            if error.status == 404:
                return None
            raise

    def _after_conflict(
        self, client: Any, candidate: Candidate, invocation: Invocation, error: oci_exceptions.ServiceError
    ) -> Deletion:
        try:
            fresh = self._read(client, candidate, invocation)
        except SERVICE_FAILURES:
            return self._failed(error, candidate)
        if fresh is None:
            return self._gone_or_refused(candidate, invocation, "read")
        if fresh.data.lifecycle_state in GONE_STATES:
            return Deletion("already_gone")
        return self._failed(error, candidate)

    def _gone_or_refused(self, candidate: Candidate, invocation: Invocation, operation: str) -> Deletion:
        try:
            alive = self._still_listed(candidate, invocation)
        except SERVICE_FAILURES as error:
            return self._failed(error, candidate)
        if not alive:
            return Deletion("already_gone")
        api = getattr(candidate.spec, f"{operation}_operation" if operation == "delete" else "get_operation")
        return Deletion(
            "failed",
            "NotAuthorizedOrNotFound",
            f"{operation} {candidate.copy_id} in {candidate.region}: 404 NotAuthorizedOrNotFound, yet the copy is still "
            f"listed, so the function's dynamic group lacks {candidate.spec.delete_permission} (for {api}) there. Add "
            "the expiry statements from `.venv/bin/python -m backup_copier.deploy_kit policies` (docs/retention.md).",
        )

    def _still_listed(self, candidate: Candidate, invocation: Invocation) -> bool:
        """Whether listing the copy's volume (or its source) still shows the copy, not being deleted."""
        spec = candidate.spec
        if candidate.resource_id:
            filters = {spec.resource_attribute: candidate.resource_id}
        elif spec.list_source_filter:
            filters = {spec.list_source_filter: candidate.source_backup_id}
        else:
            return True  # cannot tell: never report a copy deleted on a guess
        for listed in pages(
            self.clients, invocation, candidate.region, spec, candidate.compartment_id, "DESC", **filters
        ):
            if listed.id == candidate.copy_id:
                return listed.lifecycle_state not in GONE_STATES
        return False

    def _failed(self, error: BaseException, candidate: Candidate) -> Deletion:
        verdict = verdict_for(error, action=f"delete {candidate.copy_id}", region=candidate.region)
        return Deletion("failed", verdict.reason_code, verdict.reason)
