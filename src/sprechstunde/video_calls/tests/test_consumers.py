"""The signalling websocket through the whole ASGI stack: who may connect, the waiting room,
forwarding of signals only between admitted participants of one call, chat, host actions,
and what happens to garbage, oversized and too many frames (the server and other calls go on)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import ParticipantState
from sprechstunde.video_calls.consumers import CLOSE_FORBIDDEN, MAX_FRAME_BYTES
from sprechstunde.video_calls.models import Participant, Presence

from .conftest import browser_for, communicator, receive_until, run, session_cookie, ws_path

pytestmark = pytest.mark.django_db(transaction=True)

OFFER = {"type": "offer", "sdp": "v=0\r\na=fingerprint:sha-256 AB:CD:EF\r\n"}


async def join(call, cookie):
    socket = communicator(ws_path(call), cookie=cookie)
    connected, _code = await socket.connect()
    assert connected
    first = await socket.receive_json_from()
    return socket, first


async def admitted_pair(call, host_cookie, guest_cookie):
    host, welcome = await join(call, host_cookie)
    assert welcome["state"] == "admitted"
    guest, guest_welcome = await join(call, guest_cookie)
    assert guest_welcome["type"] == "welcome" and guest_welcome["state"] == "waiting"
    assert "participants" not in guest_welcome  # the waiting room shows nobody
    roster, _ = await receive_until(host, "roster")
    waiting = [p for p in roster["participants"] if p["state"] == "waiting"]
    assert [p["id"] for p in waiting] == [guest_welcome["me"]]
    await host.send_json_to({"type": "admit", "participant": guest_welcome["me"]})
    await receive_until(guest, "admitted")
    await receive_until(guest, "roster")
    return host, welcome["me"], guest, guest_welcome["me"]


def test_admitted_participants_exchange_signals_and_chat(call, case_manager, portal_client):
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c1", "description": OFFER}
        )
        signal, _ = await receive_until(host, "signal")
        await guest.send_json_to(
            {
                "type": "signal",
                "to": host_id,
                "cid": "c1",
                "candidate": {
                    "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                    "sdpMid": "0",
                    "evil": "x",
                },
            }
        )
        candidate, _ = await receive_until(host, "signal")
        await host.send_json_to({"type": "chat", "text": " Guten Tag "})
        chat, _ = await receive_until(guest, "chat")
        await host.send_json_to({"type": "leave"})
        left = await host.receive_close()
        await guest.disconnect()
        return signal, candidate, chat, guest_id, left

    signal, candidate, chat, guest_id, left = run(scenario)
    assert signal["from"] == guest_id and signal["description"] == OFFER and signal["cid"] == "c1"
    assert candidate["candidate"] == {
        "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
        "sdpMid": "0",
    }
    assert chat["text"] == "Guten Tag"
    assert left == 1000
    assert not Presence.objects.filter(left_at__isnull=True).exists()


def test_a_chat_line_carries_the_page_s_id_to_everyone_and_a_bad_id_is_refused(
    call, case_manager, portal_client
):
    """The id lets the sender see its line went out and lets pages show a line sent again
    after a reconnect once (chat.js); the server passes it on, and only a plain id."""
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, _host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.send_json_to({"type": "chat", "id": "0a1b2c3d4e5f6071", "text": "Hallo"})
        echo, _ = await receive_until(guest, "chat")
        line, _ = await receive_until(host, "chat")
        errors = []
        for bad in (5, "", "UPPERCASE1", "x" * 8, "a" * 33, ["0a1b2c3d"]):
            await guest.send_json_to({"type": "chat", "id": bad, "text": "nochmal"})
            error, _ = await receive_until(guest, "error")
            errors.append(error["code"])
        await guest.send_json_to({"type": "chat", "text": "ohne"})
        plain, _ = await receive_until(host, "chat")
        for socket in (host, guest):
            await socket.disconnect()
        return echo, line, errors, plain, guest_id

    echo, line, errors, plain, guest_id = run(scenario)
    for frame in (echo, line):
        assert frame["id"] == "0a1b2c3d4e5f6071"
        assert frame["from"] == guest_id and frame["text"] == "Hallo"
    assert errors == ["invalid"] * 6
    # The refused lines reached nobody (the next chat the host gets is the one after them);
    # a line without an id (an older page) still goes.
    assert plain["text"] == "ohne" and "id" not in plain


def test_client_of_another_case_manager_is_refused(call, foreign_client):
    cookie = session_cookie(foreign_client.user)

    async def scenario():
        socket, first = await join(call, cookie)
        code = await socket.receive_close()
        return first, code

    first, code = run(scenario)
    assert first["type"] == "refused" and first["code"] == "forbidden"
    assert code == CLOSE_FORBIDDEN
    assert not Participant.objects.filter(user=foreign_client.user).exists()


def test_anonymous_and_signal_for_another_call_are_refused(
    call, foreign_appointment, case_manager, other_case_manager, portal_client
):
    other_call = services.call_get_or_create(appointment=foreign_appointment)
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)
    other_cookie = session_cookie(other_case_manager)

    async def scenario():
        anonymous, first = await join(call, None)
        anonymous_code = await anonymous.receive_close()
        host, _host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        # The other call's host is connected, but not part of this call: no forwarding.
        other_host, other_welcome = await join(other_call, other_cookie)
        await host.send_json_to(
            {"type": "signal", "to": other_welcome["me"], "cid": "x", "description": OFFER}
        )
        error, _ = await receive_until(host, "error")
        # The host of this call cannot connect to the other call either.
        _intruder, refused = await join(other_call, host_cookie)
        await other_host.send_json_to({"type": "ping"})
        _pong, skipped = await receive_until(other_host, "pong")
        for socket in (host, guest, other_host):
            await socket.disconnect()
        return first, anonymous_code, error, refused, skipped

    first, anonymous_code, error, refused, skipped = run(scenario)
    assert first["type"] == "refused" and anonymous_code == CLOSE_FORBIDDEN
    assert error["code"] == "no_peer"
    assert refused["type"] == "refused"
    assert all(frame["type"] != "signal" for frame in skipped)


def test_waiting_people_cannot_signal_or_chat(call, case_manager, portal_client):
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_welcome = await join(call, host_cookie)
        guest, _welcome = await join(call, guest_cookie)
        await guest.send_json_to(
            {"type": "signal", "to": host_welcome["me"], "cid": "c", "description": OFFER}
        )
        signal_error, _ = await receive_until(guest, "error")
        await guest.send_json_to({"type": "chat", "text": "hallo"})
        chat_error, _ = await receive_until(guest, "error")
        await guest.send_json_to({"type": "admit", "participant": _welcome["me"]})
        admit_error, _ = await receive_until(guest, "error")
        for socket in (host, guest):
            await socket.disconnect()
        return signal_error, chat_error, admit_error

    signal_error, chat_error, admit_error = run(scenario)
    assert signal_error["code"] == chat_error["code"] == "not_admitted"
    assert admit_error["code"] == "forbidden"
    assert Participant.objects.get(user=portal_client.user).state == ParticipantState.WAITING


def test_garbage_frames_get_errors_and_the_connection_and_other_calls_go_on(
    call, foreign_appointment, case_manager, other_case_manager, portal_client
):
    other_call = services.call_get_or_create(appointment=foreign_appointment)
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)
    other_cookie = session_cookie(other_case_manager)

    async def scenario():
        host, _host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        other_host, _ = await join(other_call, other_cookie)
        garbage = [
            "not json",
            "[1, 2, 3]",
            '{"type": 5}',
            '{"type": "teleport"}',
            '{"type": "signal", "to": "1", "cid": "c", "description": {}}',
            '{"type": "signal", "to": true, "cid": "c", "candidate": null}',
            '{"type": "signal", "to": 1, "cid": "' + "c" * 41 + '", "candidate": null}',
            '{"type": "signal", "to": 1, "cid": "c",'
            ' "description": {"type": "pranswer", "sdp": ""}}',
            '{"type": "chat", "text": ""}',
            '{"type": "chat", "text": "' + "x" * 1001 + '"}',
            '{"type": "lock", "locked": "yes"}',
            '{"type": "remove", "participant": "all"}',
            '{"type": "x", "pad": "' + "x" * MAX_FRAME_BYTES + '"}',
        ]
        codes = []
        for text in garbage:
            await guest.send_text(text)
            error, _ = await receive_until(guest, "error")
            codes.append(error["code"])
        await guest.send_bytes(b"\x00\xff")
        error, _ = await receive_until(guest, "error")
        codes.append(error["code"])
        await guest.send_json_to({"type": "ping"})
        await receive_until(guest, "pong")
        await other_host.send_json_to({"type": "ping"})
        await receive_until(other_host, "pong")
        for socket in (host, guest, other_host):
            await socket.disconnect()
        return codes

    codes = run(scenario)
    assert codes == [
        "malformed",
        "malformed",
        "malformed",
        "unknown_type",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "too_large",
        "invalid",
        "invalid",
        "too_large",
        "malformed",
    ]
    assert Participant.objects.get(user=portal_client.user).state == ParticipantState.ADMITTED


HOSTILE_FRAMES = [
    ("nested 5,000 deep", "[" * 5000 + "]" * 5000, "too_deep"),
    ("objects nested 5,000 deep", '{"a":' * 5000 + "1" + "}" * 5000, "too_deep"),
    (
        "nested in a signal",
        '{"type": "signal", "candidate": ' + "[" * 9 + "]" * 9 + "}",
        "too_deep",
    ),
    ("a megabyte", '{"type": "chat", "text": "' + "x" * (1 << 20) + '"}', "too_large"),
    # A browser cannot send this; a hand-made client can (the ASGI message carries a str).
    (
        "not UTF-8 (a lone surrogate)",
        '{"type": "chat", "text": "' + chr(0xDC80) + '"}',
        "malformed",
    ),
    ("a json list", "[]", "malformed"),
    ("a json number", "42", "malformed"),
]


@pytest.mark.parametrize(
    ("label", "text", "code"), HOSTILE_FRAMES, ids=[f[0] for f in HOSTILE_FRAMES]
)
def test_a_hostile_frame_gets_an_error_frame_and_the_call_goes_on(
    call, case_manager, portal_client, label, text, code
):
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, _host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.send_text(text)
        error, _ = await receive_until(guest, "error")
        await guest.send_bytes(b"\xff\xfe[[[")
        binary_error, _ = await receive_until(guest, "error")
        await guest.send_json_to({"type": "chat", "text": "Noch da?"})
        chat, _ = await receive_until(host, "chat")
        for socket in (host, guest):
            await socket.disconnect()
        return error, binary_error, chat

    error, binary_error, chat = run(scenario)
    assert error["code"] == code and error["message"]
    assert binary_error["code"] == "malformed"
    assert chat["text"] == "Noch da?"


def test_frames_are_rate_limited_per_connection(call, case_manager, settings):
    settings.VIDEO_WS_FRAME_RATE = (5, 60.0)
    cookie = session_cookie(case_manager)

    async def scenario():
        host, _ = await join(call, cookie)
        answers = []
        for _i in range(7):
            await host.send_json_to({"type": "ping"})
            answers.append((await host.receive_json_from())["type"])
        await host.disconnect()
        return answers

    assert run(scenario) == ["pong"] * 5 + ["error"] * 2


def test_removed_person_is_cut_off_and_cannot_rejoin(call, case_manager, portal_client):
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, _host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await host.send_json_to({"type": "remove", "participant": guest_id})
        refused, _ = await receive_until(guest, "refused")
        code = await guest.receive_close()
        _again, first = await join(call, guest_cookie)
        await host.disconnect()
        return refused, code, first

    refused, code, first = run(scenario)
    assert refused["code"] == "removed" and code == CLOSE_FORBIDDEN
    assert first["type"] == "refused" and first["code"] == "removed"


def test_interpreter_joins_by_link_and_is_cut_off_when_revoked(call, case_manager):
    invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=call.appointment, kind="sign"
    )
    browser = browser_for(None)
    url = reverse("video_calls:interpreter", kwargs={"token": token})
    assert browser.post(url, {"display_name": "Ina Dolmetsch"}).status_code == 302
    cookie = browser.cookies["sessionid"].value
    host_cookie = session_cookie(case_manager)

    async def scenario():
        host, _ = await join(call, host_cookie)
        interpreter, welcome = await join(call, cookie)
        await receive_until(host, "roster")
        await database_sync_to_async(services.interpreter_revoke)(
            actor=case_manager, invitation=invitation
        )
        await interpreter.send_json_to({"type": "ping"})
        refused, _ = await receive_until(interpreter, "refused")
        await host.disconnect()
        return welcome, refused

    welcome, refused = run(scenario)
    assert welcome["state"] == "waiting" and welcome["role"] == "interpreter"
    assert refused["code"] == "removed"


def test_test_hook_rewrites_fingerprints_only_when_set(call, case_manager, portal_client, settings):
    settings.VIDEO_TEST_REWRITE_FINGERPRINTS = True
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "description": OFFER}
        )
        signal, _ = await receive_until(host, "signal")
        for socket in (host, guest):
            await socket.disconnect()
        return signal

    signal = run(scenario)
    assert "a=fingerprint:sha-256 00:CD:EF" in signal["description"]["sdp"]


def lobby_socket(call, cookie):
    socket = communicator(ws_path(call), cookie=cookie)
    socket.scope["query_string"] = b"s=abcdef0123456789&m=lobby"
    return socket


def test_lobby_connects_unseen_and_joins_only_on_the_join_frame(
    call, case_manager, portal_client, foreign_client
):
    """The pre-join check opens the socket early: authorised and given ICE servers, but no
    presence and nothing in the waiting room until "join"; strangers are refused at once."""
    host_cookie = session_cookie(case_manager)
    guest_cookie = session_cookie(portal_client.user)
    foreign_cookie = session_cookie(foreign_client.user)

    async def scenario():
        host, _welcome = await join(call, host_cookie)
        lobby = lobby_socket(call, guest_cookie)
        assert (await lobby.connect())[0]
        hello = await lobby.receive_json_from()
        seen_before = await database_sync_to_async(
            Presence.objects.filter(participant_id=hello["me"]).exists
        )()
        await lobby.send_json_to({"type": "chat", "text": "too early"})
        too_early = await lobby.receive_json_from()
        await lobby.send_json_to({"type": "join"})
        joined = await lobby.receive_json_from()
        # The host's next frame is the roster with the guest: the lobby pushed nothing.
        roster = await host.receive_json_from()
        stranger = lobby_socket(call, foreign_cookie)
        await stranger.connect()
        refused = await stranger.receive_json_from()
        refused_code = await stranger.receive_close()
        for socket in (host, lobby):
            await socket.disconnect()
        return hello, seen_before, too_early, joined, roster, refused, refused_code

    hello, seen_before, too_early, joined, roster, refused, code = run(scenario)
    assert hello["type"] == "hello" and hello["role"] == "client"
    assert "ice_servers" in hello and "ice_transport_policy" in hello
    assert not seen_before
    assert too_early["type"] == "error" and too_early["code"] == "not_admitted"
    assert joined["type"] == "welcome" and joined["state"] == "waiting"
    assert joined["me"] == hello["me"]
    assert hello["state"] == "waiting" and "participants" not in hello  # shows nobody
    assert roster["type"] == "roster"
    assert [p["id"] for p in roster["participants"] if p["state"] == "waiting"] == [hello["me"]]
    assert refused["type"] == "refused" and refused["code"] == "forbidden"
    assert code == CLOSE_FORBIDDEN
    assert not Participant.objects.filter(user=foreign_client.user).exists()


CANDIDATE = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}


def test_signals_right_after_a_check_go_on_without_reading_the_database_again(
    call, case_manager, portal_client, settings, monkeypatch
):
    """The burst of candidates while a call is set up rides on the last full check; a push
    that changes the sender's call (here: locked) makes the next signal check again."""
    settings.VIDEO_WS_AUTH_MAX_AGE = 60.0
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)
    checks = []
    refusal = services.participant_refusal

    def counted(*, participant):
        checks.append(participant.pk)
        return refusal(participant=participant)

    monkeypatch.setattr(services, "participant_refusal", counted)

    async def scenario():
        host, host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        frame = {"type": "signal", "to": host_id, "cid": "c", "candidate": CANDIDATE}
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "description": OFFER}
        )
        await receive_until(host, "signal")
        before_burst = checks.count(guest_id)
        for _i in range(3):
            await guest.send_json_to(frame)
            await receive_until(host, "signal")
        after_burst = checks.count(guest_id)
        await host.send_json_to({"type": "lock", "locked": True})
        await receive_until(guest, "roster")
        await guest.send_json_to(frame)
        await receive_until(host, "signal")
        after_push = checks.count(guest_id)
        for socket in (host, guest):
            await socket.disconnect()
        return before_burst, after_burst, after_push

    before_burst, after_burst, after_push = run(scenario)
    assert before_burst >= 1
    assert after_burst == before_burst
    assert after_push == after_burst + 1


