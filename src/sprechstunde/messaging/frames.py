"""The JSON shapes that travel over the chat websocket and through the channel layer.

One place, so that the service that broadcasts and the consumer that answers a sync send
the same thing, and chat.js has one format to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from sprechstunde.documents.choices import DocumentStatus, ScanStatus

from .choices import Side
from .models import Message, MessageAttachment

# Attachment states as the chat shows them (the document's status, folded for the reader).
ATTACHMENT_PROCESSING = "processing"
ATTACHMENT_READY = "ready"
ATTACHMENT_REFUSED = "refused"
ATTACHMENT_REMOVED = "removed"


def group_name(conversation_id: int) -> str:
    """The channel-layer group of everyone connected to one conversation."""
    return f"messaging.conversation.{conversation_id}"


def sender_name(message: Message) -> str:
    """Who wrote it, as both sides see it: the client's name or the staff member's."""
    if message.sender_side == Side.CLIENT:
        return message.conversation.client.full_name
    if message.sender is None:
        return ""
    return str(message.sender.display_name)


def attachment_state(attachment: MessageAttachment) -> str:
    """Where an attachment stands for the reader: still being checked (a virus check that
    failed is repeated, so it counts as that too), ready, refused for good, or deleted."""
    document = attachment.document
    if document is None:
        return ATTACHMENT_REMOVED
    if document.status == DocumentStatus.READY:
        return ATTACHMENT_READY
    if document.status in (DocumentStatus.REFUSED, DocumentStatus.FAILED) or (
        document.status == DocumentStatus.QUARANTINED
        and document.scan_status == ScanStatus.INFECTED
    ):
        return ATTACHMENT_REFUSED
    return ATTACHMENT_PROCESSING


def attachment_frame(attachment: MessageAttachment) -> dict[str, Any]:
    """An attachment in a message frame: enough for chat.js to show a placeholder and to
    ask for its current state (the state's wording comes from the server, in the reader's
    language, see views.AttachmentStatesView)."""
    document = attachment.document
    return {
        "id": attachment.pk,
        "state": attachment_state(attachment),
        "title": document.original_name if document is not None else "",
        "url": reverse("documents:detail", kwargs={"pk": document.pk}) if document else "",
    }


def message_frame(
    message: Message, *, attachments: Iterable[MessageAttachment] | None = None
) -> dict[str, Any]:
    """A message as chat.js shows it. `sender_id` is replaced by `own` before it is sent.
    Without `attachments`, the message's own (prefetched by the selectors) are used."""
    if attachments is None:
        attachments = message.attachments.all()
    return {
        "type": "message",
        "sequence": message.sequence,
        "client_msg_id": str(message.client_msg_id),
        "body": message.body,
        "side": message.sender_side,
        "sender_id": message.sender_id,
        "sender_name": sender_name(message),
        "created_at": message.created_at.isoformat(),
        "attachments": [attachment_frame(attachment) for attachment in attachments],
    }


def for_viewer(frame: dict[str, Any], *, viewer_id: int | None) -> dict[str, Any]:
    """A message frame for one person: whether they wrote it, without anyone's account id."""
    shown = {key: value for key, value in frame.items() if key != "sender_id"}
    shown["own"] = viewer_id is not None and frame.get("sender_id") == viewer_id
    return shown


def read_frame(*, side: Side | str, sequence: int) -> dict[str, Any]:
    """Someone on `side` has read everything up to `sequence` (a read receipt)."""
    return {"type": "read", "side": str(side), "sequence": sequence}
