"""Accessibility feedback: the public form's rate limit, the feedback as a task with a due
date, and marking it answered."""

from __future__ import annotations

import datetime
import ipaddress
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .models import AccessibilityFeedback
from .permissions import can_handle_accessibility_feedback

WINDOW_SECONDS = 3600
TARGET_TYPE = "accessibility.accessibilityfeedback"


class FeedbackRateLimited(ApplicationError):
    """Too many messages from one address (or from everyone) in this hour."""

    def __init__(self, message: Any, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def answer_days() -> int:
    return max(1, int(getattr(settings, "ACCESSIBILITY_FEEDBACK_ANSWER_DAYS", 30)))


def _address_bucket(request: HttpRequest) -> str:
    """The sender's address; IPv6 per /64, which one subscriber usually holds."""
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((int(address), 64), strict=False))
    return str(getattr(address, "ipv4_mapped", None) or address)


def _count(key: str) -> int:
    # add() then incr(): atomic in Redis (scaled mode) and per process in the local cache.
    cache.add(key, 0, timeout=2 * WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=2 * WINDOW_SECONDS)
        return 1


def feedback_admit(*, request: HttpRequest) -> None:
    """Count one message for this address and for everyone; FeedbackRateLimited once either
    budget of this hour is spent. The form needs no login, so without a limit one sender
    could bury the real reports (and the administrators) in messages."""
    now = int(time.time())
    window = now // WINDOW_SECONDS
    retry_after = WINDOW_SECONDS - now % WINDOW_SECONDS
    message = _(
        "You have sent several messages in a short time. Please wait an hour, or write to us "
        "by e-mail or post (see above)."
    )
    per_address = int(getattr(settings, "ACCESSIBILITY_FEEDBACK_PER_ADDRESS", 5))
    total = int(getattr(settings, "ACCESSIBILITY_FEEDBACK_TOTAL", 100))
    if _count(f"a11y-feedback:{window}:{_address_bucket(request)}") > per_address:
        raise FeedbackRateLimited(message, retry_after=retry_after)
    if _count(f"a11y-feedback:{window}:all") > total:
        raise FeedbackRateLimited(message, retry_after=retry_after)


def feedback_submit(
    *,
    message: str,
    page: str = "",
    name: str = "",
    email: str = "",
    request: HttpRequest | None = None,
) -> AccessibilityFeedback:
    """Store a report as a task for the administrators, due ACCESSIBILITY_FEEDBACK_ANSWER_DAYS
    after today."""
    message = message.strip()
    if not message:
        raise ApplicationError(_("Please describe the barrier."), field="message")
    due_on = timezone.localdate() + datetime.timedelta(days=answer_days())
    with transaction.atomic():
        feedback = AccessibilityFeedback.objects.create(
            due_on=due_on,
            page=page.strip()[:300],
            message=message,
            name=name.strip()[:150],
            email=email.strip(),
        )
        audit_record(
            actor=getattr(request, "user", None),
            action="accessibility_feedback.create",
            target=feedback,
            request=request,
        )
    return feedback


def feedback_answer(
    *,
    actor: Any,
    feedback: AccessibilityFeedback,
    note: str = "",
    request: HttpRequest | None = None,
) -> AccessibilityFeedback:
    """Mark a report as answered (the answer itself goes out by e-mail or post), with a note
    of what was done; audited."""
    if not can_handle_accessibility_feedback(user=actor):
        raise PermissionDeniedError(_("You cannot answer accessibility feedback."))
    if not feedback.is_open:
        raise ApplicationError(_("This feedback was answered already."))
    with transaction.atomic():
        feedback.answered_at = timezone.now()
        feedback.answered_by = actor
        feedback.answer_note = note.strip()
        feedback.save(update_fields=["answered_at", "answered_by", "answer_note"])
        audit_record(
            actor=actor, action="accessibility_feedback.answer", target=feedback, request=request
        )
    return feedback
