"""The facts of the running configuration that the data-protection papers describe.

`configuration_from_settings` reads them from Django settings (or any object with the same
attributes, such as a settings module run in a clean environment for the committed papers).
Only hosts, switches and limits are read: never a password, token, key or path.
"""

from __future__ import annotations

import datetime
import os
import runpy
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from django.utils.module_loading import import_string

# The callable that lists retention rules for the papers (see `retention_rules`).
RETENTION_SOURCE_SETTING = "COMPLIANCE_RETENTION_SOURCE"
DEFAULT_RETENTION_SOURCE = "sprechstunde.retention.papers.retention_rules_for_papers"
RETENTION_PREFIX = "RETENTION_"

_FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_DEV_OUTBOX_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
_STAFF_MFA_MIDDLEWARE = "sprechstunde.accounts.middleware.StaffMFARequiredMiddleware"
_LENGTH_VALIDATOR = "django.contrib.auth.password_validation.MinimumLengthValidator"

# The environment of the reference configuration: embedded mode (no DATABASE_URL, no
# REDIS_URL) as it starts in production, with placeholders for what production requires.
REFERENCE_ENVIRONMENT = {
    "SECRET_KEY": "reference-configuration-placeholder",
    "DOCUMENT_MASTER_KEYS": "k1:cmVmZXJlbmNlLWNvbmZpZ3VyYXRpb24tcGxhY2Vob2xkZXI=",
    "EMAIL_HOST": "smtp.jobcenter.example",
    "ALLOWED_HOSTS": "sprechstunde.jobcenter.example",
    "SITE_URL": "https://sprechstunde.jobcenter.example",
}


@dataclass(frozen=True)
class RetentionRule:
    """One kind of record, how long it is kept, from which event, and why."""

    kind: str
    period: str
    starts: str
    legal_basis: str
    setting: str


@dataclass(frozen=True)
class Configuration:
    """Every fact of the configuration that changes a measure, a processor or a data flow."""

    jobcenter_name: str
    site_host: str
    debug: bool
    database: str
    database_host: str
    redis_host: str
    tls: bool
    hsts_seconds: int
    session_cookie_age: int
    login_code_minutes: int
    login_failure_budget: int
    password_min_length: int
    breached_password_list: bool
    mfa_types: tuple[str, ...]
    mfa_trust_browser: bool
    staff_mfa_required: bool
    sso_host: str
    encryption_key_count: int
    document_storage_backend: str
    document_storage_host: str
    virus_scanner: str
    document_max_bytes: int
    document_max_pages: int
    document_max_files: int
    document_max_open_uploads: int
    document_upload_expiry_hours: int
    turn_hosts: tuple[str, ...]
    turn_relay_only: bool
    turn_credential_ttl: int
    sms_gateway_host: str
    mail_transport: str
    mail_host: str
    caldav_host: str
    seal_key_source: str
    seal_tsa_host: str
    seal_csc_host: str
    signature_validation_fetch: bool
    backup_retention_days: int
    retention: tuple[RetentionRule, ...]

    @property
    def object_storage(self) -> bool:
        return self.document_storage_backend != _FILESYSTEM_STORAGE

    @classmethod
    def field_names(cls) -> list[str]:
        return [field.name for field in fields(cls)]


