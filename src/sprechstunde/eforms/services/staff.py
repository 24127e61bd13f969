"""The staff side of a submitted form: take it, ask for what is missing (the client's form
reopens), answer through the client's conversation, approve or refuse a request, finish.

Every step checks access (`permissions.can_handle_submissions_of`), moves the state only
along the allowed ways (anything else is refused with a clear message and changes
nothing), appends a FormEvent, is audited, and tells the client after commit with a
content-free notice where she has news on her form page.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.sms import sms_enabled, sms_notice_queue
from sprechstunde.core.text_input import clean_text
from sprechstunde.messaging import services as messaging_services
from sprechstunde.messaging.models import Message
from sprechstunde.messaging.permissions import client_uses_portal

from .. import permissions
from ..choices import SubmissionOutcome, SubmissionStatus
from ..models import FormEvent, FormSubmission

# What staff write: long enough for a careful list of what is missing, short enough for
# a message (messaging's own limit is larger and also holds the frame around it).
NOTE_MAX_LENGTH = 2000

# FormEvent kinds of the staff side (the client side adds "submitted").
EVENT_TAKEN = "taken"
EVENT_NEEDS_MORE = "needs_more"
EVENT_ANSWERED = "answered"
EVENT_APPROVED = "approved"
EVENT_REFUSED = "refused"
EVENT_DONE = "done"

OPEN_STATES = (SubmissionStatus.RECEIVED, SubmissionStatus.IN_PROGRESS)


# --- helpers -----------------------------------------------------------------------------------


def _require_handler(actor: Any, submission: FormSubmission) -> None:
    if not permissions.can_handle_submissions_of(user=actor, client=submission.client):
        raise PermissionDeniedError(_("You may not handle this client's forms."))


def _locked(submission: FormSubmission) -> FormSubmission:
    """The submission's row, locked for the rest of the transaction: two colleagues acting
    at the same moment act one after the other, the second on the state the first left."""
    return (
        FormSubmission.objects.select_for_update(of=("self",))
        .select_related("client", "client__user", "definition")
        .get(pk=submission.pk)
    )


_STATE_REFUSALS: dict[str, Promise] = {
    SubmissionStatus.DRAFT: _("The client has not sent this form yet."),
    SubmissionStatus.RECEIVED: _("Please take the form first."),
    SubmissionStatus.IN_PROGRESS: _("This form is in progress already."),
    SubmissionStatus.NEEDS_MORE: _(
        "This form waits for the client to send what is missing; it can be handled again "
        "once she has sent it."
    ),
    SubmissionStatus.DONE: _("This form is done already."),
}


def _require_state(submission: FormSubmission, allowed: tuple[str, ...]) -> None:
    if submission.status not in allowed:
        raise ApplicationError(_STATE_REFUSALS[submission.status])


def is_decided_by_staff(submission: FormSubmission) -> bool:
    """The definition asks for a decision (e.g. Ortsabwesenheit): approve or refuse."""
    return bool((submission.definition.spec or {}).get("decided_by_staff"))


def spec_text(value: Any, language: str) -> str:
    """A text of a definition (an object with the seven client languages) in `language`,
    German when it lacks that one (the validator makes that rare), else any it has."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return ""
    for code in (language, settings.LANGUAGE_CODE, "de"):
        if value.get(code):
            return str(value[code])
    return str(next(iter(value.values())))


def form_title(submission: FormSubmission, language: str) -> str:
    return spec_text((submission.definition.spec or {}).get("title"), language) or (
        submission.definition.slug
    )


def _client_language(client: Client) -> str:
    account = client.user
    return (
        (account.preferred_language if account else "")
        or client.preferred_language
        or settings.LANGUAGE_CODE
    )


def client_form_path(submission: FormSubmission) -> str:
    """The client's own page of this form in the portal (outcome, reason, what is missing)."""
    return reverse("eforms:portal_detail", args=[submission.pk])


def _message_frame(submission: FormSubmission, *, language: str, kind: str, text: str) -> str:
    """The message as the client reads it in her conversation: which form it is about (in
    her language), then what staff wrote; for "needs more" also the way back to the form."""
    submitted = submission.submitted_at or submission.created_at
    template = "needs_more" if kind == EVENT_NEEDS_MORE else "answer"
    with translation.override(language):
        context = {
            "title": form_title(submission, language),
            "date": formats.date_format(timezone.localtime(submitted).date(), "SHORT_DATE_FORMAT"),
            "text": text,
            "url": f"{settings.SITE_URL}{client_form_path(submission)}",
        }
        return render_to_string(f"eforms/message/{template}.txt", context).strip()


