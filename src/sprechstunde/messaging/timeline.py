"""Messages in a client's timeline, and the "write" action (clients.timeline)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from sprechstunde.clients.timeline import ClientAction, QuerySource, TimelineEntry

from . import permissions
from .choices import Side
from .models import Message


def _entry(message: Message) -> TimelineEntry:
    if message.sender_side == Side.CLIENT:
        title = _("Message from the client")
    else:
        sender = message.sender.display_name if message.sender else _("Jobcenter")
        title = _("Message from %(sender)s") % {"sender": sender}
    return TimelineEntry(
        at=message.created_at,
        kind="message",
        source="message",
        key=message.pk,
        title=title,
        detail=Truncator(message.body).chars(140),
        url=reverse("messaging:client_conversation", args=[message.conversation.client_id]),
    )


def sources() -> list[Any]:
    return [
        QuerySource(
            kind="message",
            code="message",
            rows=lambda client: Message.objects.filter(conversation__client=client).select_related(
                "sender", "conversation"
            ),
            at_field="created_at",
            make=_entry,
        )
    ]


def actions(*, user: Any, client: Any) -> list[ClientAction]:
    """Writing opens for the case manager and today's substitutes (team leads read)."""
    if not permissions.can_write_to_client(user=user, client=client):
        return []
    return [
        ClientAction(
            label=_("Write a message"),
            url=reverse("messaging:client_conversation", args=[client.pk]),
            order=20,
        )
    ]
