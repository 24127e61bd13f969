"""Fixtures for the messaging tests: clients who use the portal, logins, websockets.

Pages are asked for in English, so that assertions read the English msgids.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from http.cookies import SimpleCookie

import pytest
from allauth.mfa.models import Authenticator
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.layers import channel_layers
from django.core import mail
from django.test import Client as TestClient
from django.utils import timezone, translation

from sprechstunde.accounts.factories import SubstitutionFactory
from sprechstunde.messaging import services
from sprechstunde.messaging.factories import portal_client_create


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer (the in-memory one keeps queues per event loop)."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def outbox():
    mail.outbox.clear()
    return mail.outbox


@pytest.fixture
def portal_client(case_manager):
    """A client of `case_manager` who uses the portal."""
    return portal_client_create(
        case_manager=case_manager, email="kim@example.org", first_name="Kim", last_name="Kunde"
    )


@pytest.fixture
def foreign_client(other_case_manager):
    """A client of a case manager in the other team, also using the portal."""
    return portal_client_create(
        case_manager=other_case_manager,
        email="fremd@example.org",
        first_name="Fritz",
        last_name="Fremdling",
    )


@pytest.fixture
def conversation(portal_client):
    return services.conversation_get_or_create(client=portal_client)


@pytest.fixture
def substitute(team, case_manager):
    """A colleague in the same team who stands in for `case_manager` today."""
    from sprechstunde.accounts.factories import CaseManagerFactory

    colleague = CaseManagerFactory(team=team, email="vertretung@jobcenter.example")
    today = timezone.localdate()
    SubstitutionFactory(
        absent=case_manager,
        substitute=colleague,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=3),
    )
    return colleague


def with_second_factor(user):
    if getattr(user, "is_staff_member", False):
        Authenticator.objects.get_or_create(
            user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "A" * 32}}
        )
    return user


def browser_for(user) -> TestClient:
    """A test client logged in as `user`, asking for English pages."""
    browser = TestClient(headers={"accept-language": "en"})
    if user is not None:
        browser.force_login(with_second_factor(user))
    return browser


def session_cookie(user) -> str:
    """The session cookie of a fresh login of `user` (for websocket handshakes)."""
    return browser_for(user).cookies["sessionid"].value


def ws_path(conversation_or_id) -> str:
    pk = getattr(conversation_or_id, "pk", conversation_or_id)
    return f"/ws/nachrichten/{pk}/"


class Websocket(ApplicationCommunicator):
    """A websocket client for an ASGI app, like channels.testing.WebsocketCommunicator
    (which cannot be imported without daphne, a server we do not use)."""

    def __init__(self, application, path: str, headers) -> None:
        scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 2):
        """(True, None) when accepted; (False, close code) when refused before accepting."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, None

    async def send_text(self, text: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self.send_input({"type": "websocket.receive", "bytes": data})

    async def send_json_to(self, data) -> None:
        await self.send_text(json.dumps(data))

    async def receive_json_from(self, timeout: float = 2):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def receive_close(self, timeout: float = 2) -> int:
        """Read until the server closes; returns the close code."""
        while True:
            response = await self.receive_output(timeout)
            if response["type"] == "websocket.close":
                return response.get("code", 1000)

    async def disconnect(self, code: int = 1000, timeout: float = 10) -> None:
        """Tell the app the browser has gone; fails when the app does not finish.

        The bound is only a guard against waiting forever (with the Redis layer, leaving the
        group is a network round trip, and the machine may be loaded). `wait()` alone would
        not tell: on its timeout it cancels the app and swallows the cancellation.
        """
        await self.send_input({"type": "websocket.disconnect", "code": code})
        finished, _running = await asyncio.wait({self.future}, timeout=timeout)
        await self.wait(0)  # raises what the app raised; stops it if it is still running
        assert finished, "the consumer was still running after the disconnect"


def communicator(path: str, *, cookie: str | None = None, origin: str = "http://testserver"):
    """A websocket to the real ASGI application (origin check, session, routing, consumer)."""
    from config.asgi import application

    headers = [(b"origin", origin.encode())]
    if cookie:
        jar = SimpleCookie()
        jar["sessionid"] = cookie
        headers.append((b"cookie", jar.output(header="", sep="; ").strip().encode()))
    return Websocket(application, path, headers)


async def receive_until(socket, wanted_type: str, timeout: float = 2):
    """Read frames until one of `wanted_type` comes; returns it and the frames before it."""
    skipped = []
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame["type"] == wanted_type:
            return frame, skipped
        skipped.append(frame)


def run(coroutine_function):
    """Run an async scenario from a sync test (database calls come back to this thread)."""
    return async_to_sync(coroutine_function)()


def dumps(value) -> str:
    return json.dumps(value)
