"""Document requests: the case manager asks for a document with a due date; the client's
upload answers it; content-free notices and reminders by e-mail.
"""

from __future__ import annotations

import datetime
import functools
import logging
import re
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client, Consent
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.sms import sms_enabled, sms_notice_queue

from ..choices import RequestStatus
from ..models import Document, DocumentRequest
from ..permissions import can_change_client_documents

logger = logging.getLogger(__name__)


TITLE_MAX_LENGTH = 200


NOTE_MAX_LENGTH = 1000


# A due date further out than this is almost certainly a typo (2205 for 2025).
DUE_MAX_DAYS_AHEAD = 366


DEFAULT_REMIND_DAYS = (3, 1)


# Reminders queued for a step day run at this local time (the sweep command catches up).
REMIND_AT = datetime.time(8, 0)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def client_uses_portal(*, client: Client) -> bool:
    """The client has an active portal account and consents to portal use: only then is a
    reminder of any use to them. Never while processing is restricted (Art. 18 GDPR)."""
    account = client.user
    if account is None or not account.is_active or client.processing_restricted_at is not None:
        return False
    return Consent.objects.filter(
        client=client, purpose=ConsentPurpose.PORTAL, withdrawn_at__isnull=True
    ).exists()


def _clean_text(value: Any, *, max_length: int, field: str, required: bool) -> str:
    text = value if isinstance(value, str) else ""
    text = _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not text:
        raise ApplicationError(_("Please say which document you need."), field=field)
    if len(text) > max_length:
        raise ApplicationError(
            _("Please use at most %(limit)d characters.") % {"limit": max_length}, field=field
        )
    return text


def due_on_validate(due_on: Any) -> datetime.date:
    """The due date if it is usable: a date, today or later, and within a year."""
    if not isinstance(due_on, datetime.date) or isinstance(due_on, datetime.datetime):
        raise ApplicationError(_("Please enter a due date."), field="due_on")
    today = timezone.localdate()
    if due_on < today:
        raise ApplicationError(_("The due date cannot be in the past."), field="due_on")
    if due_on > today + datetime.timedelta(days=DUE_MAX_DAYS_AHEAD):
        raise ApplicationError(
            _("The due date must be within one year from today."), field="due_on"
        )
    return due_on


def document_request_create(
    *,
    actor: Any,
    client: Client,
    title: Any,
    due_on: Any,
    note: Any = "",
    request: HttpRequest | None = None,
) -> DocumentRequest:
    """Ask `client` for a document by `due_on`. After commit the client gets a content-free
    notice (when they use the portal) and reminders are queued for the configured days.

    Raises PermissionDeniedError outside the rules, ApplicationError for bad input.
    """
    if not can_change_client_documents(user=actor, client=client):
        raise PermissionDeniedError(_("You cannot request documents from this client."))
    clean_title = _clean_text(title, max_length=TITLE_MAX_LENGTH, field="title", required=True)
    clean_note = _clean_text(note, max_length=NOTE_MAX_LENGTH, field="note", required=False)
    due = due_on_validate(due_on)
    with transaction.atomic():
        document_request = DocumentRequest.objects.create(
            client=client,
            requested_by=actor,
            title=clean_title,
            note=clean_note,
            due_on=due,
            status=RequestStatus.OPEN,
            created_at=timezone.now(),
        )
        audit_record(
            actor=actor, action="document_request.create", target=document_request, request=request
        )
        transaction.on_commit(
            functools.partial(_enqueue_created_notice, document_request.pk), robust=True
        )
        transaction.on_commit(
            functools.partial(document_request_reminders_schedule, document_request.pk),
            robust=True,
        )
    return document_request


