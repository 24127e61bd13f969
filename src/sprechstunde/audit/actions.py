"""Readable labels for audit actions such as "client.read" or "consent.withdraw".

Actions are free strings `<entity>.<verb>` chosen by the app that records them. Known
entities and verbs get translated names; anything else is shown in a tidied-up raw form, so
a new action never breaks the trail page.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

VIEW = "audit.view"
EXPORT = "audit.export"

ENTITY_LABELS: dict[str, Promise] = {
    "accessibility_feedback": _("Accessibility feedback"),
    "absence": _("Absence"),
    "account": _("Account"),
    "appointment": _("Appointment"),
    "audit": _("Audit trail"),
    "calendar_feed": _("Calendar feed"),
    "client": _("Client"),
    "consent": _("Consent"),
    "consent_text": _("Consent text"),
    "conversation": _("Conversation"),
    "data_export": _("Copy of own data"),
    "decision": _("Decision"),
    "document": _("Document"),
    "document_request": _("Document request"),
    "message": _("Message"),
    "plan": _("Cooperation plan"),
    "video_call": _("Video call"),
    "erasure": _("Erasure on request"),
    "erasure_request": _("Erasure request"),
    "legal_hold": _("Legal hold"),
    "restriction_request": _("Restriction request"),
    "retention": _("Retention"),
    "desk": _("Today page"),
    "backup": _("Backup"),
    "invitation": _("Invitation"),
    "login": _("Login"),
    "mfa": _("Second factor"),
    "office_hours": _("Office hours"),
    "session": _("Session"),
    "staff": _("Staff account"),
    "substitution": _("Substitution"),
    "team": _("Team"),
    "user": _("User"),
}

VERB_LABELS: dict[str, Promise] = {
    "accept": _("accepted"),
    "answer": _("answered"),
    "case_close": _("case closed"),
    "case_reopen": _("case reopened"),
    "client_view": _("data-protection page viewed"),
    "execute": _("carried out"),
    "lift": _("lifted"),
    "overview_view": _("overview viewed"),
    "record": _("recorded"),
    "refuse": _("refused"),
    "restrict": _("processing restricted"),
    "set": _("set"),
    "trim": _("oldest entries deleted"),
    "accept_proposal": _("proposed time chosen"),
    "access_denied": _("access refused"),
    "activate": _("activated"),
    "attendance": _("attendance recorded"),
    "book": _("booked"),
    "book_office_hours": _("booked in office hours"),
    "cancel": _("cancelled"),
    "confirm": _("confirmed"),
    "create": _("created"),
    "deactivate": _("deactivated"),
    "delete": _("deleted"),
    "download": _("downloaded"),
    "expire": _("expired and deleted"),
    "failed": _("could not be made"),
    "ready": _("made"),
    "end": _("ended"),
    "export": _("exported"),
    "feed_read": _("read by calendar feed"),
    "give": _("given"),
    "list": _("listed"),
    "login": _("logged in"),
    "logout": _("logged out"),
    "mfa_reset": _("second factor reset"),
    "move": _("moved"),
    "password_link": _("password link sent"),
    "propose": _("proposed"),
    "reactivate": _("reactivated"),
    "read": _("viewed"),
    "receipt": _("receipt downloaded"),
    "rename": _("renamed"),
    "request_other_time": _("other time requested"),
    "resend": _("sent again"),
    "revoke": _("revoked"),
    "send": _("sent"),
    "update": _("changed"),
    "view": _("viewed"),
    "refresh": _("shown again with changes"),
    "withdraw": _("withdrawn"),
}

# Whole actions whose label reads better than "<entity>: <verb>".
ACTION_LABELS: dict[str, Promise] = {
    VIEW: _("Audit trail viewed"),
    EXPORT: _("Audit trail exported"),
    "client.access_denied": _("Access to a client refused"),
    "client.list": _("Caseload viewed"),
    "client.language_change": _("Client's language changed"),
    "client.contact_given": _("Client gave her own contact for login codes"),
    "client.search": _("Caseload searched"),
    "backup.create": _("Backup made"),
    "backup.restore": _("Backup restored"),
    "backup.check": _("Stored data checked (audit trail, documents, seals)"),
}


def _tidy(word: str) -> str:
    return word.replace("_", " ").strip()


def action_label(action: str) -> str:
    """The readable, translated label of an action code; never fails on unknown codes."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    entity, _sep, verb = action.partition(".")
    entity_label = str(ENTITY_LABELS[entity]) if entity in ENTITY_LABELS else _tidy(entity)
    entity_label = entity_label[:1].upper() + entity_label[1:]
    if not verb:
        return entity_label
    verb_label = str(VERB_LABELS[verb]) if verb in VERB_LABELS else _tidy(verb)
    return gettext("%(entity)s: %(verb)s") % {"entity": entity_label, "verb": verb_label}


def action_suggestions() -> list[tuple[str, str]]:
    """(code, label) pairs to suggest in the trail's filter: whole areas, then known actions."""
    areas = [(entity, str(label)) for entity, label in ENTITY_LABELS.items()]
    actions = [(code, str(label)) for code, label in ACTION_LABELS.items()]
    return sorted(areas) + sorted(actions)