def test_removed_person_cannot_signal_right_after_signalling(call, case_manager, portal_client):
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "description": OFFER}
        )
        await receive_until(host, "signal")
        await host.send_json_to({"type": "remove", "participant": guest_id})
        await receive_until(host, "roster")
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "candidate": CANDIDATE}
        )
        refused, _ = await receive_until(guest, "refused")
        await host.send_json_to({"type": "ping"})
        _pong, skipped = await receive_until(host, "pong")
        await host.disconnect()
        return refused, skipped

    refused, skipped = run(scenario)
    assert refused["code"] == "removed"
    assert all(frame["type"] != "signal" for frame in skipped)


def test_logout_without_a_push_stops_signals_once_the_check_is_due(
    call, case_manager, portal_client, settings
):
    """A logout pushes nothing to the call: the first signal after the last check has aged
    reads the database and finds the session gone (here the age is 0: every frame)."""
    settings.VIDEO_WS_AUTH_MAX_AGE = 0.0
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "description": OFFER}
        )
        await receive_until(host, "signal")
        await database_sync_to_async(Session.objects.filter(session_key=guest_cookie).delete)()
        await guest.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "candidate": CANDIDATE}
        )
        refused, _ = await receive_until(guest, "refused")
        await host.send_json_to({"type": "ping"})
        _pong, skipped = await receive_until(host, "pong")
        await host.disconnect()
        return refused, skipped

    refused, skipped = run(scenario)
    assert refused["code"] == "logged_out"
    assert all(frame["type"] != "signal" for frame in skipped)


