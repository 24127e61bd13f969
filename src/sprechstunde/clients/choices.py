from django.db import models
from django.utils.translation import gettext_lazy as _


class ConsentPurpose(models.TextChoices):
    """Each purpose is consented to separately (Art. 7 GDPR, § 67b SGB X)."""

    PORTAL = "portal", _("Use of the portal")
    VIDEO = "video", _("Video consultations")
    # § 37 Abs. 2a SGB X: electronic delivery of decisions needs its own, revocable consent.
    ELECTRONIC_DELIVERY = "electronic_delivery", _("Electronic delivery of documents")


REQUIRED_PURPOSES = frozenset({ConsentPurpose.PORTAL})


class ConsentMethod(models.TextChoices):
    """How a consent was given or withdrawn."""

    PORTAL = "portal", _("Online in the portal")
    PAPER = "paper", _("On paper, entered by staff")


class InvitationChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")
    HANDED_OVER = "handed_over", _("Handed over by staff")
    LETTER = "letter", _("Letter by post")


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


# Short names for compact places (the caseload list); the full label is ConsentPurpose.label.
PURPOSE_SHORT_LABELS = {
    ConsentPurpose.PORTAL: _("Portal"),
    ConsentPurpose.VIDEO: _("Video"),
    ConsentPurpose.ELECTRONIC_DELIVERY: _("Documents"),
}


class InterpreterNeed(models.TextChoices):
    """Whether the client needs an interpreter in talks (the values match the kinds of
    interpreter link a call offers, so booking can offer the right one)."""

    NONE = "", _("No interpreter needed")
    SPOKEN = "spoken", _("Interpreter for a spoken language")
    SIGN = "sign", _("Sign-language interpreter")
