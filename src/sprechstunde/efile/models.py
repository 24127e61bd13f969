"""The hand-over of a client's records to the authority's e-file as xdomea messages, and the
mark of every record that went (so the next hand-over adds only what is new)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client


class Handover(models.Model):
    """One xdomea message (0401 Abgabe) built for a client: who, when, which process id."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="handovers"
    )
    # The ProzessID of the message; the e-file's import confirmation (0402) names it.
    process_id = models.UUIDField(_("process id"), default=uuid.uuid4, unique=True)
    matter = models.CharField(_("matter"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("handed over at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("e-file hand-over")
        verbose_name_plural = _("e-file hand-overs")

    def __str__(self) -> str:
        return f"Hand-over {self.process_id}"


class HandoverItem(models.Model):
    """The mark "handed over": one record (`kind` + `key`, e.g. a document, a sealed
    decision, a plan version, a delivery log as it stood) in one hand-over. A record goes
    only once; withdrawing the hand-over deletes its items, so they count as new again."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=30)
    key = models.CharField(max_length=60)
    object_id = models.UUIDField()
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    # The hand-over set the documents app's e-file mark (it was not set before), so a
    # withdrawal takes that mark back as well.
    set_document_mark = models.BooleanField(default=False)

    class Meta:
        ordering = ["handover", "pk"]
        verbose_name = _("handed-over record")
        verbose_name_plural = _("handed-over records")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="efile_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
