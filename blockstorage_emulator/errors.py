"""OCI service errors, one class per error code the Block Storage API answers.

Codes, statuses and default messages follow the OCI API error reference so
that the SDK raises the same `oci.exceptions.ServiceError` it would in OCI.
"""

from __future__ import annotations


class ServiceError(Exception):
    status: int = 500
    code: str = "InternalServerError"
    default_message: str = "Internal server error."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        # Why the emulator answered so, for tests; never sent to the client.
        self.detail: str | None = None
        super().__init__(self.message)

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidParameter(ServiceError):
    status, code = 400, "InvalidParameter"
    default_message = "A parameter in the request is invalid."


class MissingParameter(ServiceError):
    status, code = 400, "MissingParameter"
    default_message = "A required parameter is missing."


class LimitExceeded(ServiceError):
    status, code = 400, "LimitExceeded"
    default_message = (
        "Fulfilling this request exceeds the Oracle-defined limit for this tenancy for this resource type."
    )


class NotAuthenticated(ServiceError):
    status, code = 401, "NotAuthenticated"
    default_message = "The required information to complete authentication was not provided or was incorrect."


class NotAuthorizedOrNotFound(ServiceError):
    status, code = 404, "NotAuthorizedOrNotFound"
    default_message = "Authorization failed or requested resource not found."


class MethodNotAllowed(ServiceError):
    status, code = 405, "MethodNotAllowed"
    default_message = "Method not allowed."


class Conflict(ServiceError):
    status, code = 409, "Conflict"
    default_message = "The resource is in a conflicted state."


class NoEtagMatch(ServiceError):
    status, code = 412, "NoEtagMatch"
    default_message = "The ETag specified in the request does not match the ETag for the resource."


class IncorrectState(ServiceError):
    status, code = 409, "IncorrectState"
    default_message = "The requested state for the resource conflicts with its current state."


class TooManyRequests(ServiceError):
    status, code = 429, "TooManyRequests"
    default_message = "Too many requests for the user"


class InternalServerError(ServiceError):
    status, code = 500, "InternalServerError"
    default_message = "Internal server error."


class ServiceUnavailable(ServiceError):
    status, code = 503, "ServiceUnavailable"
    default_message = "The service is currently unavailable."


_BY_STATUS: dict[int, type[ServiceError]] = {
    error.status: error
    for error in (
        LimitExceeded,
        NotAuthenticated,
        NotAuthorizedOrNotFound,
        MethodNotAllowed,
        TooManyRequests,
        InternalServerError,
        ServiceUnavailable,
    )
}
_BY_CODE: dict[str, type[ServiceError]] = {error.code: error for error in ServiceError.__subclasses__()}


def error_for(status: int, code: str | None = None, message: str | None = None) -> ServiceError:
    """An error with an arbitrary status/code pair, as injected faults need."""
    known = _BY_CODE.get(code) if code else _BY_STATUS.get(status)
    error = (known or ServiceError)(message)
    error.status = status
    if code:
        error.code = code
    return error
