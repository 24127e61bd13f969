"""Kinds of records with a retention period, and the states of data-subject requests."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordKind(models.TextChoices):
    """Each kind has one period (RETENTION_<KIND>_DAYS) counted from one event (rules.py)."""

    MESSAGE = "message", _("Messages")
    DOCUMENT = "document", _("Documents")
    PREVIEW = "preview", _("Page previews")
    UPLOAD_LEFTOVER = "upload_leftover", _("Upload leftovers")
    APPOINTMENT = "appointment", _("Appointments")
    CALL_RECORD = "call_record", _("Call records")
    CONSENT = "consent", _("Consents")
    DECISION = "decision", _("Decisions")
    PLAN = "plan", _("Cooperation plans")
    DELIVERY_LOG = "delivery_log", _("Delivery logs")
    FORM_SUBMISSION = "form_submission", _("Form submissions")
    AUDIT_ENTRY = "audit_entry", _("Audit entries")
    OUTBOX_MAIL = "outbox_mail", _("Dev-outbox mails")
    CLIENT_RECORD = "client_record", _("Client records")


class RequestKind(models.TextChoices):
    """What the client asked for."""

    ERASURE = "erasure", _("Erasure (Art. 17 GDPR)")
    RESTRICTION = "restriction", _("Restriction of processing (Art. 18 GDPR)")


class RequestStatus(models.TextChoices):
    """Where a request stands."""

    OPEN = "open", _("Open")
    DONE = "done", _("Carried out")
    LIFTED = "lifted", _("Restriction lifted")
    REFUSED = "refused", _("Refused")


class DeletionCause(models.TextChoices):
    """Why records went."""

    RETENTION = "retention", _("Retention period over")
    ERASURE = "erasure", _("Erasure on request")
