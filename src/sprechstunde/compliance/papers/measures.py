"""Technical and organisational measures (TOMs, Art. 32 GDPR) with the settings behind them."""

from __future__ import annotations

from ..configuration import Configuration
from .format import duration_text, on_off, or_none, size_text
from .structure import Paper, Section, Table

HEADERS = ("Measure", "How", "Setting = value now", "Proved by")

T_STORAGE = "src/sprechstunde/documents/tests/test_storage.py"
T_LOGIN = "src/sprechstunde/accounts/tests/test_staff_login.py"
T_PIPELINE = "src/sprechstunde/documents/tests/test_pipeline.py"


def _confidentiality(config: Configuration) -> Section:
    mfa = ", ".join(config.mfa_types) or "none"
    rows = [
        (
            "Second factor for staff (Zugangskontrolle)",
            "every staff login asks for password and an authenticator app or security key; "
            "staff without one are held at its setup"
            if config.staff_mfa_required
            else "NOT ENFORCED: the middleware that holds staff without a second factor is "
            "not installed",
            f"MFA_SUPPORTED_TYPES = {mfa}; MFA_TRUST_ENABLED = {on_off(config.mfa_trust_browser)}",
            f"{T_LOGIN}::test_staff_login_needs_password_and_then_the_authenticator_code",
        ),
        (
            "Passwords (staff only)",
            f"at least {config.password_min_length} characters, common and numeric passwords "
            "refused, as are the words of this service and the Jobcenter"
            + (
                " and passwords known from breaches (offline list)"
                if config.breached_password_list
                else "; no offline list of breached passwords"
            )
            + "; clients log in by one-time code",
            f"AUTH_PASSWORD_VALIDATORS min_length = {config.password_min_length}; "
            f"BREACHED_PASSWORDS_FILE {'set' if config.breached_password_list else 'empty'}",
            "src/sprechstunde/accounts/tests/test_staff_services.py::"
            "test_staff_create_refuses_a_weak_password",
        ),
        (
            "Login codes for clients",
            f"six digits by e-mail, valid {config.login_code_minutes} minutes, void after three "
            "wrong tries",
            f"ACCOUNT_LOGIN_BY_CODE_TIMEOUT = {config.login_code_minutes} minutes",
            "src/sprechstunde/accounts/tests/test_login_code.py::"
            "test_the_code_expires_after_ten_minutes",
        ),
        (
            "Brute-force pause",
            f"after {config.login_failure_budget} failed attempts (passwords, codes, TOTP "
            "together) sign-in pauses, growing each time",
            f"LOGIN_FAILURE_BUDGET = {config.login_failure_budget}",
            "src/sprechstunde/accounts/tests/test_login_budget.py::"
            "test_staff_passwords_totp_and_codes_share_one_budget",
        ),
        (
            "Session timeout",
            f"a session ends {duration_text(config.session_cookie_age)} after login; users "
            "see and end their sessions; deactivating an account ends all of them",
            f"SESSION_COOKIE_AGE = {config.session_cookie_age}",
            "src/sprechstunde/accounts/tests/test_staff_services.py::"
            "test_deactivating_locks_the_account_ends_its_sessions_and_is_audited",
        ),
        (
            "Need-to-know access (Zugriffskontrolle)",
            "case managers see their caseload (and a represented colleague's), team leads "
            "their team, admins and DPOs no client data; every object route is checked for "
            "every role",
            "code (permissions.py of each app)",
            "tests/test_url_access.py::test_route_refuses_foreign_objects",
        ),
        (
            "Single sign-on for staff",
            or_none(config.sso_host and f"OpenID Connect at {config.sso_host}", "not used"),
            "OIDC_SERVER_URL",
            "-",
        ),
        (
            "Separation (Trennungskontrolle)",
            "one instance per Jobcenter; reports hold counts only; clients are named by "
            "number in the audit trail",
            "code",
            "src/sprechstunde/reporting/tests/test_views.py::"
            "test_no_client_and_no_case_manager_appears_on_the_page_or_in_the_csv",
        ),
    ]
    return Section("Confidentiality: access and authentication", table=Table(HEADERS, tuple(rows)))


