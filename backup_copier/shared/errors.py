"""Errors the operator can act on. Each carries a stable code and a sentence.

Which outcome and HTTP status an error becomes is decided in one place: outcomes.py.
"""

from __future__ import annotations


class CopierError(Exception):
    """Base of every error this function raises on purpose."""

    code = "CopierError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(CopierError):
    """The request body can never succeed as sent; `field` names the part that is wrong."""

    code = "InvalidRequest"

    def __init__(self, field: str, problem: str, code: str | None = None) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        if code:
            self.code = code


class InvalidSetting(CopierError):
    """A function setting (fn config) is missing or malformed; `key` names it."""

    code = "InvalidSetting"

    def __init__(self, key: str, problem: str, *, meant: str | None = None, fixed_by: str | None = None) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        # Set when `key` is not one of the function's keys but a near miss of `meant`: it must go.
        self.meant = meant
        # The key whose value fixes the problem: `meant`, another key (DESTINATION_REGION), or `key`.
        self.fixed_by = fixed_by or meant or key


class CredentialsUnavailable(CopierError):
    """The resource principal could not be loaded, so no request can be signed."""

    code = "ResourcePrincipalUnavailable"


class ScopeUnreadable(CopierError):
    """The tenancy's compartments could not be listed, so no compartment of the scope is known."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class OwnFunctionUnknown(CopierError):
    """The function cannot name itself (FN_FN_ID missing or malformed), so it cannot fan out."""

    code = "OwnFunctionUnknown"


class ListPageUnreadable(CopierError):
    """A list page's body is not a JSON array of items, so nothing on that page can be trusted."""

    code = "ListPageUnreadable"
