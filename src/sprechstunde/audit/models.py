"""The append-only audit trail. Each entry is chained to the one before it by a hash."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who did what to which object of which client, when. Never any content.

    `entry_hash` = SHA-256 over the previous entry's hash and this entry's fields, so an
    edited, deleted or reordered row breaks the chain (see `audit_verify`).
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(_("time"), editable=False, db_index=True)
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True, editable=False)
    actor_label = models.CharField(_("actor"), max_length=200, editable=False)
    action = models.CharField(_("action"), max_length=60, editable=False, db_index=True)
    target_type = models.CharField(_("object type"), max_length=60, editable=False)
    target_id = models.CharField(_("object"), max_length=64, blank=True, editable=False)
    client_id = models.BigIntegerField(
        _("client"), null=True, blank=True, editable=False, db_index=True
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False, unique=True)

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.target_type}:{self.target_id}"
