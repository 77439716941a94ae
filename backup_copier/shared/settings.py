"""The function's settings, read from its configuration (environment) once per container.

Every problem is reported as InvalidSetting naming the exact configuration key, because
the operator fixes it with `fn config function <app> <fn> KEY VALUE`. The keys are the
Settings model's aliases and the per-region families in PER_REGION_KEYS, and nowhere else:
setting_names.py refuses a near miss of any of them (DRYRUN), and leaves other keys alone.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from . import regions
from .errors import InvalidRequest, InvalidSetting
from .ocids import parse_ocid
from .retention import REGION_RETENTION_PREFIX, RegionRetention, RetentionRule, parse_region_retention
from .setting_names import KnownKeys, region_key

KMS_KEY_PREFIX = "KMS_KEY_ID_"
DRILL_AVAILABILITY_DOMAIN_PREFIX = "DRILL_AVAILABILITY_DOMAIN_"
DISPLAY_NAME_FIELDS = frozenset({"source_name", "source_region", "destination_region", "backup_id", "kind"})
_TRUE = frozenset({"1", "true", "yes", "on"})
# Monitoring custom-metric namespaces: a letter first, then letters, digits and underscores;
# Oracle reserves the oci_ and oracle_ prefixes for its own services.
_METRICS_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
_RESERVED_NAMESPACE_PREFIXES = ("oci_", "oracle_")
# An availability domain's name: the tenancy's prefix, a colon and the region's label
# (`NfHZ:US-ASHBURN-AD-1`), or the label alone, which matches whatever the prefix (the SDK's
# docstrings: list_volumes' availability_domain example `Uocm:PHX-AD-1`).
_AVAILABILITY_DOMAIN = re.compile(r"(?:[A-Za-z0-9]{1,20}:)?[A-Za-z0-9-]{1,60}")
# A defined tag as IAM names it: <tag namespace>.<tag key>, neither with periods or spaces.
_DEFINED_TAG = re.compile(r"[A-Za-z0-9_-]{1,100}\.[A-Za-z0-9_-]{1,100}")
_FALSE = frozenset({"0", "false", "no", "off", ""})


def kms_key_setting(region: str) -> str:
    """The configuration key that holds the KMS key for copies into `region`."""
    return region_key(KMS_KEY_PREFIX, region)


def drill_availability_domain_setting(region: str) -> str:
    """The configuration key that names the availability domain a drill restores into in `region`."""
    return region_key(DRILL_AVAILABILITY_DOMAIN_PREFIX, region)


def parse_regions(value: object) -> tuple[str, ...]:
    """A comma-separated list (or a JSON list) of region names or short codes, de-duplicated."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("expected a region name or a comma-separated list of them")
    found: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"expected region names, got {type(item).__name__}")
        region = regions.normalise_region(item)
        if region is None:
            raise ValueError(f"{item.strip()!r} is not a region name (e.g. us-ashburn-1) or short code (e.g. iad)")
        if region not in found:
            found.append(region)
    if not found:
        raise ValueError("at least one destination region is required")
    return tuple(found)


def _parse_flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false")


def _whole_number(low: int, high: int) -> BeforeValidator:
    """A setting that must be a whole number in [low, high], with a message that says so."""

    def parse(value: object) -> int:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, int) and not isinstance(text, bool):
            number = text
        elif isinstance(text, str) and text.isdigit():
            number = int(text)
        else:
            raise ValueError(f"expected a whole number from {low} to {high}, got {ascii(value)[:40]}")
        if not low <= number <= high:
            raise ValueError(f"expected a whole number from {low} to {high}, got {number}")
        return number

    return BeforeValidator(parse)


def _positive_hours(value: object) -> float:
    try:
        hours = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of hours, e.g. 26, got {ascii(value)[:40]}") from None
    if not 0 < hours <= MAX_RPO_TARGET_HOURS:
        raise ValueError(f"expected more than 0 and at most {MAX_RPO_TARGET_HOURS} hours, got {hours:g}")
    return hours


def _parse_on_off(value: object) -> bool:
    """FAN_OUT's two words: the issue and the docs say on and off, nothing else."""
    text = value.strip().lower() if isinstance(value, str) else value
    if text in ("on", "off"):
        return text == "on"
    raise ValueError(f"expected on or off, got {ascii(value)[:40]}")


def _parse_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    raise ValueError("expected a comma-separated list")


