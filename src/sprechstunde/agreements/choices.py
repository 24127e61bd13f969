"""Fixed vocabularies of the agreements app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanStatus(models.TextChoices):
    """A plan is worked on as a draft; issuing freezes a numbered version (`PlanVersion`)."""

    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")


class CommentSide(models.TextChoices):
    CLIENT = "client", _("Client")
    STAFF = "staff", _("Jobcenter")


class FieldType(models.TextChoices):
    """The kinds of fields a decision template can ask for."""

    TEXT = "text", _("Text (one line)")
    TEXTAREA = "textarea", _("Text (several lines)")
    DATE = "date", _("Date")
    MONEY = "money", _("Amount in euros")
    NUMBER = "number", _("Whole number")
    CHOICE = "choice", _("Choice")


class DecisionStatus(models.TextChoices):
    """draft → waiting for seal → delivered to the portal / waiting for post → posted."""

    DRAFT = "draft", _("Draft")
    WAITING_FOR_SEAL = "waiting_for_seal", _("Waiting for the seal")
    IN_POSTBOX = "in_postbox", _("In the client's postbox")
    AWAITING_POST = "awaiting_post", _("To be sent by post")
    POSTED = "posted", _("Sent by post")


class DeliveryChannel(models.TextChoices):
    PORTAL = "portal", _("Portal postbox (§ 37 (2a) SGB X)")
    POST = "post", _("Post")


class DeliveryEventKind(models.TextChoices):
    """Entries of a decision's delivery log."""

    SEALED = "sealed", _("sealed")
    PROVIDED = "provided", _("provided")
    NOTIFIED = "notified", _("notified")
    OPENED = "opened", _("first opened")
    PRINTED = "printed", _("print copy made")
    POSTED = "posted", _("sent by post")


class ConfirmationStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the client")
    WAITING_FOR_SEAL = "waiting_for_seal", _("Confirmed, waiting for the seal")
    CONFIRMED = "confirmed", _("Confirmed")


# § 15 (3) SGB II: the plan is reviewed regularly, at the latest after six months.
PLAN_REVIEW_MAX_MONTHS = 6
COMMENT_MAX_LENGTH = 4000