def test_roster_tells_the_order_in_which_pages_joined(call, case_manager, portal_client):
    """The later of two pages makes the first offer; both read who is later from "joined"."""
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await host.disconnect()  # the host's page reconnects: now it is the later one
        roster_without_host, _ = await receive_until(guest, "roster")
        host_again, _welcome = await join(call, host_cookie)
        roster, _ = await receive_until(guest, "roster")
        for socket in (host_again, guest):
            await socket.disconnect()
        return host_id, guest_id, roster_without_host, roster

    host_id, guest_id, before, after = run(scenario)
    joined_before = {p["id"]: p["joined"] for p in before["participants"]}
    joined_after = {p["id"]: p["joined"] for p in after["participants"]}
    assert joined_before == {host_id: 0, guest_id: 1}
    assert joined_after == {host_id: 2, guest_id: 1}


def _reads(queries, table):
    return sum(
        1
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"]
    )


def test_joining_reads_the_participant_and_the_roster_once_and_signals_go_on_it(
    call, case_manager, portal_client
):
    """An admitted client coming back: one read of the participant to find them, one under
    the call's lock, one roster (pushed to the host and sent in the welcome, which also tells
    where signals go), so the first offer needs no further read."""
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.disconnect()
        await receive_until(host, "roster")
        lobby = lobby_socket(call, guest_cookie)
        assert (await lobby.connect())[0]
        await lobby.receive_json_from()  # hello
        # The consumer's database work runs in this test's thread (thread-sensitive).
        queries = CaptureQueriesContext(connection)
        await database_sync_to_async(queries.__enter__)()
        await lobby.send_json_to({"type": "join"})
        welcome = await lobby.receive_json_from()
        await lobby.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "description": OFFER}
        )
        offer, before_offer = await receive_until(host, "signal")
        await database_sync_to_async(queries.__exit__)(None, None, None)
        pushed = [frame for frame in before_offer if frame["type"] == "roster"][-1]
        for socket in (host, lobby):
            await socket.disconnect()
        return welcome, offer, pushed, queries

    welcome, offer, pushed, queries = run(scenario)
    assert welcome["type"] == "welcome" and welcome["state"] == "admitted"
    assert offer["description"]["type"] == "offer" and offer["from"] == welcome["me"]
    assert welcome["participants"] == pushed["participants"]
    assert _reads(queries, "video_calls_participant") == 3
    assert _reads(queries, "video_calls_presence") == 2  # room in the call, the roster