def document_request_cancel(
    *, actor: Any, document_request: DocumentRequest, request: HttpRequest | None = None
) -> DocumentRequest:
    """Withdraw an open request (the client no longer needs to send it). Reminders stop.

    Raises PermissionDeniedError outside the rules, ApplicationError when it is not open.
    """
    if not can_change_client_documents(user=actor, client=document_request.client):
        raise PermissionDeniedError(_("You cannot change this request."))
    now = timezone.now()
    with transaction.atomic():
        changed = DocumentRequest.objects.filter(
            pk=document_request.pk, status=RequestStatus.OPEN
        ).update(status=RequestStatus.CANCELLED, cancelled_at=now)
        if not changed:
            raise ApplicationError(_("This request is no longer open."))
        audit_record(
            actor=actor, action="document_request.cancel", target=document_request, request=request
        )
    document_request.status = RequestStatus.CANCELLED
    document_request.cancelled_at = now
    return document_request


def document_request_fulfil(
    *,
    document_request: DocumentRequest,
    document: Document,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> bool:
    """Mark `document_request` as fulfilled by `document`; True when this call did it.

    FOR THE UPLOAD SERVICE: call this when a document sent against a request has become
    READY (passed the virus check), inside the transaction that makes it ready, with the
    document's `request` already set to this request. A quarantined or refused file answers
    nothing. Idempotent: a second document for the same request, or a request cancelled in
    the meantime, changes nothing and returns False. Audited as "document_request.fulfil".
    """
    if document.client_id != document_request.client_id:
        raise ApplicationError(_("This document does not belong to the request's client."))
    if document.request_id not in (None, document_request.pk):
        raise ApplicationError(_("This document answers another request."))
    now = timezone.now()
    with transaction.atomic():
        if document.request_id is None:
            Document.objects.filter(pk=document.pk).update(request=document_request)
            document.request = document_request
        changed = DocumentRequest.objects.filter(
            pk=document_request.pk, status=RequestStatus.OPEN
        ).update(status=RequestStatus.FULFILLED, fulfilled_at=now)
        if not changed:
            return False
        audit_record(
            actor=actor, action="document_request.fulfil", target=document_request, request=request
        )
    document_request.status = RequestStatus.FULFILLED
    document_request.fulfilled_at = now
    return True


def remind_days() -> list[int]:
    """The configured days before the due date on which to remind, largest first."""
    days = getattr(settings, "DOCUMENT_REQUEST_REMIND_DAYS", DEFAULT_REMIND_DAYS)
    return sorted({int(day) for day in days if int(day) >= 0}, reverse=True)


def reminder_step_due(
    *, document_request: DocumentRequest, today: datetime.date
) -> datetime.date | None:
    """The day of the reminder step that is due on `today`, or None when no reminder is due.

    The step is the latest configured day before the due date that has come (so after a
    downtime only the nearest missed reminder goes out). Steps on or before the day the
    request was made are left out: the client was just told about it.
    """
    if document_request.status != RequestStatus.OPEN or today > document_request.due_on:
        return None
    created_on = timezone.localdate(document_request.created_at)
    step_days = [document_request.due_on - datetime.timedelta(days=days) for days in remind_days()]
    passed = [day for day in step_days if created_on < day <= today]
    if not passed:
        return None
    step = max(passed)
    if document_request.reminded_on is not None and document_request.reminded_on >= step:
        return None
    return step


def _client_address(client: Client) -> tuple[str, str] | None:
    """Where and in which language to write to a client who uses the portal."""
    if not client_uses_portal(client=client):
        return None
    account = client.user
    assert account is not None  # client_uses_portal checked it
    address = account.email or client.email
    if not address:
        return None
    language = account.preferred_language or client.preferred_language or settings.LANGUAGE_CODE
    return address, language


def _mail_send(*, kind: str, address: str, language: str, days_left: int = 0) -> None:
    """The notice names no document, no person and no date: only that something waits."""
    context = {
        "kind": kind,
        "days_left": days_left,
        "url": f"{settings.SITE_URL}{reverse('documents:portal_requests')}",
        "jobcenter_name": settings.JOBCENTER_NAME,
    }
    with translation.override(language):
        subject = render_to_string("documents/requests/mail/subject.txt", context).strip()
        body = render_to_string("documents/requests/mail/body.txt", context)
    send_mail(subject, body, None, [address])


def document_request_notify_created(*, document_request_id: int) -> str:
    """Tell the client that the Jobcenter asks for a document; says what it did."""
    document_request = (
        DocumentRequest.objects.select_related("client", "client__user")
        .filter(pk=document_request_id)
        .first()
    )
    if document_request is None or document_request.status != RequestStatus.OPEN:
        return "gone"
    client = document_request.client
    target = _client_address(client)
    if target is not None:
        _mail_send(kind="created", address=target[0], language=target[1])
    elif client_uses_portal(client=client) and client.mobile_number and sms_enabled():
        # A client without e-mail is told by SMS (content-free, like the mail).
        account = client.user
        language = (account.preferred_language if account else "") or client.preferred_language
        sms_notice_queue(
            to=client.mobile_number,
            notice="document_request",
            path=reverse("documents:portal_requests"),
            language=language or settings.LANGUAGE_CODE,
            dedupe_key=f"document-request:{document_request.pk}:created",
        )
    else:
        return "no recipient"
    audit_record(actor=None, action="document_request.notify", target=document_request)
    return "sent"


def document_request_remind(*, document_request_id: int, today: datetime.date | None = None) -> str:
    """Send the reminder that is due today for one request, at most one per day and step.

    The day is claimed with a conditional UPDATE before the mail goes out, so two workers
    (or the task and the sweep command) never both send; a failed send gives the day back.
    """
    today = today or timezone.localdate()
    document_request = (
        DocumentRequest.objects.select_related("client", "client__user")
        .filter(pk=document_request_id)
        .first()
    )
    if document_request is None:
        return "gone"
    step = reminder_step_due(document_request=document_request, today=today)
    if step is None:
        return "not due"
    target = _client_address(document_request.client)
    if target is None:
        return "no recipient"
    previous = document_request.reminded_on
    claimed = (
        DocumentRequest.objects.filter(pk=document_request.pk, status=RequestStatus.OPEN)
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=step))
        .update(reminded_on=today)
    )
    if not claimed:
        return "already reminded"
    try:
        _mail_send(
            kind="reminder",
            address=target[0],
            language=target[1],
            days_left=(document_request.due_on - today).days,
        )
    except Exception:
        DocumentRequest.objects.filter(pk=document_request.pk, reminded_on=today).update(
            reminded_on=previous
        )
        raise
    audit_record(actor=None, action="document_request.remind", target=document_request)
    return "sent"


