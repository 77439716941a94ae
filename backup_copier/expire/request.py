"""The expiry pass: `{"action": "expire", "compartmentId": ..., "destinationRegions": [...], "dryRun": false, "maxDeletes": 50}`.

For each destination region it lists the compartment's copies of the three kinds, keeps
every copy a rule protects (plan.py), and deletes the marked copies whose expiry has
passed, oldest expiry first, until maxDeletes or the deadline; the next run goes on from
there. It keeps no state: every run recomputes from what exists in OCI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..backups.listing import OutOfTime, check_time, pages
from ..shared import runtime
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import SPECS
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.request import Request, compartment_ocid, optional_regions, regions_for, validated
from ..shared.result import InvocationResult
from .deletion import Deleter
from .plan import Candidate, RegionPlan
from .summary import Summary

DEFAULT_MAX_DELETES = 50
MAX_DELETES = 1000


class ExpireBody(BaseModel):
    """The body as sent. Unknown fields are refused: an operator's typo must not be ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: Literal["expire"]
    compartment_id: str = Field(alias="compartmentId")
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")
    dry_run: bool | None = Field(default=None, alias="dryRun")
    max_deletes: int = Field(default=DEFAULT_MAX_DELETES, ge=1, le=MAX_DELETES, alias="maxDeletes")


@dataclass
class ExpireRequest(Request):
    compartment_id: str
    destination_regions: tuple[str, ...] | None
    dry_run: bool | None
    max_deletes: int
    event_id: str | None = None

    def execute(self, invocation: Invocation) -> InvocationResult:
        container = runtime.container()
        settings, clients = container.settings, container.clients
        _, destinations = regions_for(
            clients.home_region,
            self.destination_regions,
            settings.destination_regions,
            "is the region the function runs in; copies live in the other regions",
        )
        summary = Summary(
            compartment_id=self.compartment_id,
            destination_regions=destinations,
            dry_run=settings.dry_run if self.dry_run is None else self.dry_run,
            max_deletes=self.max_deletes,
            keep_last=settings.keep_last_copies,
        )
        ExpiryPass(summary, clients, invocation, datetime.now(UTC)).run()
        return summary.result()


@dataclass
class ExpiryPass:
    summary: Summary
    clients: BlockStorageClients
    invocation: Invocation
    now: datetime

    def run(self) -> None:
        due: list[Candidate] = []
        region = ""
        try:
            for region in self.summary.destination_regions:
                due += self._plan(region)
        except OutOfTime:
            return  # scan incomplete: nothing is deleted on a partial picture
        except SERVICE_FAILURES as error:
            verdict = verdict_for(error, action="list the copies", region=region)
            self.summary.fatal = (verdict.reason_code, verdict.reason)
            return
        self.summary.scan_complete = True
        due.sort(key=lambda candidate: (candidate.expires, candidate.copy_id))
        self._delete(due)

    def _plan(self, region: str) -> list[Candidate]:
        plan = RegionPlan(region, self.summary.keep_last, self.now)
        for spec in SPECS.values():
            for copy in pages(self.clients, self.invocation, region, spec, self.summary.compartment_id, "DESC"):
                plan.consider(copy, spec)
        due = plan.finish()
        self.summary.kept.update(plan.kept)
        return due

    def _delete(self, due: list[Candidate]) -> None:
        deleter = Deleter(self.clients, self.invocation, self.now)
        for index, candidate in enumerate(due):
            if len(self.summary.deleted) + len(self.summary.planned) >= self.summary.max_deletes:
                self.summary.stopped_early = "max_deletes"
                self.summary.remaining = len(due) - index
                return
            if self.summary.dry_run:
                self.summary.planned.append(candidate.to_json())
                continue
            try:
                check_time(self.invocation)
            except OutOfTime:
                self.summary.stopped_early = "deadline"
                self.summary.remaining = len(due) - index
                return
            deletion = deleter.delete(candidate)
            if deletion.verdict in ("deleted", "already_gone"):
                self.summary.deleted.append(candidate.to_json())
            elif deletion.verdict == "changed":
                self.summary.kept["ChangedSinceListed"] += 1
            else:
                self.summary.failed.append(
                    {**candidate.to_json(), "reasonCode": deletion.reason_code or "", "reason": deletion.reason or ""}
                )


def parse(document: dict[str, Any]) -> ExpireRequest:
    body = validated(ExpireBody, document)
    return ExpireRequest(
        compartment_id=compartment_ocid(body.compartment_id),
        destination_regions=optional_regions(body.destination_regions, "destinationRegions"),
        dry_run=body.dry_run,
        max_deletes=body.max_deletes,
    )
