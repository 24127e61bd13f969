"""The papers follow the configuration: every fact shows, every measure setting changes them."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import override_settings
from tests.ci.node_ids import missing_node_ids, node_ids_in

from config.settings.base import BASE_DIR
from sprechstunde.compliance.configuration import (
    Configuration,
    RetentionRule,
    configuration_from_settings,
    reference_configuration,
)
from sprechstunde.compliance.papers import paper_markdown, papers_build
from sprechstunde.compliance.writing import (
    REFERENCE_SOURCE,
    paper_files,
    paper_files_differences,
)

SECRET = "s3cr3t-never-in-papers"
RECORDS = "records-of-processing"
DPIA = "dpia-video-and-portal"
TOMS = "technical-and-organisational-measures"
PROCESSORS = "processors-and-data-flows"
ALL = (RECORDS, DPIA, TOMS, PROCESSORS)


def texts(config: Configuration) -> dict[str, str]:
    return {p.slug: paper_markdown(p, source="test") for p in papers_build(config=config)}


def running() -> dict[str, str]:
    return texts(configuration_from_settings(settings))


def retention_rows_for_test(settings_obj):
    return [
        {
            "kind": "messages",
            "period": "3 years",
            "starts": "the case closed",
            "legal_basis": "§ 84 SGB X",
            "setting": "RETENTION_MESSAGES",
        }
    ]


@pytest.fixture(scope="module")
def reference():
    return reference_configuration()


def changed(value):
    """A different value of the same type, as a changed setting would give."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, str):
        return value + "changed.example"
    if isinstance(value, tuple) and all(isinstance(v, RetentionRule) for v in value):
        return (*value, RetentionRule("added kind", "9 days", "an event", "a law", "RETENTION_X"))
    if isinstance(value, tuple):
        return (*value, "added.example:3478")
    raise AssertionError(f"no change defined for {value!r}")


@pytest.fixture(scope="module")
def fully_configured(reference):
    """Every optional service switched on, so that its own facts have somewhere to show."""
    return dataclasses.replace(
        reference,
        document_storage_backend="storages.backends.s3.S3Storage",
        document_storage_host="objects.example.net",
        sms_gateway_host="sms.example.net",
        turn_hosts=("turn.example.net:3478",),
        seal_key_source="csc",
        seal_tsa_host="tsa.example.net",
        seal_csc_host="csc.example.net",
        caldav_host="dav.example.net",
        sso_host="sso.example.net",
        database="PostgreSQL",
        database_host="db.internal",
        redis_host="redis.internal:6379",
        virus_scanner="clamd (local socket)",
        retention=(RetentionRule("messages", "3 years", "the case closed", "§ 84 SGB X", "R"),),
    )


@pytest.mark.parametrize("name", Configuration.field_names())
def test_every_fact_of_the_configuration_changes_the_papers(fully_configured, name):
    value = getattr(fully_configured, name)
    variant = dataclasses.replace(fully_configured, **{name: changed(value)})

    assert texts(variant) != texts(fully_configured), f"{name} is not reflected in any paper"


