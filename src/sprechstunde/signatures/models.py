"""Trust roots the admin manages for validating incoming signed PDFs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.models import TimeStampedModel


class TrustRoot(TimeStampedModel):
    """A CA certificate whose chains count as trusted when a signed PDF is checked.

    Added by an admin (Django admin); a later EU trust list import adds rows with its own
    `source`, see `trust_roots.py`.
    """

    name = models.CharField(_("name"), max_length=200)
    certificate_pem = models.TextField(_("certificate (PEM)"))
    fingerprint_sha256 = models.CharField(_("SHA-256 fingerprint"), max_length=64, unique=True)
    subject = models.CharField(_("subject"), max_length=500)
    not_valid_after = models.DateTimeField(_("valid until"))
    source = models.CharField(_("source"), max_length=50, default="admin")
    is_active = models.BooleanField(_("active"), default=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("trust root")
        verbose_name_plural = _("trust roots")

    def __str__(self) -> str:
        return self.name
