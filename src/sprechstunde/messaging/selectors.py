"""Reads of the messaging app. Every conversation is reached through the access rules in
permissions.py; opening one is audited, and so is every refusal (no content in the trail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client
from sprechstunde.core.compiled_queries import CompiledQuery
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.documents import permissions as document_permissions

from . import permissions
from .choices import MESSAGE_MAX_ATTACHMENTS, Side
from .models import Conversation, Message, MessageAttachment, ReadState

CONVERSATION_TARGET_TYPE = "messaging.conversation"
# The most messages one page or one sync answer carries; the rest follows on request.
PAGE_SIZE = 100


def conversation_get_for_user(
    *,
    user: Any,
    pk: int | str,
    request: HttpRequest | None = None,
    action: str | None = "conversation.view",
) -> Conversation | None:
    """The conversation `pk` if `user` may read it, audited as `action` (None: not audited).

    None when it does not exist or is outside the rules; that refusal leaves a
    "conversation.access_denied" entry, naming the client when there is one.
    """
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = None
    conversation = None
    if key is not None:
        conversation = (
            permissions.conversations_visible_to(user=user)
            .select_related("client", "client__user", "client__case_manager")
            .filter(pk=key)
            .first()
        )
    if conversation is None:
        client_id = (
            Conversation.objects.filter(pk=key).values_list("client_id", flat=True).first()
            if key is not None
            else None
        )
        audit_record(
            actor=user,
            action="conversation.access_denied",
            target_type=CONVERSATION_TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=client_id,
            request=request,
        )
        return None
    if action:
        audit_record(actor=user, action=action, target=conversation, request=request)
    return conversation


def conversation_for_client(*, client: Client) -> Conversation | None:
    """The client's conversation, if one was started (callers have checked access)."""
    return Conversation.objects.filter(client=client).first()


def message_list_for_conversation(
    *,
    conversation: Conversation,
    viewer: Any,
    after_sequence: int | None = None,
    before_sequence: int | None = None,
    limit: int = PAGE_SIZE,
    action: str | None = None,
    request: HttpRequest | None = None,
) -> list[Message]:
    """Messages in order of their number: the first `limit` after `after_sequence`, or else
    the last `limit` (before `before_sequence` when given). With `action`, a read that
    returns messages is audited (a websocket sync); pages audit their opening themselves.

    Raises PermissionDeniedError when `viewer` may not read the conversation.
    """
    if not permissions.can_view_conversation(user=viewer, conversation=conversation):
        raise PermissionDeniedError("")
    queryset = (
        Message.objects.filter(conversation=conversation)
        .select_related("sender")
        .prefetch_related(Prefetch("attachments", queryset=_attachments_with_documents()))
    )
    limit = max(1, min(int(limit), PAGE_SIZE))
    if after_sequence is not None:
        messages = list(
            queryset.filter(sequence__gt=max(0, int(after_sequence))).order_by("sequence")[:limit]
        )
    else:
        if before_sequence is not None:
            queryset = queryset.filter(sequence__lt=int(before_sequence))
        messages = list(queryset.order_by("-sequence")[:limit])
        messages.reverse()
    for message in messages:
        message.conversation = conversation
    if action and messages:
        audit_record(actor=viewer, action=action, target=conversation, request=request)
    return messages


def _attachments_with_documents() -> QuerySet[MessageAttachment]:
    # The encrypted-file bookkeeping of a document is not needed to show an attachment.
    return MessageAttachment.objects.select_related("document").defer(
        "document__wrapped_key", "document__incoming", "document__pdf_metadata"
    )


# How many attachment states one poll may ask for (a page shows at most PAGE_SIZE messages).
ATTACHMENT_POLL_LIMIT = PAGE_SIZE * MESSAGE_MAX_ATTACHMENTS


