"""Fixed vocabularies of the copies of a client's own data (Art. 15 GDPR)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportChannel(models.TextChoices):
    """Who asked: the client in the portal, or staff for a request by post or in person."""

    PORTAL = "portal", _("Requested in the portal")
    STAFF = "staff", _("Made by staff for a written request")


class ExportStatus(models.TextChoices):
    """queued → building → ready → expired (file deleted); or failed."""

    QUEUED = "queued", _("Waiting to be made")
    BUILDING = "building", _("Being made")
    READY = "ready", _("Ready to download")
    FAILED = "failed", _("Could not be made")
    EXPIRED = "expired", _("Expired and deleted")


OPEN_STATUSES = frozenset({ExportStatus.QUEUED, ExportStatus.BUILDING})