def _encryption(config: Configuration) -> Section:
    storage = (
        f"object storage ({or_none(config.document_storage_host, config.document_storage_backend)})"
        if config.object_storage
        else "local disk of the app server"
    )
    rows = [
        (
            "Encryption at rest of documents",
            "AES-256-GCM with one data key per document, wrapped by a master key; tampering "
            "is detected; keys can be rotated",
            f"DOCUMENT_MASTER_KEYS = {config.encryption_key_count} key(s) (first one wraps)",
            f"{T_STORAGE}::test_ciphertext_on_disk_holds_no_plaintext",
        ),
        (
            "Where encrypted documents are stored",
            storage,
            f'STORAGES["documents"] = {config.document_storage_backend}',
            f"{T_STORAGE}::test_tampering_is_detected",
        ),
        (
            "Transport encryption (browser)",
            "HTTPS only, secure cookies, HSTS"
            if config.tls
            else "OFF: cookies are sent without the Secure flag (development only)",
            f"USE_TLS = {on_off(config.tls)}; SECURE_HSTS_SECONDS = {config.hsts_seconds}",
            "src/sprechstunde/core/tests/test_smoke.py::test_security_headers_are_set",
        ),
        (
            "Video and audio",
            "browser to browser, DTLS-SRTP; no recording exists; "
            + (
                "all media through our TURN relay, so participants do not learn each "
                "other's IP address"
                if config.turn_relay_only
                else "direct connections where possible (participants may learn each "
                "other's IP address)"
            ),
            f"TURN_RELAY_ONLY = {on_off(config.turn_relay_only)}; TURN_URLS = "
            f"{', '.join(config.turn_hosts) or 'none'}",
            "tests/browser/test_video_calls.py::test_media_goes_through_our_coturn_when_relay_is_forced",
        ),
        (
            "TURN credentials",
            "minted per participant, expire; forged or expired ones are refused by coturn",
            f"TURN_CREDENTIAL_TTL_SECONDS = {config.turn_credential_ttl}",
            "src/sprechstunde/video_calls/tests/test_turn.py::"
            "test_minted_credentials_get_a_relay_and_forged_or_expired_ones_are_refused",
        ),
        (
            "Mail transport",
            {
                "smtp-starttls": f"SMTP relay {config.mail_host} with STARTTLS",
                "smtp-implicit-tls": f"SMTP relay {config.mail_host} with implicit TLS",
                "smtp-plain": f"SMTP relay {config.mail_host} WITHOUT TLS",
                "dev-outbox": "dev outbox: mails never leave the app (development only)",
            }.get(config.mail_transport, "another mail backend: mails do not leave by SMTP"),
            "EMAIL_HOST, EMAIL_USE_TLS, EMAIL_USE_SSL",
            "src/sprechstunde/clients/tests/test_services.py::"
            "test_invitation_mail_has_the_link_and_the_jobcenter_but_no_social_data",
        ),
        (
            "Text messages",
            f"reminders by SMS gateway {config.sms_gateway_host}: time and one link, no content"
            if config.sms_gateway_host
            else "no SMS are sent",
            f"SMS_GATEWAY_URL = {or_none(config.sms_gateway_host)}",
            "src/sprechstunde/appointments/tests/test_reminders.py::"
            "test_sms_reminder_goes_through_the_http_gateway",
        ),
    ]
    return Section("Pseudonymisation and encryption", table=Table(HEADERS, tuple(rows)))


def _integrity(config: Configuration) -> Section:
    rows = [
        (
            "Audit trail (Eingabekontrolle)",
            "every read and change of social data is recorded, append-only, hash-chained; "
            "`manage.py audit_verify` proves the chain",
            "always on",
            "src/sprechstunde/audit/tests/test_verify.py::test_an_edited_row_is_found_at_its_sequence",
        ),
        (
            "Virus scan of uploads",
            f"every file is scanned by {config.virus_scanner}; hits are quarantined"
            if config.virus_scanner
            else "NO SCANNER configured: documents wait and are never served until scanned",
            f"CLAMD_SOCKET / CLAMD_HOST = {or_none(config.virus_scanner)}",
            f"{T_PIPELINE}::test_eicar_inside_a_pdf_is_quarantined_and_never_served",
        ),
        (
            "Upload limits",
            f"at most {size_text(config.document_max_bytes)} and {config.document_max_pages} "
            f"pages per document, {config.document_max_files} photos per document, "
            f"{config.document_max_open_uploads} unfinished uploads per person, unfinished "
            f"uploads removed after {config.document_upload_expiry_hours} hours",
            "DOCUMENT_MAX_BYTES, DOCUMENT_MAX_PAGES, DOCUMENT_MAX_FILES, "
            "DOCUMENT_MAX_OPEN_UPLOADS, DOCUMENT_UPLOAD_EXPIRY_HOURS",
            "src/sprechstunde/documents/tests/test_upload_limits.py::"
            "test_the_21st_unfinished_upload_is_refused_with_a_message",
        ),
        (
            "Active content removed",
            "PDFs are rebuilt from an allow-list; photos lose their metadata; decoding runs "
            "in a limited child process without secrets",
            "DOCUMENT_DECODE_MEMORY_MB, DOCUMENT_DECODE_SECONDS",
            "src/sprechstunde/documents/tests/test_pdf_rebuild.py::"
            "test_served_pdf_holds_no_active_content_and_looks_the_same",
        ),
        (
            "Sealed decisions and plans",
            f"PAdES seal from key source '{or_none(config.seal_key_source)}'"
            + (f", time stamps from {config.seal_tsa_host}" if config.seal_tsa_host else ""),
            f"SEAL_KEY_SOURCE = {or_none(config.seal_key_source)}; SEAL_TSA_URL = "
            f"{or_none(config.seal_tsa_host)}",
            "src/sprechstunde/agreements/tests/test_decisions.py::"
            "test_tampering_with_the_delivery_log_is_detected",
        ),
        (
            "No caching of personal pages",
            "every page for a logged-in person is sent with Cache-Control: no-store",
            "code (NoStoreMiddleware)",
            "tests/test_cache_control.py::test_no_page_of_any_route_may_be_stored_by_a_cache",
        ),
    ]
    return Section("Integrity and input control", table=Table(HEADERS, tuple(rows)))