def attachment_list_for_user(
    *,
    user: Any,
    conversation: Conversation,
    ids: list[int],
    request: HttpRequest | None = None,
) -> list[MessageAttachment]:
    """The attachments `ids` of this conversation as far as `user` may see them: whoever
    may read the conversation, and only while they may also see the document (today both
    follow the client access rules; the second check keeps it so should they part).
    Audited as "message_attachment.list" when something is returned (no content).

    Raises PermissionDeniedError when `user` may not read the conversation.
    """
    if not permissions.can_view_conversation(user=user, conversation=conversation):
        raise PermissionDeniedError("")
    wanted = sorted(set(ids))[:ATTACHMENT_POLL_LIMIT]
    if not wanted:
        return []
    visible_documents = document_permissions.documents_visible_to(user=user).values("pk")
    attachments = list(
        _attachments_with_documents()
        .filter(pk__in=wanted, message__conversation=conversation)
        .filter(Q(document__isnull=True) | Q(document__in=visible_documents))
        .order_by("pk")
    )
    if attachments:
        audit_record(
            actor=user, action="message_attachment.list", target=conversation, request=request
        )
    return attachments


@dataclass(frozen=True)
class ReadPositions:
    """How far each side has read, for read receipts; and how far the viewer has read."""

    client: int
    staff: int
    own: int

    def of(self, side: Side | str) -> int:
        return self.client if side == Side.CLIENT else self.staff


def read_positions(*, conversation: Conversation, viewer: Any) -> ReadPositions:
    """The read receipts of both sides (addressees only) and the viewer's own position."""
    positions = {Side.CLIENT.value: 0, Side.STAFF.value: 0}
    own = 0
    viewer_id = getattr(viewer, "pk", None)
    for state in ReadState.objects.filter(conversation=conversation).only(
        "user_id", "side", "is_addressee", "last_read_sequence"
    ):
        if state.user_id == viewer_id:
            own = state.last_read_sequence
        if state.is_addressee and state.last_read_sequence > positions.get(state.side, 0):
            positions[state.side] = state.last_read_sequence
    return ReadPositions(client=positions["client"], staff=positions["staff"], own=own)


def _own_read_position(user: Any) -> Coalesce:
    own = ReadState.objects.filter(conversation=OuterRef("pk"), user_id=getattr(user, "pk", 0) or 0)
    return Coalesce(
        Subquery(own.values("last_read_sequence")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def _unread_from(side: Side) -> Coalesce:
    """Messages of `side` after the viewer's read position (needs the `own_read` annotation)."""
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"), sender_side=side, sequence__gt=OuterRef("own_read")
        )
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unread[:1]), Value(0), output_field=IntegerField())


def conversation_list_for_user(
    *, user: Any, request: HttpRequest | None = None
) -> QuerySet[Conversation]:
    """The staff inbox: conversations of the caseload `user` sees, newest first, each with
    `unread_count` (the client's messages the viewer has not read). Audited as a list."""
    queryset = (
        permissions.conversations_visible_to(user=user)
        .filter(last_sequence__gt=0)
        .select_related("client", "client__case_manager")
        .annotate(own_read=_own_read_position(user))
        .annotate(unread_count=_unread_from(Side.CLIENT))
        .order_by("-last_message_at", "-pk")
    )
    audit_record(
        actor=user,
        action="conversation.list",
        target_type=CONVERSATION_TARGET_TYPE,
        request=request,
    )
    return queryset


def _unread_messages(*, user: Any) -> QuerySet[Message]:
    """The messages from the other side after `user`'s read position, over every
    conversation they may see."""
    side = permissions.side_of(user=user)
    own_read = ReadState.objects.filter(
        conversation=OuterRef("conversation_id"), user_id=getattr(user, "pk", 0) or 0
    ).values("last_read_sequence")[:1]
    return Message.objects.filter(
        conversation__in=permissions.conversations_visible_to(user=user),
        sender_side=side.other,
    ).filter(sequence__gt=Coalesce(Subquery(own_read), Value(0)))


# A client's count depends on nothing but their account's key, so its query is compiled
# once (it runs in the navigation of every portal page; ADR 0092). The stand-in account
# goes through the same access rules as the real one.
_CLIENT_UNREAD = CompiledQuery(
    lambda user_id: _unread_messages(user=User(pk=user_id, role=Role.CLIENT, is_active=True)),
    arguments=("user_id",),
    count=True,
)


def unread_count_for_user(*, user: Any) -> int:
    """All messages from the other side that `user` has not read, over every conversation
    they may see (the client: their own; staff: their caseload). Not audited: a number."""
    # One COUNT over the messages themselves (shown in the navigation of every page, so
    # kept cheap): the other side's messages after the user's read position there.
    if client_permissions.is_client_user(user=user):
        return _CLIENT_UNREAD.count(user_id=user.pk)
    return _unread_messages(user=user).count()
