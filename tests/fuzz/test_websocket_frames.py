"""Frames on the two websockets (chat and video signalling), through the whole ASGI stack:
any text or binary frame is either handled or answered with an error frame, and the socket
stays open; the consumer never raises (which would drop the socket without a close frame).

One socket serves every example (a connection per example would cost a login and a join each
time), so it lives on an event loop in its own thread while Hypothesis runs the examples
synchronously. After each fuzzed frame a ping follows: its pong proves that the consumer is
still alive, and the frames before it are the answers to the fuzzed one.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sprechstunde.messaging import consumers as chat_consumers
from sprechstunde.messaging import services as messaging_services
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.messaging.tests.conftest import communicator, session_cookie
from sprechstunde.video_calls import consumers as call_consumers
from sprechstunde.video_calls import services as call_services
from sprechstunde.video_calls.factories import VideoAppointmentFactory, video_consent

from .profiles import budget

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

# How deep the generated JSON nests: thousands deep made json.loads raise RecursionError
# before the consumers used core.websockets.json_frame_parse (issue 11, point 7).
_MAX_DEPTH = 5_000

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.floats()
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _frames(types: list[str], fields: list[str], frame_limit: int) -> st.SearchStrategy:
    """Text frames: random text, random JSON, nested JSON, objects of the frame types the
    consumer knows with fields of any JSON value, and frames around the size limit."""
    known = st.fixed_dictionaries(
        {"type": st.sampled_from(types) | _json},
        optional={name: _json | st.text(max_size=80) for name in fields},
    )
    nested = st.tuples(st.integers(1, _MAX_DEPTH), st.sampled_from(["[", '{"a":'])).map(
        lambda depth_open: (
            depth_open[1] * depth_open[0]
            + "1"
            + ("]" if depth_open[1] == "[" else "}") * depth_open[0]
        )
    )
    near_limit = st.integers(frame_limit - 64, frame_limit + 64).map(
        lambda size: json.dumps({"type": types[0], "pad": "é" * max(0, size // 2)})
    )
    return st.one_of(
        st.text(max_size=200),
        _json.map(json.dumps),
        known.map(json.dumps),
        known.map(lambda frame: json.dumps(frame)[:-1]),  # cut off
        nested,
        near_limit,
    )


class EventLoopThread:
    """An event loop in a thread of its own; coroutines are run on it from the test thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[EventLoopThread]:
    from channels.layers import channel_layers

    channel_layers.backends.clear()  # the in-memory layer belongs to one event loop
    runner = EventLoopThread()
    yield runner
    runner.stop()
    channel_layers.backends.clear()


async def _answers_until_pong(socket) -> list[dict[str, Any]]:
    """The frames that came before the pong; fails on a close, re-raises what the app raised."""
    answers = []
    while True:
        output = await socket.receive_output(10)
        assert output["type"] == "websocket.send", f"the socket was closed: {output}"
        frame = json.loads(output["text"])
        assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
        if frame["type"] == "pong":
            return answers
        answers.append(frame)


def _assert_answers(answers: list[dict[str, Any]], allowed: set[str]) -> None:
    for frame in answers:
        assert frame["type"] in allowed, frame
        if frame["type"] == "error":
            assert isinstance(frame.get("code"), str)
            assert isinstance(frame.get("message"), str) and frame["message"].strip(), frame


def _send_and_check(runner, socket, frame: str | bytes, allowed: set[str]) -> None:
    async def exchange() -> list[dict[str, Any]]:
        if isinstance(frame, bytes):
            await socket.send_bytes(frame)
        else:
            await socket.send_text(frame)
        await socket.send_json_to({"type": "ping"})
        return await _answers_until_pong(socket)

    _assert_answers(runner.run(exchange()), allowed)


@pytest.fixture
def no_limits(settings, monkeypatch):
    """Rates and error budgets out of the way: here every frame must reach the parser."""
    settings.MESSAGE_WS_FRAME_RATE = (10**9, 1.0)
    settings.MESSAGE_WS_SEND_RATE = (10**9, 1.0)
    settings.VIDEO_WS_FRAME_RATE = (10**9, 1.0)
    monkeypatch.setattr(chat_consumers, "MAX_ERRORS", 10**9)
    monkeypatch.setattr(call_consumers, "MAX_ERRORS", 10**9)


_CHAT_ANSWERS = {"error", "ack", "message", "messages", "read"}


def test_any_frame_on_the_chat_socket_is_handled_or_answered_with_an_error(
    case_manager, loop_thread, no_limits
):
    client = portal_client_create(
        case_manager=case_manager, email="kim@example.org", first_name="Kim", last_name="Kunde"
    )
    conversation = messaging_services.conversation_get_or_create(client=client)
    cookie = session_cookie(client.user)

    async def open_socket():
        socket = communicator(f"/ws/nachrichten/{conversation.pk}/", cookie=cookie)
        connected, _code = await socket.connect()
        assert connected
        assert (await socket.receive_json_from())["type"] == "welcome"
        return socket

    socket = loop_thread.run(open_socket())
    frames = _frames(
        ["send", "sync", "read", "ping", "typing"],
        ["client_msg_id", "body", "after", "sequence"],
        chat_consumers.MAX_FRAME_BYTES,
    )

    @budget(ci=150)
    @given(frame=frames | st.binary(max_size=64))
    def check(frame):
        _send_and_check(loop_thread, socket, frame, _CHAT_ANSWERS)

    check()
    loop_thread.run(socket.disconnect())


# "leave" is left out: it closes the socket on purpose (tested in video_calls' own tests).
_CALL_TYPES = ["signal", "chat", "media", "admit", "remove", "admit_all", "lock", "end"]
_CALL_TYPES += ["ice_servers", "ping", "join", "teleport"]
_CALL_ANSWERS = {"error", "chat", "media", "ice_servers", "roster", "refused"}


def test_any_frame_on_the_call_socket_is_handled_or_answered_with_an_error(
    case_manager, loop_thread, no_limits
):
    client = portal_client_create(
        case_manager=case_manager, email="kim@example.org", first_name="Kim", last_name="Kunde"
    )
    video_consent(client)
    call = call_services.call_get_or_create(
        appointment=VideoAppointmentFactory(case_manager=case_manager, client=client)
    )
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(client.user)

    async def receive_until(socket, wanted):
        while (frame := await socket.receive_json_from(5))["type"] != wanted:
            pass
        return frame

    async def admitted_guest():
        sockets = []
        for cookie in (host_cookie, guest_cookie):
            socket = communicator(f"/ws/video/{call.pk}/", cookie=cookie)
            connected, _code = await socket.connect()
            assert connected
            sockets.append((socket, await socket.receive_json_from()))
        (host, _host_welcome), (guest, guest_welcome) = sockets
        assert guest_welcome["state"] == "waiting"
        await host.send_json_to({"type": "admit", "participant": guest_welcome["me"]})
        await receive_until(guest, "admitted")
        await receive_until(guest, "roster")
        return host, guest

    host, guest = loop_thread.run(admitted_guest())
    frames = _frames(
        _CALL_TYPES,
        ["to", "cid", "description", "candidate", "text", "audio", "video", "participant"],
        call_consumers.MAX_FRAME_BYTES,
    )

    # The client's page is the one to distrust: it sends the fuzzed frames. The host's socket
    # stays open meanwhile, so that signals have somewhere to go.
    @budget(ci=150)
    @given(frame=frames | st.binary(max_size=64))
    def check(frame):
        _send_and_check(loop_thread, guest, frame, _CALL_ANSWERS)

    check()
    for socket in (guest, host):
        loop_thread.run(socket.disconnect())
