"""Writes of the messaging app: conversations, messages, read state and e-mail notices.

The rules that keep a conversation whole: a message is stored before it is acknowledged;
its number comes from the conversation's counter, taken under a row lock in the same
transaction; the sender's `client_msg_id` makes a resend return the stored message instead
of a copy. Pushes to open websockets start only after the commit (push.py); the notice job
is written in the message's own transaction when the queue lives in the same database
(ADR 0091).
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, router, transaction
from django.db.models import F, Max
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from sprechstunde.accounts.models import Substitution, User
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.sms import sms_enabled, sms_notice_queue
from sprechstunde.documents import file_checks
from sprechstunde.documents import permissions as document_permissions
from sprechstunde.documents import selectors as document_selectors
from sprechstunde.documents import services as document_services
from sprechstunde.documents.choices import UploadStatus
from sprechstunde.documents.models import UploadSession

from . import frames, permissions, push
from .choices import MESSAGE_MAX_ATTACHMENTS, MESSAGE_MAX_LENGTH, Side
from .models import Conversation, Message, MessageAttachment, ReadState

logger = logging.getLogger(__name__)

# C0 control characters other than tab and line feed, and DEL: they have no place in a
# message (PostgreSQL refuses NUL in text, and the rest only hides or garbles content).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
DEFAULT_NOTICE_DELAY_SECONDS = 15 * 60


def conversation_get_or_create(*, client: Client) -> Conversation:
    """The one conversation of `client`, made on first use (callers have checked access)."""
    conversation, _created = Conversation.objects.select_related(
        "client", "client__user", "client__case_manager"
    ).get_or_create(client=client)
    return conversation


def _message_id(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as error:
        raise ApplicationError(
            _("The message could not be sent. Please reload the page and try again."),
            field="client_msg_id",
        ) from error


def message_body_clean(body: Any, *, allow_empty: bool = False) -> str:
    """The text as it will be stored: line ends unified, control characters removed, trimmed.

    Raises ApplicationError for an empty (unless `allow_empty`: a message that carries
    attachments may go without words) or too long text.
    """
    if body is None and allow_empty:
        body = ""
    if not isinstance(body, str):
        raise ApplicationError(_("Please write a message."), field="body")
    # A lone surrogate (possible in JSON: "\\ud800") cannot be stored as UTF-8: replace it.
    body = body.encode("utf-8", errors="replace").decode("utf-8")
    text = _CONTROL_CHARACTERS.sub("", body.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text and not allow_empty:
        raise ApplicationError(_("Please write a message."), field="body")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ApplicationError(
            _("The message is too long: at most %(limit)d characters, please.")
            % {"limit": MESSAGE_MAX_LENGTH},
            field="body",
        )
    return text


def message_send(
    *,
    conversation: Conversation,
    sender: Any,
    body: Any,
    client_msg_id: Any,
    attachment_upload_ids: Sequence[str] = (),
    request: HttpRequest | None = None,
) -> Message:
    """Store one message and return it; a resend with the same `client_msg_id` returns the
    stored message unchanged. After commit: a push to the open websockets and a notice job.

    `attachment_upload_ids` are finished resumable uploads of the documents app (in the
    order shown); each becomes a document of the client, checked and processed like any
    other. All or nothing: one refused file refuses the whole message, and then nothing is
    stored and the uploads stay for another try.

    Raises PermissionDeniedError outside the write rules, ApplicationError for bad input or
    when a staff member writes to a client who does not use the portal.
    """
    if not permissions.can_write_conversation(user=sender, conversation=conversation):
        raise PermissionDeniedError(_("You cannot write in this conversation."))
    message_id = _message_id(client_msg_id)
    upload_ids = list(attachment_upload_ids)
    text = message_body_clean(body, allow_empty=bool(upload_ids))
    side = permissions.side_of(user=sender)
    client = conversation.client
    if side == Side.STAFF and not permissions.client_uses_portal(client=client):
        raise ApplicationError(
            _(
                "This client does not use the portal, so a message would not reach them. "
                "Please contact them by post or phone."
            )
        )
    if upload_ids:
        # A resend after a lost answer: the uploads were used up by the first send.
        existing = _message_already_sent(
            conversation=conversation, sender=sender, message_id=message_id
        )
        if existing is not None:
            return existing
        sessions = _attachment_uploads_check(sender=sender, client=client, upload_ids=upload_ids)
        try:
            return _message_store(
                conversation=conversation,
                sender=sender,
                side=side,
                text=text,
                message_id=message_id,
                sessions=sessions,
                request=request,
            )
        finally:
            # Turning an upload into a document uses its file up, even when the transaction
            # is then rolled back: whatever is left of these uploads is of no further use.
            for session in sessions:
                document_services.upload_session_abort(session=session)
    return _message_store(
        conversation=conversation,
        sender=sender,
        side=side,
        text=text,
        message_id=message_id,
        sessions=[],
        request=request,
    )


def _message_already_sent(
    *, conversation: Conversation, sender: Any, message_id: uuid.UUID
) -> Message | None:
    existing = (
        Message.objects.filter(conversation=conversation, client_msg_id=message_id)
        .select_related("sender")
        .first()
    )
    if existing is None:
        return None
    if existing.sender_id != sender.pk:
        raise ApplicationError(
            _("The message could not be sent. Please reload the page and try again."),
            field="client_msg_id",
        )
    existing.conversation = conversation
    return existing


def _attachment_uploads_check(
    *, sender: Any, client: Client, upload_ids: list[str]
) -> list[UploadSession]:
    """The sender's finished uploads for the attachments, each file checked by the documents
    app's rules before anything is stored, so that a refusal changes nothing (the uploads
    stay, and the sender can remove the refused file and send again)."""
    if len(upload_ids) > MESSAGE_MAX_ATTACHMENTS:
        raise ApplicationError(
            ngettext(
                "At most %(count)s attachment per message, please.",
                "At most %(count)s attachments per message, please.",
                MESSAGE_MAX_ATTACHMENTS,
            )
            % {"count": MESSAGE_MAX_ATTACHMENTS},
            field="attachments",
        )
    if not document_permissions.can_upload_for_client(user=sender, client=client):
        raise PermissionDeniedError(_("You cannot send documents for this client."))
    sessions: list[UploadSession] = []
    for upload_id in upload_ids:
        session = document_selectors.upload_session_for_user(user=sender, pk=upload_id)
        if session is None or session.client_id != client.pk or session in sessions:
            raise ApplicationError(
                _("An attachment could not be found. Please choose the file again."),
                field="attachments",
            )
        if session.status != UploadStatus.COMPLETE:
            raise ApplicationError(
                _("Some files have not been sent completely yet. Please wait."),
                field="attachments",
            )
        try:
            document_services.upload_session_file_check(session=session)
        except file_checks.FileRefused as refused:
            raise file_checks.FileRefused(
                _("The attachment “%(name)s” was not accepted: %(reason)s")
                % {"name": session.original_name, "reason": refused.message},
                field="attachments",
            ) from refused
        sessions.append(session)
    return sessions


def _conversation_number_take(*, conversation_id: int, now: datetime.datetime) -> int:
    """The conversation's next message number, counted up in one statement. The UPDATE
    takes the row's lock until the transaction ends: senders of one conversation are
    serialised, so numbers have neither gaps nor duplicates. (SQLite has no row locks, but
    its IMMEDIATE transactions serialise all writers.)"""
    if not connection.features.can_return_columns_from_insert:
        # An SQLite older than 3.35 knows no RETURNING: count up, then read back.
        Conversation.objects.filter(pk=conversation_id).update(
            last_sequence=F("last_sequence") + 1, last_message_at=now
        )
        return int(
            Conversation.objects.filter(pk=conversation_id)
            .values_list("last_sequence", flat=True)
            .get()
        )
    table = connection.ops.quote_name(Conversation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_sequence = last_sequence + 1, "  # noqa: S608
            "last_message_at = %s WHERE id = %s RETURNING last_sequence",
            [connection.ops.adapt_datetimefield_value(now), conversation_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(f"Conversation {conversation_id} does not exist.")
    return int(row[0])


def _message_store(
    *,
    conversation: Conversation,
    sender: Any,
    side: Side,
    text: str,
    message_id: uuid.UUID,
    sessions: list[UploadSession],
    request: HttpRequest | None,
) -> Message:
    """Store the message, its attachments, its audit entry and its notice job in one
    transaction. A resend with a `client_msg_id` already stored meets the unique constraint
    on (conversation, client_msg_id): everything of this try is rolled back (documents made
    from the uploads included) and the stored message is returned."""
    client = conversation.client
    try:
        with transaction.atomic():
            # Documents first (checking and encrypting files takes a moment). Should anything
            # below fail, their rows go with the rollback, and with them the keys: a blob
            # already written stays unreadable.
            documents = [
                document_services.document_upload_complete(
                    uploader=sender, client=client, session_ids=[session.pk], request=request
                )
                for session in sessions
            ]
            now = timezone.now()
            sequence = _conversation_number_take(conversation_id=conversation.pk, now=now)
            message = Message.objects.create(
                conversation=conversation,
                sequence=sequence,
                client_msg_id=message_id,
                sender=sender,
                sender_side=side,
                body=text,
                created_at=now,
            )
            attachments = (
                MessageAttachment.objects.bulk_create(
                    MessageAttachment(message=message, document=document, position=position)
                    for position, document in enumerate(documents)
                )
                if documents
                else []
            )
            audit_record(
                actor=sender,
                action="message.send",
                target=message,
                client_id=client.pk,
                request=request,
            )
            _notice_schedule(message_id=message.pk)
            frame = frames.message_frame(message, attachments=attachments)
            transaction.on_commit(partial(_broadcast, conversation.pk, frame), robust=True)
    except IntegrityError:
        existing = _message_already_sent(
            conversation=conversation, sender=sender, message_id=message_id
        )
        if existing is None:
            raise
        return existing
    conversation.last_sequence = sequence
    conversation.last_message_at = now
    return message


def _broadcast(conversation_id: int, frame: dict[str, Any]) -> None:
    """Push a frame to everyone connected to the conversation (see push.py)."""
    push.publish(conversation_id, frame)


def conversation_mark_read(
    *,
    conversation: Conversation,
    reader: Any,
    sequence: int,
    request: HttpRequest | None = None,
) -> int:
    """Record that `reader` has read up to message `sequence`; returns their read position.

    Never moves backwards and never past the last message. When an addressee's position
    moves, the other side gets a read receipt (pushed after commit).
    """
    if not permissions.can_view_conversation(user=reader, conversation=conversation):
        raise PermissionDeniedError(_("You cannot read this conversation."))
    last = Conversation.objects.filter(pk=conversation.pk).values_list("last_sequence", flat=True)
    wanted = max(0, min(int(sequence), last.first() or 0))
    side = permissions.side_of(user=reader)
    is_addressee = permissions.can_write_conversation(user=reader, conversation=conversation)
    with transaction.atomic():
        state, _created = ReadState.objects.get_or_create(
            conversation=conversation,
            user=reader,
            defaults={"side": side, "is_addressee": is_addressee},
        )
        # A conditional update, so that two tabs reporting out of order cannot move it back.
        moved = ReadState.objects.filter(pk=state.pk, last_read_sequence__lt=wanted).update(
            last_read_sequence=wanted,
            last_read_at=timezone.now(),
            side=side,
            is_addressee=is_addressee,
        )
        if not moved:
            return max(state.last_read_sequence, wanted)
        audit_record(actor=reader, action="conversation.read", target=conversation, request=request)
        if is_addressee:
            frame = frames.read_frame(side=side, sequence=wanted)
            transaction.on_commit(partial(_broadcast, conversation.pk, frame), robust=True)
    return wanted


# --- E-mail notice "you have a new message" ----------------------------------------------------


def notice_delay() -> datetime.timedelta:
    """How long a message may stay unread before its addressee gets an e-mail notice."""
    seconds = getattr(settings, "MESSAGE_NOTICE_DELAY_SECONDS", DEFAULT_NOTICE_DELAY_SECONDS)
    return datetime.timedelta(seconds=max(0, int(seconds)))


def _notice_schedule(*, message_id: int) -> None:
    """Queue the notice check for a message, from inside the transaction that stores it.

    The database queue's job is a row in the same database: written in the message's
    transaction it costs no commit of its own, and a rolled-back message leaves no job.
    Any other queue (one that runs jobs at once, in tests and `make run` without a worker)
    is handed the job after the commit, so that it never runs for a message not stored.
    """
    from .tasks import message_notice_send

    backend = task_backends[message_notice_send.backend]
    same_database = router.db_for_write(DBTaskResult) == connection.alias
    if isinstance(backend, DatabaseBackend) and same_database:
        _enqueue_notice(message_id)
    else:
        transaction.on_commit(partial(_enqueue_notice, message_id), robust=True)


def _enqueue_notice(message_id: int) -> None:
    from .tasks import message_notice_send

    delay = notice_delay()
    backend = task_backends[message_notice_send.backend]
    if delay and backend.supports_defer:
        message_notice_send.using(run_after=timezone.now() + delay).enqueue(message_id)
    else:
        # A queue that cannot wait runs the check at once; it still sends nothing once read.
        message_notice_send.enqueue(message_id)


def side_read_sequence(*, conversation: Conversation, side: Side | str) -> int:
    """How far the addressees on one side have read (the furthest of them)."""
    value = ReadState.objects.filter(
        conversation=conversation, side=side, is_addressee=True
    ).aggregate(furthest=Max("last_read_sequence"))["furthest"]
    return int(value or 0)


@dataclass(frozen=True)
class NoticeRecipient:
    """Someone to tell about an unread message, where and in which language."""

    user: User
    address: str
    language: str
    # A client without e-mail is told by SMS to the mobile number on her record.
    phone: str = ""


def _staff_standing_in_for(case_manager: User) -> list[User]:
    """Colleagues who stand in for `case_manager` today (the rule is Substitution's own)."""
    today = timezone.localdate()
    substitutions = Substitution.objects.filter(
        absent=case_manager, starts_on__lte=today, ends_on__gte=today
    ).select_related("substitute")
    return [
        substitution.substitute
        for substitution in substitutions
        if substitution.is_active_on(today) and substitution.substitute.is_active
    ]


def _notice_recipients(*, client: Client, side: Side) -> list[NoticeRecipient]:
    """Who is told about an unread message on `side`: the client; or the case manager and
    whoever stands in for them today (an absent case manager reads no mail)."""
    if side == Side.CLIENT:
        account = client.user
        if account is None or not permissions.client_uses_portal(client=client):
            return []
        language = account.preferred_language or client.preferred_language
        address = account.email or client.email
        phone = "" if address or not sms_enabled() else client.mobile_number
        candidates = [(account, address, phone, language)]
    else:
        staff = [client.case_manager, *_staff_standing_in_for(client.case_manager)]
        candidates = [(user, user.email or "", "", user.preferred_language) for user in staff]
    return [
        NoticeRecipient(
            user=user,
            address=address or "",
            phone=phone,
            language=language or settings.LANGUAGE_CODE,
        )
        for user, address, phone, language in candidates
        if user.is_active and (address or phone)
    ]


def _notice_claim(
    *, conversation: Conversation, recipient: User, side: Side, sequence: int, read_up_to: int
) -> int | None:
    """Record that `recipient` is being told about `sequence`; returns the previous mark, or
    None when they were told already about something still unread (one notice per batch)."""
    with transaction.atomic():
        state, _created = ReadState.objects.select_for_update().get_or_create(
            conversation=conversation,
            user=recipient,
            defaults={"side": side, "is_addressee": True},
        )
        if state.notified_sequence > read_up_to:
            return None
        ReadState.objects.filter(pk=state.pk).update(notified_sequence=sequence)
        return state.notified_sequence


def message_notice_deliver(*, message_id: int) -> str:
    """Send the content-free notice for one message if it is still unread; says what it did.

    One notice per unread batch: once an addressee was told, later messages send nothing
    more until they have read. The notice names no one and quotes nothing (social data
    never goes into e-mail).
    """
    message = (
        Message.objects.select_related(
            "conversation__client__user", "conversation__client__case_manager"
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return "gone"
    conversation = message.conversation
    side = Side(message.sender_side).other
    read_up_to = side_read_sequence(conversation=conversation, side=side)
    if read_up_to >= message.sequence:
        return "read"
    recipients = _notice_recipients(client=conversation.client, side=side)
    if not recipients:
        return "no recipient"
    sent = 0
    for recipient in recipients:
        previous = _notice_claim(
            conversation=conversation,
            recipient=recipient.user,
            side=side,
            sequence=message.sequence,
            read_up_to=read_up_to,
        )
        if previous is None:
            continue
        try:
            if recipient.address:
                _notice_mail_send(side=side, address=recipient.address, language=recipient.language)
            else:
                sms_notice_queue(
                    to=recipient.phone,
                    notice="message",
                    path=reverse("messaging:portal"),
                    language=recipient.language,
                    dedupe_key=f"message:{message.pk}:{recipient.user.pk}",
                )
        except Exception:
            # Not told after all: the next message (or a retry of this job) may try again.
            ReadState.objects.filter(
                conversation=conversation,
                user=recipient.user,
                notified_sequence=message.sequence,
            ).update(notified_sequence=previous)
            raise
        sent += 1
        audit_record(
            actor=None, action="message.notify", target=message, client_id=conversation.client_id
        )
    return "sent" if sent else "already notified"


def _notice_mail_send(*, side: Side, address: str, language: str) -> None:
    page = "messaging:portal" if side == Side.CLIENT else "messaging:inbox"
    context = {
        "for_client": side == Side.CLIENT,
        "url": f"{settings.SITE_URL}{reverse(page)}",
        "jobcenter_name": settings.JOBCENTER_NAME,
    }
    with translation.override(language):
        subject = render_to_string("messaging/mail/notice_subject.txt", context).strip()
        body = render_to_string("messaging/mail/notice.txt", context)
        send_mail(subject, body, None, [address])