def test_frames_pushed_after_the_close_are_dropped():
    """A roster push or chat racing the close must not reach the server after the close
    (uvicorn raises on a websocket.send after websocket.close)."""
    from sprechstunde.video_calls.consumers import CallConsumer

    sent: list[dict] = []

    async def base_send(message):
        sent.append(message)

    async def scenario():
        consumer = CallConsumer()
        consumer.base_send = base_send
        await consumer.send_json({"type": "before"})
        await consumer.close(code=4000)
        await consumer.send_json({"type": "after"})
        await consumer.send(text_data='{"type": "after"}')

    run(scenario)
    assert [message["type"] for message in sent] == ["websocket.send", "websocket.close"]


def join_link_cookie(appointment) -> str:
    """The session cookie of a logged-out phone that opened the appointment's join link."""
    from django import test as django_test

    from sprechstunde.appointments.links import join_link_token

    browser = django_test.Client()
    token = join_link_token(appointment=appointment)
    response = browser.get(reverse("video_calls:join_link", kwargs={"token": token}))
    assert response.status_code == 302
    return browser.cookies["sessionid"].value


def test_join_link_session_joins_that_call_and_no_other(
    call, appointment, case_manager, portal_client
):
    from sprechstunde.video_calls.factories import VideoAppointmentFactory

    other = VideoAppointmentFactory(case_manager=case_manager, client=portal_client)
    other_call = services.call_get_or_create(appointment=other)
    phone_cookie = join_link_cookie(appointment)
    host_cookie = session_cookie(case_manager)

    async def scenario():
        lobby = lobby_socket(call, phone_cookie)
        assert (await lobby.connect())[0]
        hello = await lobby.receive_json_from()
        await lobby.send_json_to({"type": "join"})
        welcome, _ = await receive_until(lobby, "welcome")
        host, roster = await join(call, host_cookie)  # the host's welcome lists who waits
        await host.send_json_to({"type": "admit", "participant": welcome["me"]})
        admitted, _ = await receive_until(lobby, "admitted")
        # The same session, the other call of the same client: refused.
        intruder, refused = await join(other_call, phone_cookie)
        code = await intruder.receive_close()
        for socket in (lobby, host):
            await socket.disconnect()
        return hello, welcome, roster, admitted, refused, code

    hello, welcome, roster, admitted, refused, code = run(scenario)
    participant = Participant.objects.get(call=call, user=portal_client.user)
    assert hello["type"] == "hello" and hello["me"] == participant.pk
    assert welcome["state"] == "waiting" and welcome["me"] == participant.pk
    assert [p["id"] for p in roster["participants"] if p["state"] == "waiting"] == [participant.pk]
    assert admitted["type"] == "admitted"
    assert refused["type"] == "refused" and refused["code"] == "forbidden"
    assert code == CLOSE_FORBIDDEN
    assert not Participant.objects.filter(call=other_call).exists()


