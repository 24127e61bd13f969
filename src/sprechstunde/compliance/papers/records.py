"""The record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, Art. 30 GDPR)."""

from __future__ import annotations

from ..configuration import Configuration
from .processors import recipients
from .structure import Paper, Section, Table

LEGAL_TASK = "Art. 6(1)(c) and (e), Art. 9(2)(b) GDPR with § 67a ff. SGB X and §§ 50, 51b SGB II"


def _activities(config: Configuration) -> tuple[tuple[str, ...], ...]:
    sms = " or SMS" if config.sms_gateway_host else ""
    video = (
        "browser-to-browser video through our TURN relay"
        if config.turn_relay_only
        else "browser-to-browser video (direct where possible)"
    )
    return (
        (
            "Appointments (Termine)",
            "arrange, remind and record consultations",
            "clients, case managers",
            f"name, contact data, appointment times, channel, attendance; reminders by e-mail{sms}",
            LEGAL_TASK,
        ),
        (
            "Video consultation (Videoberatung)",
            "consult without a visit to the office",
            "clients, case managers, interpreters",
            f"{video}; call times and who took part; no recording",
            "Art. 6(1)(a) GDPR: consent of the client (withdrawable at any time), "
            "besides the legal task",
        ),
        (
            "Portal and messages (Postfach, Nachrichten)",
            "written contact and delivery of decisions and plans",
            "clients, case managers",
            "messages, read receipts, delivered decisions (Bescheide) and cooperation plans "
            "(Kooperationspläne), confirmations",
            f"{LEGAL_TASK}; consent for the portal and for electronic delivery (§ 37(2a) SGB X)",
        ),
        (
            "Documents (Unterlagen)",
            "receive evidence the client must provide (§ 60 SGB I)",
            "clients",
            "uploaded files and photos (may hold special categories), scan results, e-file mark",
            LEGAL_TASK,
        ),
        (
            "Consents (Einwilligungen)",
            "prove what was consented to, in which text and when",
            "clients",
            "purpose, text version, language, given and withdrawn times",
            "Art. 7(1) GDPR",
        ),
        (
            "Audit trail (Protokollierung)",
            "prove who read or changed social data (§ 78a SGB X with the annex)",
            "staff, clients (by number)",
            "actor, action, object, client number, time, IP address; no content",
            "Art. 6(1)(c) GDPR with § 78a SGB X",
        ),
        (
            "Staff accounts (Beschäftigtenkonten)",
            "log in and assign caseloads",
            "staff",
            "name, e-mail, role, team, second-factor credentials, sessions",
            "Art. 6(1)(b) and (c) GDPR with § 26 BDSG",
        ),
        (
            "Signature check (Signaturprüfung)",
            "let anyone check a sealed PDF",
            "anyone uploading a PDF",
            "hash of the file and the IP address (rate limit), the file is not kept",
            "Art. 6(1)(e) GDPR",
        ),
    )


def records_paper(config: Configuration) -> Paper:
    """Art. 30(1) GDPR: purposes, categories, recipients, erasure periods, measures."""
    found = recipients(config)
    erasure = (
        tuple(f"{r.kind}: {r.period} from {r.starts} ({r.legal_basis})" for r in config.retention)
        if config.retention
        else ("No retention periods are configured yet: see docs/retention.md.",)
    )
    return Paper(
        slug="records-of-processing",
        title="Record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, "
        "Art. 30 GDPR)",
        intro=(
            f"Controller (Verantwortlicher): {config.jobcenter_name}, reached at "
            f"{config.site_host or 'the address in SITE_URL'}. The controller's representative "
            "and its data-protection officer are named in the Jobcenter's published privacy "
            "notice (Art. 13 GDPR); this paper describes the processing by Sprechstunde.",
        ),
        sections=(
            Section(
                "Processing activities",
                table=Table(
                    ("Activity", "Purpose", "Data subjects", "Personal data", "Legal basis"),
                    _activities(config),
                ),
            ),
            Section(
                "Recipients (Empfänger)",
                paragraphs=(
                    "Inside the Jobcenter: the responsible case manager, their substitutes and "
                    "team lead. Administrators and the data-protection officer see no social "
                    "data, only the audit trail. Outside services as configured:",
                ),
                items=tuple(f"{r.name} ({r.host or '-'}): {r.data}" for r in found) or ("none",),
            ),
            Section(
                "Transfers to third countries",
                paragraphs=("None by the app (see processors-and-data-flows.md).",),
            ),
            Section("Erasure periods (Löschfristen)", items=erasure),
            Section(
                "Technical and organisational measures",
                paragraphs=("See technical-and-organisational-measures.md (Art. 32 GDPR).",),
            ),
        ),
    )
