"""The deploy kit's options, checked once for every subcommand: each error names the option it is about.

The values that are also the function's settings (DESTINATION_REGION, KMS_KEY_ID_<REGION>,
SOURCE_COMPARTMENT_IDS, REQUIRED_FREEFORM_TAG, METRICS_NAMESPACE, RPO_TARGET_HOURS) are checked
by the function's own code (shared/settings.py), so the kit never prints what the function would
refuse; its error is then said about the option that gave the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..shared.errors import InvalidRequest, InvalidSetting
from ..shared.ocids import Ocid, parse_ocid
from ..shared.settings import KMS_KEY_PREFIX, Settings, kms_key_setting, load_settings, parse_regions

# Which option gave the value of each setting: the name an error about that setting is said with.
SETTING_OPTIONS = {
    "DESTINATION_REGION": "--destination",
    "SOURCE_COMPARTMENT_IDS": "--compartment",
    "REQUIRED_FREEFORM_TAG": "--tag",
    "METRICS_NAMESPACE": "--namespace",
    "RPO_TARGET_HOURS": "--rpo-target-hours",
    KMS_KEY_PREFIX: "--kms-key",  # every KMS_KEY_ID_<REGION>
}


def region_list(value: str, option: str) -> tuple[str, ...]:
    try:
        return parse_regions(value)
    except ValueError as exc:
        raise InvalidRequest(option, str(exc)) from None


def one_region(value: str, option: str) -> str:
    found = region_list(value, option)
    if len(found) != 1:
        raise InvalidRequest(option, "one region: the region the backups (and the function) are in")
    return found[0]


def destinations(value: str, source_region: str | None = None, source: str = "the source region") -> tuple[str, ...]:
    """--destination: regions, none of them the source: a copy into the backup's own region is no copy.

    The function refuses such a DESTINATION_REGION at every invocation; the kit refuses it before
    printing a policy that would grant deletes in the source region.
    """
    found = region_list(value, "--destination")
    if source_region is not None and source_region in found:
        raise InvalidRequest("--destination", f"{source_region} is {source}; copies go to other regions")
    return found


def compartment(value: str, option: str = "--compartment") -> str:
    return parse_ocid(value, field=option, types={"compartment", "tenancy"}, regional=False).value


def ocid(value: str, option: str, kind: str) -> Ocid:
    return parse_ocid(value, field=option, types={kind}, regional=kind not in ("tenancy", "compartment"))


def kms_keys(values: Sequence[str], destination_regions: Sequence[str]) -> dict[str, str]:
    """--kms-key, each checked as KMS_KEY_ID_<REGION>: a key of one of the destination regions."""
    config = {"DESTINATION_REGION": ",".join(destination_regions)}
    for value in values:
        region = ocid(value, "--kms-key", "key").region
        if region is None:
            raise InvalidRequest("--kms-key", "cannot tell the key's region from its OCID")
        config[kms_key_setting(region)] = value
    return dict(settings(config).kms_key_ids)


def settings(config: Mapping[str, str], given_by: Mapping[str, str] = SETTING_OPTIONS) -> Settings:
    """The function's own validation of `config`, its error said about the option that gave the bad value.

    A key `given_by` does not name came from --config KEY=VALUE: the error names both.
    """
    try:
        return load_settings(config)
    except InvalidSetting as exc:
        key = KMS_KEY_PREFIX if exc.key.startswith(KMS_KEY_PREFIX) else exc.key
        option = given_by.get(key, "--config")
        problem = exc.message if option == "--config" else exc.message.removeprefix(f"{exc.key}: ")
        raise InvalidRequest(option, problem) from None


def tag(value: str | None) -> str | None:
    """--tag, as REQUIRED_FREEFORM_TAG: KEY (present) or KEY=VALUE (equal)."""
    if value is not None and not value.split("=", 1)[0].strip():
        raise InvalidRequest("--tag", "expected a tag key, or key=value")
    return value


def existing_file(value: str, option: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise InvalidRequest(option, f"no such file: {value}")
    return path