def document_request_reminders_send_due(*, today: datetime.date | None = None) -> dict[str, int]:
    """The sweep: send every reminder due today (the safety net after downtime, and the
    whole mechanism for set-ups whose queue cannot defer jobs). Returns counts by outcome."""
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=max(remind_days(), default=0))
    candidates = DocumentRequest.objects.filter(
        status=RequestStatus.OPEN, due_on__gte=today, due_on__lte=horizon
    ).filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
    outcomes: dict[str, int] = {}
    for pk in candidates.values_list("pk", flat=True).iterator():
        try:
            outcome = document_request_remind(document_request_id=pk, today=today)
        except Exception:  # a mail server outage: keep going, the next sweep retries
            logger.warning("Reminder for document request %s failed", pk, exc_info=True)
            outcome = "failed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def document_request_reminders_schedule(document_request_id: int) -> int:
    """Queue one reminder job per step day of a new request (at REMIND_AT local time);
    returns how many. Without a queue that can wait, the sweep command does the work."""
    from django_tasks import task_backends

    from ..tasks import document_request_remind_task

    if not task_backends[document_request_remind_task.backend].supports_defer:
        return 0
    document_request = DocumentRequest.objects.filter(pk=document_request_id).first()
    if document_request is None:
        return 0
    created_on = timezone.localdate(document_request.created_at)
    queued = 0
    for days in remind_days():
        day = document_request.due_on - datetime.timedelta(days=days)
        if day <= created_on:
            continue
        run_after = timezone.make_aware(datetime.datetime.combine(day, REMIND_AT))
        document_request_remind_task.using(run_after=run_after).enqueue(document_request_id)
        queued += 1
    return queued


def _enqueue_created_notice(document_request_id: int) -> None:
    from ..tasks import document_request_notice_task

    document_request_notice_task.enqueue(document_request_id)
