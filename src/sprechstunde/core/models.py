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


class SmsMessage(models.Model):
    """One text message to a client, queued and sent through the SMS gateway with retries.

    The text is content-free by construction (templates in `templates/sms/` get no social
    data: tests/test_sms.py proves it), so it may be kept for the delivery record.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=40)
    # One message per event (e.g. "appointment:12:booked:3"): a retried job sends it once.
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    to = models.CharField(max_length=20, help_text="E.164")
    text = models.CharField(max_length=640)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_id = models.CharField(max_length=100, blank=True, db_index=True)
    last_error = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")

    def __str__(self) -> str:
        return f"SMS {self.pk} ({self.kind}, {self.state})"


class WorkerHeartbeat(models.Model):
    """When a task worker last took the heartbeat job off the queue (sprechstunde.core.heartbeat):
    proof that the whole path works (queue, a polling worker, its write). The readiness check
    and /metrics read it. One row per worker id, old rows pruned. Not the same as `TaskWorker`
    below, the per-process lease a worker's own thread renews to keep its running jobs."""

    worker_id = models.CharField(max_length=64, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        verbose_name = "worker heartbeat"

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class TaskWorker(models.Model):
    """A running task worker process (or the embedded worker thread) and its heartbeat.

    A job marked RUNNING by a worker whose heartbeat is older than the lease is put back
    into the queue (`task_worker.task_results_recover`); a claim to send something, held by
    such a worker, may be taken over (`handover.py`). ADR 0082.
    """

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.worker_id


class Handover(models.Model):
    """One message handed to a third party (mail server, SMS gateway) at most once.

    `key` names the message ("appointment-mail:12"). The row is claimed by one worker, then
    marked `handed_over_at` just before the hand-over starts and `sent_at` when it ended.
    A row with `handed_over_at` but no `sent_at` belongs to a worker that died during the
    hand-over: whether the server took the message is unknown, so it is not sent again
    (ADR 0082).
    """

    key = models.CharField(max_length=120, unique=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.key