def test_join_link_on_a_second_device_is_refused_once_the_first_joined(call, appointment):
    from sprechstunde.audit.models import AuditEntry
    from sprechstunde.video_calls.models import JoinLink

    first_cookie, second_cookie = join_link_cookie(appointment), join_link_cookie(appointment)

    async def scenario():
        first, welcome = await join(call, first_cookie)
        second, refused = await join(call, second_cookie)
        code = await second.receive_close()
        await first.disconnect()
        # The first device comes back after a drop: still its link.
        again, welcome_again = await join(call, first_cookie)
        await again.disconnect()
        return welcome, refused, code, welcome_again

    welcome, refused, code, welcome_again = run(scenario)
    assert welcome["type"] == "welcome" and welcome_again["type"] == "welcome"
    assert refused["type"] == "refused" and refused["code"] == "used"
    assert code == CLOSE_FORBIDDEN
    assert JoinLink.objects.get().device_hash != ""
    assert AuditEntry.objects.filter(action="join_link.refused.used").count() == 1


def test_join_link_socket_is_put_out_when_the_appointment_is_moved(call, appointment, case_manager):
    import datetime

    from channels.db import database_sync_to_async as to_thread

    from sprechstunde.appointments.services import appointment_move

    phone_cookie = join_link_cookie(appointment)

    def move():
        # A minute later: the call stays open, so only the link's own check can put it out.
        appointment_move(
            actor=case_manager,
            appointment=appointment,
            starts_at=appointment.starts_at + datetime.timedelta(minutes=1),
            ends_at=appointment.ends_at + datetime.timedelta(minutes=1),
        )

    async def scenario():
        socket, welcome = await join(call, phone_cookie)
        await to_thread(move)()
        await socket.send_json_to({"type": "ping"})
        refused, _ = await receive_until(socket, "refused")
        code = await socket.receive_close()
        return welcome, refused, code

    welcome, refused, code = run(scenario)
    assert welcome["type"] == "welcome"
    assert refused["code"] == "moved" and code == CLOSE_FORBIDDEN


