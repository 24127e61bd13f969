"""No loss, no duplicates: 1,000 messages from four devices (the client's phone and laptop,
the case manager, a substitute) in one conversation, while their websockets are cut at
random. Every message must be stored once, acknowledged, and shown on every device exactly
once and in the server's order. The devices follow chat.js's rules (see devices.py)."""

from __future__ import annotations

import asyncio
import random

import pytest

from sprechstunde.messaging.models import Message

from .conftest import communicator, run, session_cookie, ws_path
from .devices import Device, catch_up, check, write_all

pytestmark = pytest.mark.django_db(transaction=True)

TOTAL_MESSAGES = 1000
SEED = 20240611


class CommunicatorLink:
    """A device's websocket into the in-process ASGI application."""

    def __init__(self, socket) -> None:
        self.socket = socket

    async def send(self, frame):
        await self.socket.send_json_to(frame)

    async def receive(self, timeout):
        return await self.socket.receive_json_from(timeout=timeout)

    async def cut(self):
        await self.socket.disconnect(timeout=10)


def test_a_thousand_messages_arrive_exactly_once_and_in_order_despite_cut_connections(
    settings, conversation, portal_client, case_manager, substitute
):
    # About loss and duplicates, not the rate limit (tested in test_consumers) nor the notice
    # mails (test_notices), which with the immediate test queue would run once per message.
    settings.MESSAGE_WS_SEND_RATE = (10_000, 1.0)
    settings.MESSAGE_WS_FRAME_RATE = (10_000, 1.0)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    people = [
        ("phone", portal_client.user),
        ("laptop", portal_client.user),
        ("case manager", case_manager),
        ("substitute", substitute),
    ]
    devices = [
        Device.make(name, user.pk, session_cookie(user), TOTAL_MESSAGES // len(people))
        for name, user in people
    ]
    plans = {device.name: list(device.planned) for device in devices}
    rng = random.Random(SEED)

    async def connect(device):
        socket = communicator(ws_path(conversation), cookie=device.credentials)
        connected, code = await socket.connect(timeout=10)
        assert connected, code
        welcome = await socket.receive_json_from(timeout=10)
        assert welcome["type"] == "welcome"
        return CommunicatorLink(socket)

    async def scenario():
        await asyncio.gather(*(write_all(device, connect, rng) for device in devices))
        await asyncio.gather(*(catch_up(device, connect, TOTAL_MESSAGES) for device in devices))

    run(scenario)

    stored = [
        (sequence, str(msg_id), body, sender_id)
        for sequence, msg_id, body, sender_id in Message.objects.filter(conversation=conversation)
        .order_by("sequence")
        .values_list("sequence", "client_msg_id", "body", "sender_id")
    ]
    check(devices, plans, stored, TOTAL_MESSAGES)