def url_host(url: str) -> str:
    """host[:port] of a URL, without user, password, path or query (those may hold secrets)."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if host and port else host


def turn_host(url: str) -> str:
    """host:port of a TURN URI ("turn:host:3478?transport=udp", RFC 7065)."""
    rest = url.split(":", 1)[1] if ":" in url else url
    return rest.split("?", 1)[0].strip().lstrip("/")


def _storage_host(options: Mapping[str, Any]) -> str:
    for key in ("endpoint_url", "custom_domain", "account_name", "host"):
        if options.get(key):
            return url_host(str(options[key]))
    return str(options.get("bucket_name", ""))


def _mail(settings_obj: Any) -> tuple[str, str]:
    backend = getattr(settings_obj, "EMAIL_BACKEND", "")
    if backend == _SMTP_BACKEND:
        if getattr(settings_obj, "EMAIL_USE_SSL", False):
            return "smtp-implicit-tls", getattr(settings_obj, "EMAIL_HOST", "")
        if getattr(settings_obj, "EMAIL_USE_TLS", False):
            return "smtp-starttls", getattr(settings_obj, "EMAIL_HOST", "")
        return "smtp-plain", getattr(settings_obj, "EMAIL_HOST", "")
    if backend == _DEV_OUTBOX_BACKEND:
        return "dev-outbox", ""
    return "other", ""


def _password_min_length(settings_obj: Any) -> int:
    for validator in getattr(settings_obj, "AUTH_PASSWORD_VALIDATORS", []):
        if validator.get("NAME") == _LENGTH_VALIDATOR:
            return int(validator.get("OPTIONS", {}).get("min_length", 8))
    return 0


def _virus_scanner(settings_obj: Any) -> str:
    if getattr(settings_obj, "CLAMD_SOCKET", ""):
        return "clamd (local socket)"
    if getattr(settings_obj, "CLAMD_HOST", ""):
        return f"clamd at {settings_obj.CLAMD_HOST}:{getattr(settings_obj, 'CLAMD_PORT', 3310)}"
    return ""


def _sso_host(settings_obj: Any) -> str:
    provider = getattr(settings_obj, "SOCIALACCOUNT_PROVIDERS", {}).get("openid_connect", {})
    for app in provider.get("APPS", []):
        url = app.get("settings", {}).get("server_url", "")
        if url:
            return url_host(url)
    return ""


def _redis_host(settings_obj: Any) -> str:
    cache = getattr(settings_obj, "CACHES", {}).get("default", {})
    if "redis" in cache.get("BACKEND", "").lower():
        location = cache.get("LOCATION", "")
        return url_host(location if isinstance(location, str) else location[0])
    return ""


def _period_text(value: Any) -> str:
    if isinstance(value, datetime.timedelta):
        return f"{value.days} days"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value} days"
    return str(value)


def _retention_from_settings(settings_obj: Any) -> tuple[RetentionRule, ...]:
    """Fallback: every RETENTION_* setting is a rule (a mapping setting gives one per key)."""
    rules: list[RetentionRule] = []
    for name in sorted(dir(settings_obj)):
        if not name.startswith(RETENTION_PREFIX) or not name.isupper():
            continue
        value = getattr(settings_obj, name)
        if isinstance(value, Mapping):
            items: Iterable[tuple[str, Any]] = sorted(value.items())
            for kind, period in items:
                rules.append(
                    RetentionRule(
                        kind=str(kind).replace("_", " "),
                        period=_period_text(period),
                        starts="see docs/retention.md",
                        legal_basis="see docs/retention.md",
                        setting=f"{name}[{kind!r}]",
                    )
                )
            continue
        kind = name.removeprefix(RETENTION_PREFIX).removesuffix("_DAYS").lower()
        rules.append(
            RetentionRule(
                kind=kind.replace("_", " "),
                period=_period_text(value),
                starts="see docs/retention.md",
                legal_basis="see docs/retention.md",
                setting=name,
            )
        )
    return tuple(rules)


def retention_rules(settings_obj: Any) -> tuple[RetentionRule, ...]:
    """The retention rules, from the retention app's list when it has one, else the settings.

    The source (setting COMPLIANCE_RETENTION_SOURCE) is a callable taking the settings object
    and returning mappings with kind, period, starts, legal_basis and setting.
    """
    path = getattr(settings_obj, RETENTION_SOURCE_SETTING, DEFAULT_RETENTION_SOURCE)
    try:
        source = import_string(path)
    except ImportError:
        return _retention_from_settings(settings_obj)
    return tuple(
        RetentionRule(**{key: str(row[key]) for key in RetentionRule.__dataclass_fields__})
        for row in source(settings_obj)
    )


def configuration_from_settings(settings_obj: Any) -> Configuration:
    """Read the facts the papers describe from a settings object."""

    def get(name: str, default: Any = None) -> Any:
        return getattr(settings_obj, name, default)

    database = get("DATABASES", {}).get("default", {})
    engine = database.get("ENGINE", "")
    documents = get("STORAGES", {}).get("documents", {})
    master_keys = [k for k in str(get("DOCUMENT_MASTER_KEYS", "")).split(",") if k.strip()]
    mail_transport, mail_host = _mail(settings_obj)
    return Configuration(
        jobcenter_name=get("JOBCENTER_NAME", ""),
        site_host=url_host(get("SITE_URL", "")),
        debug=bool(get("DEBUG", False)),
        database="SQLite"
        if "sqlite" in engine
        else "PostgreSQL"
        if "postgres" in engine
        else engine,
        database_host=str(database.get("HOST", "")) if "sqlite" not in engine else "",
        redis_host=_redis_host(settings_obj),
        tls=bool(get("SESSION_COOKIE_SECURE", False)),
        hsts_seconds=int(get("SECURE_HSTS_SECONDS", 0) or 0),
        session_cookie_age=int(get("SESSION_COOKIE_AGE", 0)),
        login_code_minutes=int(get("ACCOUNT_LOGIN_BY_CODE_TIMEOUT", 0)) // 60,
        login_failure_budget=int(get("LOGIN_FAILURE_BUDGET", 0)),
        password_min_length=_password_min_length(settings_obj),
        breached_password_list=bool(get("BREACHED_PASSWORDS_FILE", "")),
        mfa_types=tuple(get("MFA_SUPPORTED_TYPES", ())),
        mfa_trust_browser=bool(get("MFA_TRUST_ENABLED", False)),
        staff_mfa_required=_STAFF_MFA_MIDDLEWARE in get("MIDDLEWARE", ()),
        sso_host=_sso_host(settings_obj),
        encryption_key_count=len(master_keys),
        document_storage_backend=documents.get("BACKEND", ""),
        document_storage_host=_storage_host(documents.get("OPTIONS", {}))
        if documents.get("BACKEND", "") != _FILESYSTEM_STORAGE
        else "",
        virus_scanner=_virus_scanner(settings_obj),
        document_max_bytes=int(get("DOCUMENT_MAX_BYTES", 0)),
        document_max_pages=int(get("DOCUMENT_MAX_PAGES", 0)),
        document_max_files=int(get("DOCUMENT_MAX_FILES", 0)),
        document_max_open_uploads=int(get("DOCUMENT_MAX_OPEN_UPLOADS", 0)),
        document_upload_expiry_hours=int(get("DOCUMENT_UPLOAD_EXPIRY_HOURS", 0)),
        turn_hosts=tuple(turn_host(url) for url in get("TURN_URLS", ())),
        turn_relay_only=bool(get("TURN_RELAY_ONLY", False)),
        turn_credential_ttl=int(get("TURN_CREDENTIAL_TTL_SECONDS", 0)),
        sms_gateway_host=url_host(get("SMS_GATEWAY_URL", "")),
        mail_transport=mail_transport,
        mail_host=mail_host,
        caldav_host=url_host(get("CALDAV_URL", "")),
        seal_key_source=str(get("SEAL_KEY_SOURCE", "")),
        seal_tsa_host=url_host(get("SEAL_TSA_URL", "")),
        seal_csc_host=url_host(get("SEAL_CSC_URL", ""))
        if get("SEAL_KEY_SOURCE", "") == "csc"
        else "",
        signature_validation_fetch=bool(get("SIGNATURE_VALIDATION_FETCH", False)),
        backup_retention_days=int(get("BACKUP_RETENTION_DAYS", 0) or 0),
        retention=retention_rules(settings_obj),
    )


def reference_settings(**environment: str) -> Any:
    """config/settings/base.py run in a clean environment: REFERENCE_ENVIRONMENT (embedded
    mode as it starts in production) plus `environment`, whatever this process has set."""
    base = Path(__file__).resolve().parents[2] / "config" / "settings" / "base.py"
    with tempfile.TemporaryDirectory(prefix="compliance-reference-") as var_dir:
        wanted = {**REFERENCE_ENVIRONMENT, "SPRECHSTUNDE_VAR_DIR": var_dir, **environment}
        with mock.patch.dict(os.environ, wanted, clear=True):
            namespace = runpy.run_path(str(base))
    return type("ReferenceSettings", (), {k: v for k, v in namespace.items() if k.isupper()})


def reference_configuration() -> Configuration:
    """The configuration the committed papers in docs/compliance/ are made from."""
    return configuration_from_settings(reference_settings())
