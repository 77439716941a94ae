"""What a parsed request is, and the helpers that validate a body into one.

Every capability's parser returns a Request; the invocation runs it and, should it raise,
asks it for the answer that names what it was doing. An operator's action over a scope
(ActionRequest) makes every check it can before its first read in a step of its own, check(),
so that a coordinator makes exactly those checks before it starts any child.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from . import runtime
from .context import Invocation
from .errors import CopierError, InvalidRequest, InvalidSetting
from .kinds import SPECS, BackupKind, KindSpec
from .metrics import UNSPLIT, PostingSlot
from .outcomes import verdict_for
from .result import InvocationResult
from .runtime import Container
from .scope import Scope
from .settings import parse_regions

ModelT = TypeVar("ModelT", bound=BaseModel)


class Request:
    """One parsed body: an event's copy, or an operator's action."""

    event_id: str | None = None
    # Set by dispatch.py on a child of a fan-out: the coordinator's call id (`fanOutOf`), and the
    # child's share of the function's calls to Monitoring (`metricsSlot`; shared/metrics.py).
    fan_out_of: str | None = None
    metrics_slot: PostingSlot = UNSPLIT

    def execute(self, invocation: Invocation) -> InvocationResult:
        raise NotImplementedError

    def answer_failure(self, error: BaseException) -> InvocationResult:
        """The answer when execute() raised; actions name their own steps in their answers."""
        verdict = verdict_for(error, action="the requested action")
        return InvocationResult(verdict.outcome, verdict.reason_code, verdict.reason)


@dataclass(frozen=True)
class Budget:
    """A limit over a request's whole scope: the body field that sets it (maxCopies, maxDeletes) and its value."""

    field: str
    total: int


@dataclass(frozen=True)
class Checked:
    """An action whose checks before its first read all passed: its container, the region the function runs
    in (which it reads), and the destination regions, none of them that one."""

    container: Container
    home_region: str
    destination_regions: tuple[str, ...]


class ActionRequest(Request):
    """An operator's action over a scope (reconcile, expire, report): its checks, then its run.

    check() is every check the action makes before it reads anything: the settings (loaded with
    the container) and the regions. The coordinator of a fan-out calls it before it starts any
    child (fan_out/request.py), so a body every child would refuse is refused once, answered as
    the action answers it, and no child is started.
    """

    scope: Scope
    destination_regions: tuple[str, ...] | None
    # Why the function's own region cannot be a destination, in the action's words (regions_for).
    home_region_problem: ClassVar[str]

    @property
    def budget(self) -> Budget | None:
        """The action's whole-scope limit, which a fan-out shares among its children; None if it has none."""
        return None

    def check(self, container: Container) -> Checked:
        home, destinations = regions_for(
            container.clients.home_region,
            self.destination_regions,
            container.settings.destination_regions,
            self.home_region_problem,
        )
        return Checked(container, home, destinations)

    def execute(self, invocation: Invocation) -> InvocationResult:
        return self.run(invocation, self.check(runtime.container()))

    def run(self, invocation: Invocation, checked: Checked) -> InvocationResult:
        raise NotImplementedError


def validated(model: type[ModelT], document: dict[str, Any]) -> ModelT:
    """`document` as `model`, or an InvalidRequest naming the first bad field."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise invalid(exc) from None


def optional_regions(value: list[str] | None, field: str) -> tuple[str, ...] | None:
    """Regions an operator's request names, normalised; None when it names none."""
    if value is None:
        return None
    try:
        return parse_regions(value)
    except ValueError as exc:
        raise InvalidRequest(field, str(exc)) from None


def invalid(exc: ValidationError) -> InvalidRequest:
    """The first problem pydantic found, as an InvalidRequest naming its field."""
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    problem = "is required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        problem = "is not a field of this request"
    return InvalidRequest(field, problem, "InvalidField")


def json_type(value: object) -> str:
    """JSON's name for the type of a decoded value, for messages."""
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}.get(
        type(value), "value"
    )


def chosen_specs(kinds: list[BackupKind] | None) -> tuple[KindSpec, ...]:
    """The kinds a request names (all three when it names none), in the table's order whatever
    the body's, so that answers list kinds the same way every time."""
    wanted = set(kinds) if kinds else set(BackupKind)
    return tuple(spec for kind, spec in SPECS.items() if kind in wanted)


def regions_for(
    home: str | None, requested: tuple[str, ...] | None, configured: tuple[str, ...], problem: str
) -> tuple[str, tuple[str, ...]]:
    """The region the function runs in, and the destination regions (the request's, else the
    settings'), none of which may be the function's own: `problem` says why, after the region."""
    if not home:
        raise CopierError("cannot tell which region the function runs in: the resource principal names none")
    destinations = requested or configured
    if home in destinations:
        if requested:
            raise InvalidRequest("destinationRegions", f"{home} {problem}")
        raise InvalidSetting("DESTINATION_REGION", f"{home} {problem}")
    return home, destinations