# Ten years: longer than any retention a backup policy offers, short enough to catch a typo.
MAX_RETENTION_DAYS = 3660
MAX_KEEP_LAST_COPIES = 1000
MAX_RPO_TARGET_HOURS = 8760
# Worker threads that read compartments at once. Each holds one page in memory and its own
# clients; 32 is far more than Block Storage's per-tenancy request rate rewards.
DEFAULT_MAX_CONCURRENCY = 8
MAX_MAX_CONCURRENCY = 32
DEFAULT_RPO_TARGET_HOURS = 26.0
DEFAULT_METRICS_NAMESPACE = "backup_copier"
# Fan-out over detached invocations (docs/operations.md, "Large tenancies"): compartments per
# child; 1,000 is the most a request's compartmentIds may hold.
DEFAULT_FAN_OUT_BATCH = 100
MAX_FAN_OUT_BATCH = 1000
# Restore drills (docs/drills.md): a drill not AVAILABLE this long after its create request failed.
# At least one 15-minute schedule interval; at most a week, longer than any restore Oracle times.
DEFAULT_DRILL_TIMEOUT_MINUTES = 120
MIN_DRILL_TIMEOUT_MINUTES = 15
MAX_DRILL_TIMEOUT_MINUTES = 7 * 24 * 60

Regions = Annotated[tuple[str, ...], BeforeValidator(parse_regions)]
Flag = Annotated[bool, BeforeValidator(_parse_flag)]
CommaList = Annotated[tuple[str, ...], BeforeValidator(_parse_list)]
OnOff = Annotated[bool, BeforeValidator(_parse_on_off)]