def _send_message(
    *,
    submission: FormSubmission,
    actor: Any,
    kind: str,
    text: str,
    request: HttpRequest | None,
) -> Message:
    client = submission.client
    if not client_uses_portal(client=client):
        raise ApplicationError(
            _(
                "This client does not use the portal any more, so a message would not reach "
                "her. Please contact her by post or phone."
            )
        )
    conversation = messaging_services.conversation_get_or_create(client=client)
    body = _message_frame(submission, language=_client_language(client), kind=kind, text=text)
    return messaging_services.message_send(
        conversation=conversation,
        sender=actor,
        body=body,
        client_msg_id=uuid.uuid4(),
        request=request,
    )


def _event(submission: FormSubmission, *, kind: str, actor: Any, note: str = "") -> FormEvent:
    return FormEvent.objects.create(
        submission=submission, kind=kind, actor=actor, note=note, created_at=timezone.now()
    )


def _save(submission: FormSubmission, *fields: str) -> None:
    submission.updated_at = timezone.now()
    submission.save(update_fields=[*fields, "updated_at"])


def _notify_after_commit(submission: FormSubmission, kind: str) -> None:
    from ..tasks import submission_notice_task

    transaction.on_commit(partial(submission_notice_task.enqueue, submission.pk, kind), robust=True)


# --- the steps ----------------------------------------------------------------------------------


def submission_take(
    *, actor: Any, submission: FormSubmission, request: HttpRequest | None = None
) -> FormSubmission:
    """received → in progress, handled by `actor` from now on."""
    _require_handler(actor, submission)
    with transaction.atomic():
        submission = _locked(submission)
        _require_state(submission, (SubmissionStatus.RECEIVED,))
        submission.status = SubmissionStatus.IN_PROGRESS
        submission.assigned_to = actor
        _save(submission, "status", "assigned_to")
        _event(submission, kind=EVENT_TAKEN, actor=actor)
        audit_record(actor=actor, action="eforms.take", target=submission, request=request)
    return submission


def submission_ask_more(
    *, actor: Any, submission: FormSubmission, note: Any, request: HttpRequest | None = None
) -> FormSubmission:
    """Received or in progress → needs more: the note names what is missing; the client's
    form reopens for her to add it and send again; a message in her conversation names it
    too, and a notice tells her there is news."""
    _require_handler(actor, submission)
    text = clean_text(note, limit=NOTE_MAX_LENGTH, field="note", required=True)
    with transaction.atomic():
        submission = _locked(submission)
        _require_state(submission, OPEN_STATES)
        submission.status = SubmissionStatus.NEEDS_MORE
        submission.needs_more_note = text
        if submission.assigned_to_id is None:
            submission.assigned_to = actor
        # A code sent for the earlier submission must not confirm the changed form.
        submission.code_hash = ""
        submission.code_expires_at = None
        submission.code_attempts = 0
        _save(
            submission,
            "status",
            "needs_more_note",
            "assigned_to",
            "code_hash",
            "code_expires_at",
            "code_attempts",
        )
        _event(submission, kind=EVENT_NEEDS_MORE, actor=actor, note=text)
        _send_message(
            submission=submission, actor=actor, kind=EVENT_NEEDS_MORE, text=text, request=request
        )
        audit_record(actor=actor, action="eforms.needs_more", target=submission, request=request)
        _notify_after_commit(submission, EVENT_NEEDS_MORE)
    return submission


def submission_answer(
    *, actor: Any, submission: FormSubmission, text: Any, request: HttpRequest | None = None
) -> Message:
    """A message to the client about this form, in her conversation, naming the form and
    the day she sent it. The state does not change; the history records the answer."""
    _require_handler(actor, submission)
    body = clean_text(text, limit=NOTE_MAX_LENGTH, field="text", required=True)
    with transaction.atomic():
        submission = _locked(submission)
        if submission.status == SubmissionStatus.DRAFT:
            raise ApplicationError(_STATE_REFUSALS[SubmissionStatus.DRAFT])
        message = _send_message(
            submission=submission, actor=actor, kind=EVENT_ANSWERED, text=body, request=request
        )
        _save(submission)
        _event(submission, kind=EVENT_ANSWERED, actor=actor, note=body)
        audit_record(actor=actor, action="eforms.answer", target=submission, request=request)
    return message