def test_the_offer_reaches_the_page_in_the_call_while_its_check_ahead_runs(
    call, case_manager, portal_client, settings, monkeypatch
):
    """A newcomer's roster push makes the page already in the call check its person ahead of
    the answer. The newcomer's offer must not wait behind that database read: it reaches the
    page while the read is held; the page's answer then goes on that same check, with no
    second read (ADR 0094)."""
    import asyncio
    import threading

    from sprechstunde.video_calls.consumers import CallConsumer

    settings.VIDEO_WS_AUTH_MAX_AGE = 60.0
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)
    hold = {"participant": None, "read": False}
    entered, release = threading.Event(), threading.Event()
    reads = []
    original_read, original_recent = CallConsumer._read_sender, CallConsumer._checked_recently

    def held(self):
        if self.participant.pk == hold["participant"]:
            reads.append(self.participant.pk)
            entered.set()
            release.wait(timeout=10)
            hold["read"] = True
        return original_read(self)

    def recent(self):
        # The host's last check counts as old when the guest comes back (as after 2 s).
        if self.participant.pk == hold["participant"] and not hold["read"]:
            return False
        return original_recent(self)

    monkeypatch.setattr(CallConsumer, "_read_sender", held)
    monkeypatch.setattr(CallConsumer, "_checked_recently", recent)

    async def scenario():
        host, host_id, guest, guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.disconnect()
        await receive_until(host, "roster")
        hold["participant"] = host_id
        lobby = lobby_socket(call, guest_cookie)
        assert (await lobby.connect())[0]
        await lobby.receive_json_from()  # hello
        await lobby.send_json_to({"type": "join"})
        welcome = await lobby.receive_json_from()
        await lobby.send_json_to(
            {"type": "signal", "to": host_id, "cid": "c", "description": OFFER}
        )
        offer, _ = await receive_until(host, "signal")
        not_checked_yet = not hold["read"]
        for _attempt in range(100):  # the check made ahead is under way (and held)
            if entered.is_set():
                break
            await asyncio.sleep(0.05)
        held_while_offered = not_checked_yet and entered.is_set()
        answer_sdp = {"type": "answer", "sdp": "v=0\r\n"}
        await host.send_json_to(
            {"type": "signal", "to": welcome["me"], "cid": "c", "description": answer_sdp}
        )
        release.set()
        answer, _ = await receive_until(lobby, "signal")
        for socket in (host, lobby):
            await socket.disconnect()
        return held_while_offered, offer, answer, host_id, guest_id

    release_anyway = threading.Timer(15, release.set)  # never hang the suite
    release_anyway.start()
    try:
        held_while_offered, offer, answer, host_id, guest_id = run(scenario)
    finally:
        release_anyway.cancel()
        release.set()
    assert held_while_offered
    assert offer["description"] == OFFER and offer["from"] == guest_id
    assert answer["description"]["type"] == "answer" and answer["from"] == host_id
    assert reads == [host_id]  # the answer went on the check made ahead


