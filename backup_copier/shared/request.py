"""What a parsed request is, and the helpers that validate a body into one.

Every capability's parser returns a Request; the invocation runs it and, should it raise,
asks it for the answer that names what it was doing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .context import Invocation
from .errors import CopierError, InvalidRequest, InvalidSetting
from .kinds import SPECS, BackupKind, KindSpec
from .outcomes import verdict_for
from .result import InvocationResult
from .settings import parse_regions

ModelT = TypeVar("ModelT", bound=BaseModel)


class Request:
    """One parsed body: an event's copy, or an operator's action."""

    event_id: str | None = None

    def execute(self, invocation: Invocation) -> InvocationResult:
        raise NotImplementedError

    def answer_failure(self, error: BaseException) -> InvocationResult:
        """The answer when execute() raised; actions name their own steps in their answers."""
        verdict = verdict_for(error, action="the requested action")
        return InvocationResult(verdict.outcome, verdict.reason_code, verdict.reason)


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
