"""Choices of the documents app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Side(models.TextChoices):
    """Who sent a document: the client through the portal, or staff."""

    CLIENT = "client", _("Client")
    STAFF = "staff", _("Jobcenter")


class RequestStatus(models.TextChoices):
    """Where a document request stands."""

    OPEN = "open", _("Open")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


class DocumentStatus(models.TextChoices):
    """Life cycle of a document: only READY documents can be opened by anyone."""

    RECEIVING = "receiving", _("Receiving")
    PROCESSING = "processing", _("Waiting for virus check")
    READY = "ready", _("Ready")
    QUARANTINED = "quarantined", _("Quarantined")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


class ScanStatus(models.TextChoices):
    """Result of the ClamAV check."""

    PENDING = "pending", _("Not yet checked")
    CLEAN = "clean", _("No virus found")
    INFECTED = "infected", _("Virus found")
    ERROR = "error", _("Check failed")


class UploadStatus(models.TextChoices):
    """State of a resumable upload session."""

    OPEN = "open", _("Receiving")
    COMPLETE = "complete", _("Complete")
    ABORTED = "aborted", _("Aborted")
