"""Fn call ids: what a child's `fanOutOf` must look like before it is believed or logged.

The Fn server names each call with a ULID-style id: 26 characters of Crockford's base 32
(digits and capital letters without I, L, O and U), e.g. `01J9ZQ8V7K3M5N6P8R9S0T1V2W`; OCI
Functions hands it to the container as Fn-Call-Id (seen in OCI Logging as `01J...`). Only this
grammar is accepted, so a forged value can never carry markup, a path or a log injection.
"""

from __future__ import annotations

import re

from .errors import InvalidRequest

_CALL_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def is_call_id(value: object) -> bool:
    return isinstance(value, str) and _CALL_ID.fullmatch(value) is not None


def parse_call_id(value: object, *, field: str) -> str:
    """`value` as a call id, or an InvalidRequest naming `field`."""
    if not is_call_id(value):
        shown = ascii(value)[:60] if isinstance(value, str) else type(value).__name__
        raise InvalidRequest(
            field,
            f"expected the Fn call id of the invocation that fanned out (26 characters of Crockford base 32, "
            f"e.g. 01J9ZQ8V7K3M5N6P8R9S0T1V2W), got {shown}",
            "InvalidFanOutOf",
        )
    return str(value)
