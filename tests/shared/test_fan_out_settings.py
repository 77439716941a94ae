"""FAN_OUT, FAN_OUT_BATCH and FUNCTIONS_ENDPOINT: defaults, accepted values, and each bad value named."""

from __future__ import annotations

import pytest

from backup_copier.shared.errors import InvalidSetting
from backup_copier.shared.settings import load_settings

BASE = {"DESTINATION_REGION": "us-ashburn-1"}


def test_fan_out_is_off_with_batches_of_a_hundred_by_default() -> None:
    settings = load_settings(BASE)
    assert (settings.fan_out, settings.fan_out_batch) == (False, 100)
    assert settings.functions_endpoint_for("us-phoenix-1") is None


@pytest.mark.parametrize(("value", "expected"), [("on", True), (" ON ", True), ("off", False), ("Off", False)])
def test_fan_out_takes_on_or_off(value: str, expected: bool) -> None:
    assert load_settings({**BASE, "FAN_OUT": value}).fan_out is expected


@pytest.mark.parametrize("value", ["1", "1000", " 250 "])
def test_fan_out_batch_from_one_to_a_thousand(value: str) -> None:
    assert load_settings({**BASE, "FAN_OUT_BATCH": value}).fan_out_batch == int(value)


def test_functions_endpoint_is_a_template_like_the_others() -> None:
    settings = load_settings({**BASE, "FUNCTIONS_ENDPOINT": "http://127.0.0.1:9000/functions/{region}/"})
    assert settings.functions_endpoint_for("us-phoenix-1") == "http://127.0.0.1:9000/functions/us-phoenix-1"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("FAN_OUT", "true", "expected on or off"),
        ("FAN_OUT", "yes", "expected on or off"),
        ("FAN_OUT", "", "expected on or off"),
        ("FAN_OUT_BATCH", "0", "from 1 to 1000"),
        ("FAN_OUT_BATCH", "1001", "from 1 to 1000"),
        ("FAN_OUT_BATCH", "10.5", "from 1 to 1000"),
        ("FAN_OUT_BATCH", "all", "from 1 to 1000"),
        ("FUNCTIONS_ENDPOINT", "file:///etc/passwd", "http(s) URL"),
    ],
)
def test_each_bad_value_names_its_key(key: str, value: str, says: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        load_settings({**BASE, key: value})
    assert raised.value.key == key
    assert says in raised.value.message