MEASURE_SETTINGS = [
    pytest.param(
        {"SMS_GATEWAY_URL": f"https://sms.example.net/send?token={SECRET}"},
        "sms.example.net",
        ALL,
        id="sms-gateway-on",
    ),
    pytest.param(
        {
            "STORAGES": {
                **settings.STORAGES,
                "documents": {
                    "BACKEND": "storages.backends.s3.S3Storage",
                    "OPTIONS": {
                        "bucket_name": "documents",
                        "endpoint_url": "https://objects.example.net",
                        "secret_key": SECRET,
                    },
                },
            }
        },
        "objects.example.net",
        (DPIA, TOMS, PROCESSORS, RECORDS),
        id="object-storage-on",
    ),
    pytest.param(
        {"TURN_URLS": ["turn:turn.example.net:3478?transport=udp"]},
        "turn.example.net:3478",
        (TOMS, PROCESSORS, RECORDS),
        id="turn-relay-configured",
    ),
    pytest.param(
        {"TURN_RELAY_ONLY": True}, "all media through our TURN relay", (TOMS,), id="relay-only"
    ),
    pytest.param(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "mail.example.net",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_PASSWORD": SECRET,
        },
        "WITHOUT TLS",
        (TOMS,),
        id="mail-relay-without-tls",
    ),
    pytest.param(
        {"CLAMD_SOCKET": "/run/clamd.sock"},
        "clamd (local socket)",
        (TOMS, DPIA),
        id="virus-scan-on",
    ),
    pytest.param(
        {"DOCUMENT_MASTER_KEYS": "new:AAAA,old:BBBB"}, "2 key(s)", (TOMS,), id="key-rotation"
    ),
    pytest.param({"SESSION_COOKIE_AGE": 3600}, "1 hour", (TOMS, DPIA), id="session-timeout"),
    pytest.param(
        {"BREACHED_PASSWORDS_FILE": "/srv/pwned-passwords.txt"},
        "passwords known from breaches (offline list)",
        (TOMS,),
        id="breached-passwords",
    ),
    pytest.param(
        {"MFA_SUPPORTED_TYPES": ["webauthn"]},
        "MFA_SUPPORTED_TYPES = webauthn",
        (TOMS,),
        id="mfa-types",
    ),
    pytest.param(
        {"MIDDLEWARE": [m for m in settings.MIDDLEWARE if "StaffMFA" not in m]},
        "NOT ENFORCED",
        (TOMS,),
        id="mfa-not-enforced",
    ),
    pytest.param({"DOCUMENT_MAX_BYTES": 10 * 1024 * 1024}, "10 MiB", (TOMS,), id="upload-limit"),
    pytest.param(
        {"SEAL_TSA_URL": "https://tsa.example.net/tsr"},
        "tsa.example.net",
        (TOMS, PROCESSORS),
        id="tsa",
    ),
    pytest.param(
        {
            "SEAL_KEY_SOURCE": "csc",
            "SEAL_CSC_URL": "https://csc.example.net/csc/v1",
            "SEAL_CSC_TOKEN": SECRET,
        },
        "csc.example.net",
        (PROCESSORS, RECORDS),
        id="remote-seal",
    ),
    pytest.param(
        {"CALDAV_URL": "https://dav.example.net/{email}/", "CALDAV_PASSWORD": SECRET},
        "dav.example.net",
        (PROCESSORS, RECORDS),
        id="caldav",
    ),
    pytest.param(
        {
            "CACHES": {
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": f"redis://:{SECRET}@redis.internal:6379/0",
                }
            }
        },
        "redis.internal:6379",
        (TOMS, PROCESSORS),
        id="redis",
    ),
    pytest.param({"SESSION_COOKIE_SECURE": True}, "HTTPS only, secure cookies", (TOMS,), id="tls"),
    pytest.param({"DEBUG": True}, "DEBUG is on", (DPIA,), id="debug"),
    pytest.param(
        {
            "SOCIALACCOUNT_PROVIDERS": {
                "openid_connect": {
                    "APPS": [
                        {
                            "secret": SECRET,
                            "settings": {"server_url": "https://sso.example.net/realm"},
                        }
                    ]
                }
            }
        },
        "sso.example.net",
        (TOMS, PROCESSORS),
        id="single-sign-on",
    ),
    pytest.param({"BACKUP_RETENTION_DAYS": 35}, "backups are kept 35 days", (TOMS,), id="backups"),
    pytest.param(
        {"RETENTION_MESSAGE_DAYS": 3651}, "3651 days", (TOMS, RECORDS), id="retention-setting"
    ),
    pytest.param(
        {"COMPLIANCE_RETENTION_SOURCE": f"{__name__}.retention_rows_for_test"},
        "the case closed",
        (TOMS, RECORDS),
        id="retention-registry",
    ),
]


@pytest.mark.parametrize(("overrides", "expected", "slugs"), MEASURE_SETTINGS)
def test_a_setting_that_changes_a_measure_changes_the_papers(overrides, expected, slugs):
    before = running()
    with override_settings(**overrides):
        after = running()

    for slug in slugs:
        assert expected in after[slug], f"{expected!r} missing from {slug}"
        assert after[slug] != before[slug]
    assert all(SECRET not in text for text in after.values())


def test_a_database_server_is_listed_as_a_recipient():
    values = {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
    values["DATABASES"] = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "db.internal",
            "PASSWORD": SECRET,
        }
    }
    papers = texts(configuration_from_settings(SimpleNamespace(**values)))

    assert "PostgreSQL database server (db.internal)" in papers[RECORDS]
    assert "db.internal" in papers[PROCESSORS]
    assert all(SECRET not in text for text in papers.values())


def test_switched_off_services_are_named_as_off(reference):
    processors = texts(reference)[PROCESSORS]

    assert "SMS gateway: off" in processors
    assert "NO SCANNER" in texts(reference)[TOMS]
    assert "Object storage: off" in processors
    assert "sms" not in texts(reference)[RECORDS].lower().split("recipients")[1]


def test_the_committed_papers_are_what_the_reference_configuration_gives(reference):
    files = paper_files(config=reference, source=REFERENCE_SOURCE)

    assert paper_files_differences(folder=BASE_DIR / "docs" / "compliance", files=files) == [], (
        "docs/compliance/ is outdated: run "
        "`manage.py compliance_papers --reference --write docs/compliance/`"
    )


def test_every_test_the_measures_name_exists(reference):
    text = texts(reference)[TOMS]

    assert len(node_ids_in(text)) >= 20
    assert missing_node_ids(text) == []
