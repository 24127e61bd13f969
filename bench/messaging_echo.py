"""The baseline of bench/messaging_fanout.py: a bare Channels consumer doing the chat's fan-out.

Served by its own uvicorn process, with the same settings (and so the same channel layer) as
the real application, at ws/echo/<group_id>/. It speaks the chat's frames: a welcome on
connect; for {"type": "send", "client_msg_id", "body"} a "message" frame with a sequence
number to everyone in the group (through the channel layer, as the real consumer does) and
an "ack" to the sender. No origin check, no login, no access rules, no database, no audit.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_messaging")
django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

# One server process only, so a counter in memory numbers each group's messages.
_last_sequence: defaultdict[int, int] = defaultdict(int)


class EchoConsumer(AsyncJsonWebsocketConsumer):
    """Everyone connected to one group id gets every message sent in it."""

    async def connect(self) -> None:
        self.group_id = int(self.scope["url_route"]["kwargs"]["group_id"])
        self.group = f"bench.echo.{self.group_id}"
        await self.accept()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "welcome", "last_sequence": _last_sequence[self.group_id]})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "send":
            await self.send_json({"type": "error", "code": "unknown_type"})
            return
        _last_sequence[self.group_id] += 1
        sequence = _last_sequence[self.group_id]
        client_msg_id = str(content.get("client_msg_id", ""))[:64]
        frame = {
            "type": "message",
            "sequence": sequence,
            "client_msg_id": client_msg_id,
            "body": content.get("body", ""),
        }
        await self.channel_layer.group_send(self.group, {"type": "echo.event", "frame": frame})
        await self.send_json({"type": "ack", "client_msg_id": client_msg_id, "sequence": sequence})

    async def echo_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["frame"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/echo/<int:group_id>/", EchoConsumer.as_asgi())])}
)
