"""Text messages as a channel of their own: rendered from content-free templates in the
client's language, queued, sent through the gateway with retries, and tracked to delivery.

Templates live in `templates/sms/<kind>.txt` and get no social data (no names, no subject
matter, no amounts): tests/test_sms.py renders each with sensitive sample data and finds none.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import functools
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import SmsMessage
from .sms_gateway import SmsError, sms_gateway

logger = logging.getLogger(__name__)

# A message is given up after this many refused attempts (1, 2, 4 … minutes apart).
MAX_ATTEMPTS = 8
TEXT_LIMIT = 640  # four concatenated SMS parts
# Texts that carry a secret (a login code, an invitation token, whose hash alone is stored):
# once the message has left the queue, the stored copy keeps only what kind it was.
SECRET_KINDS = frozenset({"login_code", "invitation", "form_code"})
REDACTED = "[redacted after sending]"


def sms_enabled() -> bool:
    """Whether a gateway is configured (SMS_GATEWAY_URL)."""
    return bool(getattr(settings, "SMS_GATEWAY_URL", ""))


def sms_render(*, kind: str, context: dict[str, Any], language: str) -> str:
    """The text of one SMS of `kind`, in `language`, on one line, within the length limit."""
    with translation.override(language or settings.LANGUAGE_CODE):
        text = render_to_string(
            f"sms/{kind}.txt", {"jobcenter_name": settings.JOBCENTER_NAME, **context}
        )
    return " ".join(text.split())[:TEXT_LIMIT]


def sms_queue(*, to: str, kind: str, text: str, dedupe_key: str | None = None) -> SmsMessage | None:
    """Store an SMS and send it from the task queue after commit; None when SMS is not set
    up, or when the message for `dedupe_key` exists already (sent once per event)."""
    if not sms_enabled() or not to:
        return None
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(to=to, kind=kind, text=text, dedupe_key=dedupe_key)
    except IntegrityError:
        return None
    from .tasks import sms_send

    transaction.on_commit(functools.partial(sms_send.enqueue, message.pk))
    return message


def sms_deliver(*, sms_id: int) -> str:
    """Send one queued SMS; says what happened. Raises SmsError when the gateway refused it
    and it should be tried again later (the attempt is recorded first).

    The row stays locked while the gateway is asked, so two workers never send it twice.
    """
    gateway = sms_gateway()
    refused: SmsError | None = None
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(pk=sms_id).first()
        if message is None:
            return "gone"
        if message.state != SmsMessage.State.QUEUED:
            return "done already"
        if gateway is None:
            return "no gateway"
        message.attempts += 1
        try:
            message.provider_id = gateway.send(
                to=message.to, text=message.text, reference=str(message.pk)
            )
        except SmsError as error:
            refused = error
            message.last_error = str(error)[:200]
            if message.attempts >= MAX_ATTEMPTS:
                message.state = SmsMessage.State.FAILED
        else:
            message.state = SmsMessage.State.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
        if message.kind in SECRET_KINDS and message.state != SmsMessage.State.QUEUED:
            message.text = REDACTED
        message.save(
            update_fields=["attempts", "state", "provider_id", "sent_at", "last_error", "text"]
        )
    if refused is None:
        return "sent"
    if message.state == SmsMessage.State.FAILED:
        logger.warning("SMS %s given up after %s attempts", message.pk, message.attempts)
        return "failed"
    raise refused


def sms_retry_delay(*, sms_id: int) -> datetime.timedelta:
    attempts = SmsMessage.objects.filter(pk=sms_id).values_list("attempts", flat=True).first()
    return datetime.timedelta(minutes=min(2 ** max((attempts or 1) - 1, 0), 60))


def sms_status_record(*, provider_id: str, status: str) -> bool:
    """A delivery report from the gateway: delivered or failed. False when unknown."""
    states = {"delivered": SmsMessage.State.DELIVERED, "failed": SmsMessage.State.FAILED}
    if status not in states or not provider_id:
        return False
    updated = SmsMessage.objects.filter(
        provider_id=provider_id, state__in=[SmsMessage.State.SENT, SmsMessage.State.DELIVERED]
    ).update(state=states[status], status_at=timezone.now())
    return bool(updated)


def sms_notice_queue(
    *, to: str, notice: str, path: str, language: str, dedupe_key: str | None = None
) -> SmsMessage | None:
    """Queue the content-free "something waits in the portal" text (`notice`: message,
    document or document_request) with the link to `path`, for a client reached by SMS."""
    text = sms_render(
        kind="notice",
        context={"notice": notice, "url": f"{settings.SITE_URL}{path}"},
        language=language,
    )
    return sms_queue(to=to, kind=f"notice_{notice}", text=text, dedupe_key=dedupe_key)
