"""Processors (Auftragsverarbeiter, Art. 28 GDPR) and the data flows between the parts."""

from __future__ import annotations

from dataclasses import dataclass

from ..configuration import Configuration
from .format import duration_text, or_none
from .structure import Paper, Section, Table


@dataclass(frozen=True)
class Recipient:
    """A service outside the app process that receives data, as configured right now."""

    name: str
    host: str
    data: str
    protection: str
    setting: str


def recipients(config: Configuration) -> list[Recipient]:
    """Every service that receives data in this configuration (switched-off ones are left out)."""
    found: list[Recipient] = []
    if config.mail_transport.startswith("smtp"):
        tls = {
            "smtp-starttls": "STARTTLS to the relay",
            "smtp-implicit-tls": "TLS (implicit) to the relay",
            "smtp-plain": "NO transport encryption to the relay (EMAIL_USE_TLS and "
            "EMAIL_USE_SSL are off)",
        }.get(config.mail_transport, f"transport security unknown ({config.mail_transport})")
        found.append(
            Recipient(
                "Mail relay (SMTP)",
                config.mail_host,
                "e-mail addresses, login codes, invitation links, content-free notices "
                '("you have a new message"), appointment invitations (time, place or call '
                "link, iCalendar)",
                f"{tls}; no social data in the mail bodies",
                "EMAIL_HOST, EMAIL_USE_TLS, EMAIL_USE_SSL",
            )
        )
    if config.sms_gateway_host:
        found.append(
            Recipient(
                "SMS gateway",
                config.sms_gateway_host,
                "mobile numbers and appointment reminders (time and one link; no content)",
                "HTTPS POST with a bearer token; the mobile carrier sees the text",
                "SMS_GATEWAY_URL",
            )
        )
    if config.turn_hosts:
        found.append(
            Recipient(
                "TURN relay (coturn)",
                ", ".join(config.turn_hosts),
                "IP addresses of participants and their encrypted media streams",
                "media end-to-end encrypted (DTLS-SRTP), the relay cannot read it; "
                f"credentials valid {duration_text(config.turn_credential_ttl)}",
                "TURN_URLS, TURN_SHARED_SECRET, TURN_CREDENTIAL_TTL_SECONDS",
            )
        )
    if config.object_storage:
        found.append(
            Recipient(
                "Object storage for documents",
                or_none(config.document_storage_host, config.document_storage_backend),
                "uploaded documents and previews, encrypted",
                "encrypted before upload (AES-256-GCM, one data key per document); the "
                "master keys never leave the app servers",
                'STORAGES["documents"]',
            )
        )
    if config.seal_tsa_host:
        found.append(
            Recipient(
                "Time-stamping authority (TSA)",
                config.seal_tsa_host,
                "a hash of each sealed PDF, nothing else",
                "RFC 3161 request; the document itself never leaves",
                "SEAL_TSA_URL",
            )
        )
    if config.seal_csc_host:
        found.append(
            Recipient(
                "Remote seal service (CSC)",
                config.seal_csc_host,
                "a hash of each PDF to be sealed",
                "HTTPS with an OAuth token and PIN; the document itself never leaves",
                "SEAL_CSC_URL",
            )
        )
    if config.caldav_host:
        found.append(
            Recipient(
                "Groupware calendar (CalDAV)",
                config.caldav_host,
                "appointment times, channel and link of the case manager's own appointments "
                "(the staff copy: never the client's name)",
                "HTTP(S) with the configured account",
                "CALDAV_URL",
            )
        )
    if config.sso_host:
        found.append(
            Recipient(
                "Single sign-on (OpenID Connect)",
                config.sso_host,
                "staff e-mail address and name at login",
                "OpenID Connect authorisation code flow",
                "OIDC_SERVER_URL",
            )
        )
    if config.database_host:
        found.append(
            Recipient(
                "PostgreSQL database server",
                config.database_host,
                "all structured data (cases, messages, appointments, audit trail)",
                "operated by the Jobcenter's IT; documents are stored encrypted elsewhere",
                "DATABASE_URL",
            )
        )
    if config.redis_host:
        found.append(
            Recipient(
                "Redis (cache and channel layer)",
                config.redis_host,
                "session-independent counters, chat and call signalling messages in transit "
                "(seconds)",
                "operated by the Jobcenter's IT, not reachable from outside",
                "REDIS_URL",
            )
        )
    return found


