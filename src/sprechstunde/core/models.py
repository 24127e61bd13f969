"""Shared model base and the dev outbox used in embedded mode."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Adds creation and change times to a model."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """An e-mail kept in the dev outbox instead of being sent (embedded mode only)."""

    created_at = models.DateTimeField(auto_now_add=True)
    subject = models.CharField(max_length=500)
    from_email = models.CharField(max_length=320)
    to = models.TextField(help_text="Comma-separated recipients")
    body = models.TextField()
    html_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")

    def __str__(self) -> str:
        return self.subject


class OutboxAttachment(models.Model):
    """A file attached to a mail in the dev outbox (an invitation's .ics, a PDF), kept byte
    for byte so it can be opened as the recipient would."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    mimetype = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox attachment")
        verbose_name_plural = _("outbox attachments")

    def __str__(self) -> str:
        return self.filename
