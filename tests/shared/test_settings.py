"""Settings: every bad value names the configuration key an operator must fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backup_copier.shared.errors import InvalidSetting
from backup_copier.shared.settings import kms_key_setting, load_settings

KEY_IAD = "ocid1.key.oc1.iad.bbpsaxx6aaeug.abuwcljsexamplekeyexamplekeyexamplekey"


def test_minimal_settings() -> None:
    settings = load_settings({"DESTINATION_REGION": "us-ashburn-1"})
    assert settings.destination_regions == ("us-ashburn-1",)
    assert not settings.dry_run
    assert settings.endpoint_for("us-ashburn-1") is None


def test_retention_and_metrics_defaults() -> None:
    settings = load_settings({"DESTINATION_REGION": "us-ashburn-1"})
    assert settings.copy_retention_days is None
    assert settings.keep_last_copies == 1
    assert settings.rpo_target_hours == 26
    assert settings.metrics_enabled
    assert settings.metrics_namespace == "backup_copier"
    assert settings.metrics_endpoint_for("us-ashburn-1") is None


def test_retention_and_metrics_settings() -> None:
    settings = load_settings(
        {
            "DESTINATION_REGION": "us-ashburn-1",
            "COPY_RETENTION_DAYS": " 35 ",
            "KEEP_LAST_COPIES": "3",
            "RPO_TARGET_HOURS": "12.5",
            "METRICS": "off",
            "METRICS_NAMESPACE": "dr_copies2",
            "METRICS_ENDPOINT": "http://127.0.0.1:9000/telemetry/{region}",
        }
    )
    assert settings.copy_retention_days == 35
    assert settings.keep_last_copies == 3
    assert settings.rpo_target_hours == 12.5
    assert not settings.metrics_enabled
    assert settings.metrics_namespace == "dr_copies2"
    assert settings.metrics_endpoint_for("us-ashburn-1") == "http://127.0.0.1:9000/telemetry/us-ashburn-1"


def test_full_settings() -> None:
    settings = load_settings(
        {
            "DESTINATION_REGION": "iad, eu-frankfurt-1,iad",
            "DRY_RUN": "yes",
            kms_key_setting("us-ashburn-1"): KEY_IAD,
            "DISPLAY_NAME_TEMPLATE": "{source_name}-dr-{destination_region}",
            "SOURCE_COMPARTMENT_IDS": "ocid1.compartment.oc1..aaaaaaaabbbbbbbb",
            "REQUIRED_FREEFORM_TAG": "dr-copy=true",
            "BLOCKSTORAGE_ENDPOINT": "http://127.0.0.1:9000/{region}/",
            "UNRELATED": "ignored",
        }
    )
    assert settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    assert settings.dry_run
    assert settings.kms_key_ids == {"us-ashburn-1": KEY_IAD}
    assert settings.required_tag() == ("dr-copy", "true")
    assert settings.endpoint_for("us-ashburn-1") == "http://127.0.0.1:9000/us-ashburn-1"


def test_region_retention_is_read_per_destination_and_ranked_in_one_place() -> None:
    settings = load_settings(
        {
            "DESTINATION_REGION": "iad,eu-frankfurt-1,us-phoenix-1",
            "COPY_RETENTION_DAYS": "7",
            "COPY_RETENTION_DAYS_US_ASHBURN_1": " 90 ",
            "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "Never",
        }
    )
    assert settings.region_retention == {"us-ashburn-1": 90, "eu-frankfurt-1": "never"}
    created = datetime(2026, 1, 1, tzinfo=UTC)
    policy_expiry = created + timedelta(days=14)
    expiries = {
        region: (
            settings.retention_for(region).expiry(policy_expiry, created),
            settings.retention_for(region).expiry(None, created),
        )
        for region in settings.destination_regions
    }
    assert expiries == {
        # The region's key wins, over a policy backup's own expiry too.
        "us-ashburn-1": (created + timedelta(days=90), created + timedelta(days=90)),
        "eu-frankfurt-1": (None, None),
        # No key for the region: the source's expiry, else COPY_RETENTION_DAYS.
        "us-phoenix-1": (policy_expiry, created + timedelta(days=7)),
    }
    assert settings.retention_for("us-phoenix-1").expiry(None, created) == created + timedelta(days=7)
    assert load_settings({"DESTINATION_REGION": "iad"}).retention_for("us-ashburn-1").expiry(None, created) is None


def test_region_retention_accepts_the_whole_range() -> None:
    for days in ("1", "36500"):
        settings = load_settings({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1": days})
        assert settings.region_retention == {"us-ashburn-1": int(days)}


@pytest.mark.parametrize(
    ("environment", "key"),
    [
        ({}, "DESTINATION_REGION"),
        ({"DESTINATION_REGION": ""}, "DESTINATION_REGION"),
        ({"DESTINATION_REGION": "ashburn"}, "DESTINATION_REGION"),
        ({"DESTINATION_REGION": "us-ashburn-1;rm"}, "DESTINATION_REGION"),
        ({"DESTINATION_REGION": "iad", "DRY_RUN": "maybe"}, "DRY_RUN"),
        ({"DESTINATION_REGION": "iad", "DISPLAY_NAME_TEMPLATE": "{nope}"}, "DISPLAY_NAME_TEMPLATE"),
        ({"DESTINATION_REGION": "iad", "DISPLAY_NAME_TEMPLATE": "{unclosed"}, "DISPLAY_NAME_TEMPLATE"),
        (
            {"DESTINATION_REGION": "iad", "SOURCE_COMPARTMENT_IDS": "ocid1.volume.oc1..aaaaaaaa"},
            "SOURCE_COMPARTMENT_IDS",
        ),
        ({"DESTINATION_REGION": "iad", "REQUIRED_FREEFORM_TAG": "=x"}, "REQUIRED_FREEFORM_TAG"),
        ({"DESTINATION_REGION": "iad", "BLOCKSTORAGE_ENDPOINT": "ftp://x"}, "BLOCKSTORAGE_ENDPOINT"),
        (
            {"DESTINATION_REGION": "iad", "KMS_KEY_ID_US_ASHBURN_1": "ocid1.vault.oc1.iad.aaaa.bbbbbbbb"},
            "KMS_KEY_ID_US_ASHBURN_1",
        ),
        (
            {"DESTINATION_REGION": "iad", "KMS_KEY_ID_US_ASHBURN_1": KEY_IAD.replace(".iad.", ".fra.")},
            "KMS_KEY_ID_US_ASHBURN_1",
        ),
        ({"DESTINATION_REGION": "iad", "KMS_KEY_ID_EU_FRANKFURT_1": KEY_IAD}, "KMS_KEY_ID_EU_FRANKFURT_1"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS": "0"}, "COPY_RETENTION_DAYS"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS": "-3"}, "COPY_RETENTION_DAYS"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS": "7.5"}, "COPY_RETENTION_DAYS"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS": "a week"}, "COPY_RETENTION_DAYS"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS": "99999"}, "COPY_RETENTION_DAYS"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1": "0"}, "COPY_RETENTION_DAYS_US_ASHBURN_1"),
        (
            {"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1": "36501"},
            "COPY_RETENTION_DAYS_US_ASHBURN_1",
        ),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1": "90d"}, "COPY_RETENTION_DAYS_US_ASHBURN_1"),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1": ""}, "COPY_RETENTION_DAYS_US_ASHBURN_1"),
        (
            {"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURN_1": "forever"},
            "COPY_RETENTION_DAYS_US_ASHBURN_1",
        ),
        # A misspelt region, a region that is not a destination, a short code: none is silently ignored.
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_US_ASHBURM_1": "90"}, "COPY_RETENTION_DAYS_US_ASHBURM_1"),
        (
            {"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_EU_FRANKFURT_1": "90"},
            "COPY_RETENTION_DAYS_EU_FRANKFURT_1",
        ),
        ({"DESTINATION_REGION": "iad", "COPY_RETENTION_DAYS_IAD": "90"}, "COPY_RETENTION_DAYS_IAD"),
        ({"DESTINATION_REGION": "iad", "KEEP_LAST_COPIES": "0"}, "KEEP_LAST_COPIES"),
        ({"DESTINATION_REGION": "iad", "KEEP_LAST_COPIES": "one"}, "KEEP_LAST_COPIES"),
        ({"DESTINATION_REGION": "iad", "RPO_TARGET_HOURS": "0"}, "RPO_TARGET_HOURS"),
        ({"DESTINATION_REGION": "iad", "RPO_TARGET_HOURS": "soon"}, "RPO_TARGET_HOURS"),
        ({"DESTINATION_REGION": "iad", "METRICS": "sometimes"}, "METRICS"),
        ({"DESTINATION_REGION": "iad", "METRICS_NAMESPACE": "1copier"}, "METRICS_NAMESPACE"),
        ({"DESTINATION_REGION": "iad", "METRICS_NAMESPACE": "backup-copier"}, "METRICS_NAMESPACE"),
        ({"DESTINATION_REGION": "iad", "METRICS_NAMESPACE": "oci_backup"}, "METRICS_NAMESPACE"),
        ({"DESTINATION_REGION": "iad", "METRICS_NAMESPACE": "Oracle_backup"}, "METRICS_NAMESPACE"),
        ({"DESTINATION_REGION": "iad", "METRICS_ENDPOINT": "not a url"}, "METRICS_ENDPOINT"),
        ({"DESTINATION_REGION": "iad", "IDENTITY_ENDPOINT": "not a url"}, "IDENTITY_ENDPOINT"),
        ({"DESTINATION_REGION": "iad", "MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY"),
        ({"DESTINATION_REGION": "iad", "MAX_CONCURRENCY": "33"}, "MAX_CONCURRENCY"),
        ({"DESTINATION_REGION": "iad", "MAX_CONCURRENCY": "eight"}, "MAX_CONCURRENCY"),
    ],
)
def test_bad_settings_name_the_key(environment: dict[str, str], key: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        load_settings(environment)
    assert caught.value.key == key
    assert caught.value.message.startswith(key)