def _availability(config: Configuration) -> Section:
    backups = (
        f"backups are kept {config.backup_retention_days} days, then age out"
        if config.backup_retention_days
        else "operations schedule them, store them and age them out (docs/operations.md, Backups)"
    )
    rows = [
        (
            "Backups (Verfügbarkeitskontrolle)",
            "`manage.py backup_create` takes one consistent snapshot of the database and the "
            "encrypted documents, with the key material in a separate folder; a restore is "
            "checked with `backup_check` (audit chain, every document decrypts, every seal "
            "validates, ADR 0083); " + backups + "; the audit head is kept apart from the database",
            f"BACKUP_RETENTION_DAYS = {config.backup_retention_days or 'not set'}",
            "src/sprechstunde/backups/tests/test_backups.py::"
            "test_a_backup_restores_into_an_empty_instance_and_everything_checks_out",
        ),
        (
            "Mode of operation",
            f"{config.database} database"
            + (f" at {config.database_host}" if config.database_host else " (embedded file)")
            + (f", Redis at {config.redis_host}" if config.redis_host else ", no Redis"),
            "DATABASE_URL, REDIS_URL",
            "tests/ci/test_configured_services.py::test_database_is_the_one_database_url_names",
        ),
        (
            "Outages of outside services",
            "mail, SMS, CalDAV and sealing outages are retried later and never lose data",
            "code",
            "src/sprechstunde/appointments/tests/test_smtp_outage.py::"
            "test_invitations_wait_out_an_smtp_outage_and_go_out_once_it_is_back",
        ),
        (
            "Debug mode",
            "OFF" if not config.debug else "ON: development only, never in production",
            f"DEBUG = {on_off(config.debug)}",
            "src/sprechstunde/core/tests/test_dev_outbox.py::"
            "test_without_debug_and_without_a_mail_server_the_settings_refuse_to_load",
        ),
    ]
    return Section("Availability and resilience", table=Table(HEADERS, tuple(rows)))


def _retention(config: Configuration) -> Section:
    if not config.retention:
        return Section(
            "Erasure (Löschkonzept)",
            paragraphs=(
                "No retention periods are configured: records are kept until they are "
                "deleted by hand. See docs/retention.md.",
            ),
        )
    return Section(
        "Erasure (Löschkonzept)",
        table=Table(
            ("Kind of record", "Kept for", "From", "Legal basis", "Setting"),
            tuple((r.kind, r.period, r.starts, r.legal_basis, r.setting) for r in config.retention),
        ),
    )


def measures_paper(config: Configuration) -> Paper:
    """The TOMs as configured, each with the setting behind it and the test that proves it."""
    return Paper(
        slug="technical-and-organisational-measures",
        title="Technical and organisational measures (TOM, Art. 32 GDPR)",
        intro=(
            f"Controller: {config.jobcenter_name}. Each measure names the setting that "
            "implements it, its value in this configuration, and the automated test that "
            "proves it works. Organisational measures (training, physical access to the "
            "server rooms, the IT provider's own TOMs) are the controller's and are not "
            "listed here.",
        ),
        sections=(
            _confidentiality(config),
            _encryption(config),
            _integrity(config),
            _availability(config),
            _retention(config),
            Section(
                "Regular testing (Art. 32(1)(d) GDPR)",
                paragraphs=(
                    "Every change runs the full test suite (`make test`, `.ci/run`), including "
                    "the access walk over every route, the browser journeys and the audit "
                    "chain checks. The SBOM (`make sbom`) lists every component for "
                    "vulnerability tracking; docs/threat-model.md and docs/asvs.md map "
                    "threats and OWASP ASVS requirements to tests.",
                ),
            ),
        ),
    )
