"""Legal holds, data-subject requests (Art. 17/18 GDPR) and the record of every deletion."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client

from .choices import DeletionCause, RecordKind, RequestKind, RequestStatus


class LegalHold(models.Model):
    """Stops deletion of one client's data, or of one matter of theirs (a decision in an
    objection or a court case), until lifted. Lifting keeps the row as the record."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="legal_holds"
    )
    # Empty: the whole client. Else one object, named as in the audit trail.
    target_type = models.CharField(_("matter type"), max_length=60, blank=True)
    target_id = models.CharField(_("matter"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    set_at = models.DateTimeField(_("set at"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-set_at", "-pk"]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")

    def __str__(self) -> str:
        return f"Hold {self.pk} on client {self.client_id}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class DataSubjectRequest(models.Model):
    """A client's request for erasure or restriction, as staff recorded it. Names the client
    only by id, so the record of the request outlives the erased client."""

    client_id = models.BigIntegerField(_("client"), db_index=True)
    kind = models.CharField(_("request"), max_length=20, choices=RequestKind.choices)
    received_on = models.DateField(_("received on"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")

    def __str__(self) -> str:
        return f"{self.kind} request {self.pk}"


class DeletionRecord(models.Model):
    """What one run deleted of one kind: how many, the span of their start events and the
    rule. No content and no names; `client_id` only for an erasure on request."""

    created_at = models.DateTimeField(_("deleted at"))
    kind = models.CharField(_("kind"), max_length=30, choices=RecordKind.choices)
    cause = models.CharField(_("cause"), max_length=20, choices=DeletionCause.choices)
    count = models.PositiveIntegerField(_("count"))
    oldest_start = models.DateTimeField(_("oldest start event"), null=True, blank=True)
    newest_start = models.DateTimeField(_("newest start event"), null=True, blank=True)
    rule = models.CharField(_("rule"), max_length=300)
    client_id = models.BigIntegerField(_("client"), null=True, blank=True)
    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("deletion record")
        verbose_name_plural = _("deletion records")

    def __str__(self) -> str:
        return f"{self.kind}: {self.count}"


class RetentionSweep(models.Model):
    """One queued retention job per day: however many workers start, the unique slot lets
    only one of them queue the next run."""

    run_at = models.DateTimeField(unique=True)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self) -> str:
        return f"Retention run at {self.run_at:%Y-%m-%d %H:%M}"
