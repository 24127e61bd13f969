"""A copy of everything stored about one client (Art. 15 GDPR), made in the background and
kept encrypted, like documents, until its link expires."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client

from .choices import ExportChannel, ExportStatus


class DataExport(models.Model):
    """One ZIP of a client's data. The id is random (it is in the download link); the file
    is AES-256-GCM with its own data key, and goes when `expires_at` has passed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="data_exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(_("requested"), max_length=10, choices=ExportChannel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    # 0-100, written by the building job after each part, read by the progress page.
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link valid until"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("last downloaded at"), null=True, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("SHA-256 of the ZIP"), max_length=64, blank=True)
    # The encrypted ZIP in the documents storage, and its data key wrapped by a master key.
    storage_name = models.CharField(max_length=200, blank=True, editable=False)
    wrapped_key = models.BinaryField(null=True, blank=True, editable=False)
    key_id = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("copy of own data")
        verbose_name_plural = _("copies of own data")
        indexes = [models.Index(fields=["status", "expires_at"], name="data_export_expiry")]

    def __str__(self) -> str:
        return f"Data export {self.pk}"

    @property
    def is_ready(self) -> bool:
        return self.status == ExportStatus.READY and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    @property
    def is_open(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.BUILDING)