class Settings(BaseModel):
    """Validated settings; field aliases are the configuration keys an operator sets."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    destination_regions: Regions = Field(alias="DESTINATION_REGION")
    display_name_template: str = Field(default="{source_name}", alias="DISPLAY_NAME_TEMPLATE")
    dry_run: Flag = Field(default=False, alias="DRY_RUN")
    source_compartment_ids: CommaList = Field(default=(), alias="SOURCE_COMPARTMENT_IDS")
    required_freeform_tag: str | None = Field(default=None, alias="REQUIRED_FREEFORM_TAG")
    blockstorage_endpoint: str | None = Field(default=None, alias="BLOCKSTORAGE_ENDPOINT")
    # Retention of the copies this function makes (see docs/retention.md).
    copy_retention_days: Annotated[int | None, _whole_number(1, MAX_RETENTION_DAYS)] = Field(
        default=None, alias="COPY_RETENTION_DAYS"
    )
    keep_last_copies: Annotated[int, _whole_number(1, MAX_KEEP_LAST_COPIES)] = Field(
        default=1, alias="KEEP_LAST_COPIES"
    )
    # Also mark copies with this defined tag, which IAM conditions can test (freeform tags cannot).
    mark_defined_tag: str | None = Field(default=None, alias="MARK_DEFINED_TAG")
    # The coverage report and its metrics.
    rpo_target_hours: Annotated[float, BeforeValidator(_positive_hours)] = Field(
        default=DEFAULT_RPO_TARGET_HOURS, alias="RPO_TARGET_HOURS"
    )
    metrics_enabled: Flag = Field(default=True, alias="METRICS")
    metrics_namespace: str = Field(default=DEFAULT_METRICS_NAMESPACE, alias="METRICS_NAMESPACE")
    metrics_endpoint: str | None = Field(default=None, alias="METRICS_ENDPOINT")
    identity_endpoint: str | None = Field(default=None, alias="IDENTITY_ENDPOINT")
    # Reading a whole tenancy: how many compartments are read at once (shared/workers.py).
    max_concurrency: Annotated[int, _whole_number(1, MAX_MAX_CONCURRENCY)] = Field(
        default=DEFAULT_MAX_CONCURRENCY, alias="MAX_CONCURRENCY"
    )
    # Fan-out: a scope of many compartments split over detached invocations of this function.
    fan_out: OnOff = Field(default=False, alias="FAN_OUT")
    fan_out_batch: Annotated[int, _whole_number(1, MAX_FAN_OUT_BATCH)] = Field(
        default=DEFAULT_FAN_OUT_BATCH, alias="FAN_OUT_BATCH"
    )
    # Tests only, as BLOCKSTORAGE_ENDPOINT: Functions management (GetFunction). Invocations go to
    # the invoke endpoint GetFunction returns.
    functions_endpoint: str | None = Field(default=None, alias="FUNCTIONS_ENDPOINT")
    # Restore drills: how long a drill may take to become AVAILABLE before it counts as failed.
    drill_timeout_minutes: Annotated[int, _whole_number(MIN_DRILL_TIMEOUT_MINUTES, MAX_DRILL_TIMEOUT_MINUTES)] = Field(
        default=DEFAULT_DRILL_TIMEOUT_MINUTES, alias="DRILL_TIMEOUT_MINUTES"
    )
    # Tests only, as BLOCKSTORAGE_ENDPOINT: Compute's attachment listings, which a drill reads
    # before it deletes what it restored.
    compute_endpoint: str | None = Field(default=None, alias="COMPUTE_ENDPOINT")
    # Filled from the KMS_KEY_ID_<REGION> keys, which have no fixed names (PER_REGION_KEYS).
    kms_key_ids: dict[str, str] = Field(default_factory=dict, alias="kms_key_ids")
    # Filled from the COPY_RETENTION_DAYS_<REGION> keys: days, or "never" (PER_REGION_KEYS).
    region_retention: dict[str, RegionRetention] = Field(default_factory=dict, alias="region_retention")
    # Filled from the DRILL_AVAILABILITY_DOMAIN_<REGION> keys: where a drill restores in that region.
    drill_availability_domains: dict[str, str] = Field(default_factory=dict, alias="drill_availability_domains")

    def retention_for(self, region: str) -> RetentionRule:
        """The retention of copies made into `region`: every caller asks here (retention.py ranks the settings)."""
        return RetentionRule(region, self.region_retention.get(region), self.copy_retention_days)

    @field_validator("display_name_template")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from None
        unknown = names - DISPLAY_NAME_FIELDS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; use any of {sorted(DISPLAY_NAME_FIELDS)}")
        if not template.strip():
            raise ValueError("must not be empty")
        return template

    @field_validator("source_compartment_ids")
    @classmethod
    def _compartment_ocids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for value in ids:
            try:
                parse_ocid(value, field="value", types={"compartment", "tenancy"}, regional=False)
            except InvalidRequest as exc:
                raise ValueError(exc.message.removeprefix("value: ")) from None
        return ids

    @field_validator("required_freeform_tag")
    @classmethod
    def _tag(cls, tag: str | None) -> str | None:
        if tag is not None and not tag.split("=", 1)[0].strip():
            raise ValueError("expected a tag key, or key=value")
        return tag

    @field_validator("metrics_namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if not _METRICS_NAMESPACE.fullmatch(namespace):
            raise ValueError("expected a letter, then letters, digits and underscores (at most 255 characters)")
        if namespace.lower().startswith(_RESERVED_NAMESPACE_PREFIXES):
            raise ValueError("the oci_ and oracle_ prefixes are reserved by Oracle")
        return namespace

    @field_validator("mark_defined_tag")
    @classmethod
    def _defined_tag(cls, tag: str | None) -> str | None:
        if tag is not None and not _DEFINED_TAG.fullmatch(tag.strip()):
            raise ValueError("expected <tag namespace>.<tag key>, e.g. backup_copier.managed")
        return tag.strip() if tag else None

    def defined_tag(self) -> tuple[str, str] | None:
        if not self.mark_defined_tag:
            return None
        namespace, _, key = self.mark_defined_tag.partition(".")
        return namespace, key

    @field_validator(
        "blockstorage_endpoint", "metrics_endpoint", "identity_endpoint", "functions_endpoint", "compute_endpoint"
    )
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url.replace("{region}", "region"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) URL, optionally containing {region}")
        return url.rstrip("/")

    def endpoint_for(self, region: str) -> str | None:
        return self.blockstorage_endpoint.replace("{region}", region) if self.blockstorage_endpoint else None

    def metrics_endpoint_for(self, region: str) -> str | None:
        return self.metrics_endpoint.replace("{region}", region) if self.metrics_endpoint else None

    def identity_endpoint_for(self, region: str) -> str | None:
        return self.identity_endpoint.replace("{region}", region) if self.identity_endpoint else None

    def functions_endpoint_for(self, region: str) -> str | None:
        return self.functions_endpoint.replace("{region}", region) if self.functions_endpoint else None

    def compute_endpoint_for(self, region: str) -> str | None:
        return self.compute_endpoint.replace("{region}", region) if self.compute_endpoint else None

    def required_tag(self) -> tuple[str, str | None] | None:
        if self.required_freeform_tag is None:
            return None
        key, _, value = self.required_freeform_tag.partition("=")
        return key.strip(), (value.strip() if "=" in self.required_freeform_tag else None)

    def carries_required_tag(self, freeform_tags: Mapping[str, str] | None) -> bool:
        """Whether a backup with these freeform tags passes REQUIRED_FREEFORM_TAG (always, when it is unset):
        the one test for the event filter, the sweep's filter and keep-last's ranking (backups/arrival.py)."""
        required = self.required_tag()
        if required is None:
            return True
        key, value = required
        tags = freeform_tags or {}
        return key in tags and (value is None or tags[key] == value)


@dataclass(frozen=True)
class PerRegionKeys:
    """A family of keys, `<prefix><REGION>` for each destination region, filling one field by region."""

    prefix: str
    field: str
    # (key, destination region, value) -> the field's value for that region; InvalidSetting otherwise.
    parse: Callable[[str, str, str], object]


def _kms_key(key: str, region: str, value: str) -> str:
    try:
        ocid = parse_ocid(value.strip(), field=key, types={"key"}, regional=True)
    except InvalidRequest as exc:
        raise InvalidSetting(key, exc.message.removeprefix(f"{key}: ")) from None
    if ocid.region not in (None, region):
        raise InvalidSetting(key, f"the key lives in {ocid.region}, but copies into {region} need a key in {region}")
    return ocid.value


def _region_retention(key: str, region: str, value: str) -> RegionRetention:
    try:
        return parse_region_retention(value)
    except ValueError as exc:
        raise InvalidSetting(key, str(exc)) from None


def _availability_domain(key: str, region: str, value: str) -> str:
    """An availability domain's name, or its label after the colon; whether the region has it is
    known only from Identity, so a drill that finds no such domain there names this key."""
    name = value.strip()
    if not _AVAILABILITY_DOMAIN.fullmatch(name):
        raise InvalidSetting(
            key,
            f"expected an availability domain of {region} as ListAvailabilityDomains names it (e.g. Uocm:PHX-AD-2), "
            f"or the part after its colon, got {ascii(value)[:60]}",
        )
    return name


# Every per-region setting: a new one is a row here and a field on Settings, nothing else.
PER_REGION_KEYS = (
    PerRegionKeys(KMS_KEY_PREFIX, "kms_key_ids", _kms_key),
    PerRegionKeys(REGION_RETENTION_PREFIX, "region_retention", _region_retention),
    PerRegionKeys(DRILL_AVAILABILITY_DOMAIN_PREFIX, "drill_availability_domains", _availability_domain),
)
# Every fixed key an operator may set: the model's aliases (the per-region fields' are not keys).
SETTING_KEYS = frozenset(
    field.alias for field in Settings.model_fields.values() if field.alias and field.alias.isupper()
)


def known_keys(destinations: tuple[str, ...] = ()) -> KnownKeys:
    """The function's keys, for telling a near miss from another function's key."""
    return KnownKeys(SETTING_KEYS, tuple(family.prefix for family in PER_REGION_KEYS), destinations)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the configuration, or raise InvalidSetting naming the first bad key."""
    _refuse_near_misses(environ)
    try:
        settings = Settings.model_validate({key: value for key, value in environ.items() if key.isupper()})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "configuration"
        problem = "is required" if error["type"] == "missing" else _strip_prefix(error["msg"])
        raise InvalidSetting(key, problem) from None
    return settings.model_copy(
        update={
            family.field: dict(_per_region(environ, family, settings.destination_regions)) for family in PER_REGION_KEYS
        }
    )


