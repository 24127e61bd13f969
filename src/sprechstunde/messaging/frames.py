"""The JSON shapes that travel over the chat websocket and through the channel layer.

One place, so that the service that broadcasts and the consumer that answers a sync send
the same thing, and chat.js has one format to read.
"""

from __future__ import annotations

from typing import Any

from .choices import Side
from .models import Message


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


def message_frame(message: Message) -> dict[str, Any]:
    """A message as chat.js shows it. `sender_id` is replaced by `own` before it is sent."""
    return {
        "type": "message",
        "sequence": message.sequence,
        "client_msg_id": str(message.client_msg_id),
        "body": message.body,
        "side": message.sender_side,
        "sender_id": message.sender_id,
        "sender_name": sender_name(message),
        "created_at": message.created_at.isoformat(),
    }


def for_viewer(frame: dict[str, Any], *, viewer_id: int | None) -> dict[str, Any]:
    """A message frame for one person: whether they wrote it, without anyone's account id."""
    shown = {key: value for key, value in frame.items() if key != "sender_id"}
    shown["own"] = viewer_id is not None and frame.get("sender_id") == viewer_id
    return shown


def read_frame(*, side: Side | str, sequence: int) -> dict[str, Any]:
    """Someone on `side` has read everything up to `sequence` (a read receipt)."""
    return {"type": "read", "side": str(side), "sequence": sequence}