def submission_decide(
    *,
    actor: Any,
    submission: FormSubmission,
    outcome: str,
    reason: Any = "",
    request: HttpRequest | None = None,
) -> FormSubmission:
    """Approve or refuse a request (definitions with `"decided_by_staff": true`); a refusal
    needs a reason. The decision finishes the form: the client sees outcome and reason on
    her form page."""
    _require_handler(actor, submission)
    if outcome not in (SubmissionOutcome.APPROVED, SubmissionOutcome.REFUSED):
        raise ApplicationError(_("Please choose: approve or refuse."), field="outcome")
    refused = outcome == SubmissionOutcome.REFUSED
    text = clean_text(reason, limit=NOTE_MAX_LENGTH, field="reason", required=refused)
    with transaction.atomic():
        submission = _locked(submission)
        if not is_decided_by_staff(submission):
            raise ApplicationError(_("This form asks for no decision; finish it as done."))
        _require_state(submission, OPEN_STATES)
        now = timezone.now()
        submission.outcome = outcome
        submission.outcome_reason = text
        submission.status = SubmissionStatus.DONE
        submission.closed_at = now
        if submission.assigned_to_id is None:
            submission.assigned_to = actor
        _save(submission, "outcome", "outcome_reason", "status", "closed_at", "assigned_to")
        kind = EVENT_REFUSED if refused else EVENT_APPROVED
        _event(submission, kind=kind, actor=actor, note=text)
        audit_record(actor=actor, action=f"eforms.{kind}", target=submission, request=request)
        _notify_after_commit(submission, kind)
    return submission


def submission_done(
    *, actor: Any, submission: FormSubmission, request: HttpRequest | None = None
) -> FormSubmission:
    """Received or in progress → done. A request that needs a decision is finished by the
    decision, not by this step."""
    _require_handler(actor, submission)
    with transaction.atomic():
        submission = _locked(submission)
        _require_state(submission, OPEN_STATES)
        if is_decided_by_staff(submission):
            raise ApplicationError(_("Please approve or refuse this request; that finishes it."))
        submission.status = SubmissionStatus.DONE
        submission.closed_at = timezone.now()
        if submission.assigned_to_id is None:
            submission.assigned_to = actor
        _save(submission, "status", "closed_at", "assigned_to")
        _event(submission, kind=EVENT_DONE, actor=actor)
        audit_record(actor=actor, action="eforms.done", target=submission, request=request)
        _notify_after_commit(submission, EVENT_DONE)
    return submission


# --- the content-free notice ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    address: str
    phone: str
    language: str


def _notice_target(client: Client) -> _Target | None:
    """Where to tell the client: her e-mail, else by SMS to her mobile number; nobody while
    she does not use the portal (the news waits there) or processing is restricted."""
    if not client_uses_portal(client=client):
        return None
    account = client.user
    address = (account.email if account else "") or client.email
    language = _client_language(client)
    if address:
        return _Target(address=address, phone="", language=language)
    if client.mobile_number and sms_enabled():
        return _Target(address="", phone=client.mobile_number, language=language)
    return None


def submission_notice_deliver(*, submission_id: int, kind: str) -> str:
    """Tell the client that there is news about a form she sent, with the link to log in.
    The notice names no form, no decision and no person (no social data in mail or SMS)."""
    submission = (
        FormSubmission.objects.select_related("client", "client__user")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None:
        return "gone"
    target = _notice_target(submission.client)
    if target is None:
        return "no recipient"
    path = client_form_path(submission)
    if target.address:
        context = {
            "url": f"{settings.SITE_URL}{path}",
            "jobcenter_name": settings.JOBCENTER_NAME,
        }
        with translation.override(target.language):
            subject = render_to_string("eforms/mail/notice_subject.txt", context).strip()
            body = render_to_string("eforms/mail/notice.txt", context)
        send_mail(subject, body, None, [target.address])
    else:
        sms_notice_queue(
            to=target.phone,
            notice="form",
            path=path,
            language=target.language,
            dedupe_key=f"form:{submission.pk}:{kind}:{submission.updated_at.timestamp()}",
        )
    audit_record(
        actor=None, action="eforms.notify", target=submission, client_id=submission.client_id
    )
    return "sent"