def _refuse_near_misses(environ: Mapping[str, str]) -> None:
    """A key one slip away from ours (DRYRUN) is refused before anything reads the settings:
    ignored, it would do the opposite of what the operator asked. Keys unlike ours are left alone."""
    try:
        destinations = parse_regions(environ.get("DESTINATION_REGION", ""))
    except ValueError:
        # DESTINATION_REGION itself is named by the model's validation; the per-region keys then
        # cannot be named, and a near miss of one is named by its prefix with <REGION>.
        destinations = ()
    known = known_keys(destinations)
    for key in sorted(environ):
        meant = known.near_miss(key)
        if meant:
            raise InvalidSetting(key, f"not a setting of this function; did you mean {meant}?", meant=meant)


def _per_region(
    environ: Mapping[str, str], family: PerRegionKeys, destinations: tuple[str, ...]
) -> Iterator[tuple[str, object]]:
    """(destination region, value) of each `<prefix><REGION>` key. A key that names no destination
    is refused, not ignored: a misspelt region would otherwise silently not apply."""
    by_key = {region_key(family.prefix, region): region for region in destinations}
    for key, value in environ.items():
        if not key.startswith(family.prefix):
            continue
        region = by_key.get(key)
        if region is None:
            raise _no_destination(key, family.prefix, destinations)
        yield region, family.parse(key, region, value)


def _no_destination(key: str, prefix: str, destinations: tuple[str, ...]) -> InvalidSetting:
    """The key meant, never the same key again: the destination's key, or DESTINATION_REGION to extend."""
    known = known_keys(destinations)
    other = known.other_region(key, prefix)
    if other is not None:
        return InvalidSetting(
            key,
            f"{other} is not a destination region (DESTINATION_REGION is {','.join(destinations)}); "
            "add it to DESTINATION_REGION, or remove this key",
            fixed_by="DESTINATION_REGION",
        )
    meant = known.region_key_meant(key, prefix)
    expected = sorted(region_key(prefix, region) for region in destinations)
    return InvalidSetting(
        key, f"no destination region matches it (expected one of {expected}); did you mean {meant}?", meant=meant
    )


def _strip_prefix(message: str) -> str:
    return message.removeprefix("Value error, ")
