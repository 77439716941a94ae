"""The one net in invocation.py (and the per-compartment reader): an unexpected error still says where to look, never what it held."""

from __future__ import annotations

import pytest

from backup_copier.shared.settings import parse_regions
from backup_copier.shared.tracebacks import where


def test_an_unexpected_error_is_located_in_the_function_without_its_message() -> None:
    with pytest.raises(ValueError) as caught:
        parse_regions(5)
    place = where(caught.value)
    assert place.startswith("ValueError at backup_copier/shared/settings.py:")
    assert "expected" not in place  # the message stays out of the log


def test_an_error_raised_outside_the_function_names_its_last_frame() -> None:
    with pytest.raises(ZeroDivisionError) as caught:
        _ = 1 / 0
    assert where(caught.value).startswith("ZeroDivisionError at tests/test_invocation.py:")
