"""The data-protection impact assessment draft (DSFA, Art. 35 GDPR) for video and portal."""

from __future__ import annotations

from ..configuration import Configuration
from .format import duration_text
from .structure import Paper, Section, Table


def _risks(config: Configuration) -> tuple[tuple[str, ...], ...]:
    risks: list[tuple[str, ...]] = [
        (
            "Someone else takes part in a consultation",
            "high",
            "waiting room: staff admit each person; join links are single-device, expire and "
            "are void after a move; second factor for staff",
            "low",
        ),
        (
            "A call is recorded or watched by the platform",
            "high",
            "media flow browser to browser, DTLS-SRTP; the server holds no media and no "
            "recording feature exists",
            "low",
        ),
        (
            "Participants learn each other's IP address",
            "medium",
            "all media relayed through our TURN server (TURN_RELAY_ONLY on)"
            if config.turn_relay_only
            else "NOT MITIGATED: TURN_RELAY_ONLY is off, browsers connect directly where they can",
            "low" if config.turn_relay_only else "medium",
        ),
        (
            "A client is pressed into video",
            "medium",
            "video needs a separate consent, withdrawable with one click; appointments then "
            "move to phone or office",
            "low",
        ),
        (
            "Case managers read clients they do not serve",
            "high",
            "need-to-know access checked per object, every refusal and every read audited",
            "low",
        ),
        (
            "Uploaded files carry malware to staff",
            "high",
            f"scanned by {config.virus_scanner}; PDFs rebuilt without active content"
            if config.virus_scanner
            else "no scanner configured: documents are held back unscanned (availability "
            "suffers, confidentiality does not)",
            "low",
        ),
        (
            "Stolen disk or backup reveals documents",
            "high",
            f"documents encrypted with {config.encryption_key_count} master key(s) kept apart "
            "from the data"
            + (
                f"; blobs in object storage ({config.document_storage_host or 'configured'}) "
                "hold ciphertext only"
                if config.object_storage
                else ""
            ),
            "low",
        ),
        (
            "Session left open on a shared device",
            "medium",
            f"sessions end after {duration_text(config.session_cookie_age)}; pages are never "
            "cached; visible logout on every page",
            "low",
        ),
        (
            "Reminders reveal the relationship with the Jobcenter",
            "medium",
            "content-free notices; the sender name is the Jobcenter's"
            + (
                f"; SMS through {config.sms_gateway_host} carry time and link only, the "
                "mobile carrier sees them"
                if config.sms_gateway_host
                else "; no SMS are sent"
            ),
            "medium" if config.sms_gateway_host else "low",
        ),
    ]
    if not config.tls:
        risks.append(
            (
                "Traffic read on the network",
                "high",
                "NOT MITIGATED: USE_TLS is off (development configuration)",
                "high",
            )
        )
    if config.debug:
        risks.append(
            (
                "Error pages reveal internals",
                "medium",
                "NOT MITIGATED: DEBUG is on (development configuration)",
                "medium",
            )
        )
    return tuple(risks)


def dpia_paper(config: Configuration) -> Paper:
    """A draft the DPO completes: description, necessity, risks with the measures configured."""
    return Paper(
        slug="dpia-video-and-portal",
        title="Data-protection impact assessment, draft (Datenschutz-Folgenabschätzung, "
        "Art. 35 GDPR): video consultation and portal",
        intro=(
            "DRAFT generated from the configuration. The data-protection officer reviews it "
            "(Art. 35(2) GDPR), adds the organisational context and signs it; it must be "
            "generated again and reviewed whenever the configuration changes.",
        ),
        sections=(
            Section(
                "Systematic description (Art. 35(7)(a))",
                paragraphs=(
                    f"{config.jobcenter_name} offers its clients (people receiving benefits "
                    "under SGB II) consultations by video and a portal for appointments, "
                    "messages, documents and the delivery of decisions and cooperation plans. "
                    "Social data (§ 67 SGB X) including special categories (health, in "
                    "uploaded evidence) are processed. The processing is on a large scale and "
                    "concerns people in a dependent position, which is why an assessment is "
                    "made (Art. 35(3)(b), DSK list of processing operations).",
                ),
            ),
            Section(
                "Necessity and proportionality (Art. 35(7)(b))",
                items=(
                    "Video and the portal are offered, never required: every service stays "
                    "available by phone, post and in the office.",
                    "Video and electronic delivery need separate consents, withdrawable at any "
                    "time with immediate effect.",
                    "Data are minimised: notices by mail and SMS carry no content; reports "
                    "hold counts only; the audit trail names clients by number.",
                    "Retention: see the erasure section of the TOM paper and docs/retention.md.",
                ),
            ),
            Section(
                "Risks and measures (Art. 35(7)(c) and (d))",
                table=Table(
                    (
                        "Risk to the data subjects",
                        "Severity",
                        "Measures as configured",
                        "Residual risk",
                    ),
                    _risks(config),
                ),
            ),
            Section(
                "Outcome",
                paragraphs=(
                    "To be completed by the data-protection officer: accepted residual risks, "
                    "whether prior consultation of the supervisory authority is needed "
                    "(Art. 36 GDPR), date and signature.",
                ),
            ),
        ),
    )