def processors_paper(config: Configuration) -> Paper:
    """List of processors and data flows as configured."""
    found = recipients(config)
    switched_off = []
    if not config.sms_gateway_host:
        switched_off.append("SMS gateway: off (SMS_GATEWAY_URL empty): no text messages are sent.")
    if not config.turn_hosts:
        switched_off.append(
            "TURN relay: off (TURN_URLS empty): calls connect directly between the browsers, "
            "which then learn each other's IP addresses."
        )
    if not config.object_storage:
        switched_off.append(
            "Object storage: off: encrypted documents are kept on the app server's own disk."
        )
    if not config.mail_transport.startswith("smtp"):
        switched_off.append(
            f"Mail relay: none ({config.mail_transport}): mails do not leave the app."
        )
    if not config.seal_tsa_host:
        switched_off.append("Time-stamping authority: off (SEAL_TSA_URL empty).")
    if not config.signature_validation_fetch:
        switched_off.append(
            "Online revocation checks: off (SIGNATURE_VALIDATION_FETCH): signature checks use "
            "only the data embedded in the PDF."
        )
    if not config.caldav_host:
        switched_off.append("CalDAV calendar sync: off (CALDAV_URL empty).")
    if not config.sso_host:
        switched_off.append("Single sign-on: off (OIDC_SERVER_URL empty).")
    flows = [
        (
            "Browser of a client or staff member",
            "App (HTTPS, WebSocket)",
            "everything the person enters or reads",
            "TLS" if config.tls else "NO TLS (USE_TLS is off)",
        ),
        (
            "Browser",
            "Browser (WebRTC media)",
            "audio and video of a consultation",
            "DTLS-SRTP, relayed through TURN only"
            if config.turn_relay_only
            else "DTLS-SRTP, direct where possible",
        ),
        (
            "App",
            "Task worker (database queue)",
            "jobs: scans, previews, reminders, notices",
            "same database",
        ),
        (
            "App and worker",
            f"{config.database} database",
            "all structured data",
            "local file" if config.database == "SQLite" else "network connection",
        ),
        (
            "App and worker",
            "Document storage",
            "encrypted document blobs",
            "AES-256-GCM before storage",
        ),
        (
            "Worker",
            "Virus scanner",
            "each uploaded file",
            or_none(config.virus_scanner, "no scanner: documents wait unscanned, never served"),
        ),
    ]
    if config.signature_validation_fetch:
        flows.append(
            (
                "App (staff signature checks only)",
                "OCSP and CRL services of certificate authorities",
                "certificate serial numbers; no personal data of clients",
                "allow-listed addresses; public checks never fetch (SIGNATURE_VALIDATION_FETCH)",
            )
        )
    flows += [
        ("App or worker", f"{r.name} ({r.host})", r.data, r.protection)
        for r in found
        if r.name not in ("PostgreSQL database server",)
    ]
    return Paper(
        slug="processors-and-data-flows",
        title="Processors and data flows (Auftragsverarbeiter und Datenflüsse)",
        intro=(
            f"Controller: {config.jobcenter_name}. Every service below receives personal data "
            "only as far as the configuration switches it on. A contract under Art. 28 GDPR "
            "(Auftragsverarbeitungsvertrag) is needed for each one run by another body; "
            "services run by the Jobcenter itself need none.",
            "The browser makes no request to any third-party host: no CDN, no web fonts, no "
            "analytics (checked by the browser tests).",
        ),
        sections=(
            Section(
                "Services that receive data",
                table=Table(
                    ("Service", "Host", "Data", "Protection", "Setting"),
                    tuple((r.name, r.host or "-", r.data, r.protection, r.setting) for r in found),
                )
                if found
                else None,
                paragraphs=() if found else ("No outside service is configured.",),
            ),
            Section("Switched off", items=tuple(switched_off) or ("Nothing.",)),
            Section(
                "Data flows",
                table=Table(("From", "To", "What", "Protection"), tuple(flows)),
            ),
            Section(
                "Transfers to third countries (Art. 44 ff. GDPR)",
                paragraphs=(
                    "None by the app. Whether a configured host above lies outside the EU/EEA "
                    "is for the controller to check with its contract.",
                ),
            ),
        ),
    )