def test_an_admitted_page_offers_right_behind_its_join(call, case_manager, portal_client):
    """Admitted before and back in the lobby: the hello says who is there (as the welcome
    would), so the page sends its join and its first offer back to back; the offer is
    handled after the join and reaches the host right after the roster push (ADR 0094)."""
    host_cookie, guest_cookie = session_cookie(case_manager), session_cookie(portal_client.user)

    async def scenario():
        host, host_id, guest, _guest_id = await admitted_pair(call, host_cookie, guest_cookie)
        await guest.disconnect()
        await receive_until(host, "roster")
        lobby = lobby_socket(call, guest_cookie)
        assert (await lobby.connect())[0]
        hello = await lobby.receive_json_from()
        await lobby.send_json_to({"type": "join"})
        await lobby.send_json_to(
            {"type": "signal", "to": host_id, "cid": "early", "description": OFFER}
        )
        welcome = await lobby.receive_json_from()
        offer, before = await receive_until(host, "signal")
        for socket in (host, lobby):
            await socket.disconnect()
        return hello, welcome, offer, before, host_id

    hello, welcome, offer, before, host_id = run(scenario)
    assert hello["state"] == "admitted"
    there = [p["id"] for p in hello["participants"] if p["present"] and p["id"] != hello["me"]]
    assert there == [host_id]
    assert welcome["type"] == "welcome" and welcome["state"] == "admitted"
    assert offer["cid"] == "early" and offer["from"] == hello["me"]
    pushed = [frame for frame in before if frame["type"] == "roster"]
    assert pushed and hello["me"] in [p["id"] for p in pushed[-1]["participants"] if p["present"]]
