"""The chat websocket through the whole ASGI stack (origin check, session, routing, consumer):
who may connect, store-then-ack, idempotent resend, order, sync, read receipts, and what
happens to frames that are malformed, oversized, unknown or too many."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Consent
from sprechstunde.messaging import frames, services
from sprechstunde.messaging.consumers import MAX_FRAME_BYTES, SlidingWindow
from sprechstunde.messaging.models import Message, ReadState

from .conftest import communicator, receive_until, run, session_cookie, ws_path

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(conversation, cookie):
    socket = communicator(ws_path(conversation), cookie=cookie)
    connected, _code = await socket.connect()
    assert connected
    welcome = await socket.receive_json_from()
    assert welcome["type"] == "welcome"
    return socket, welcome


def send_frame(body="Hallo", client_msg_id=None):
    return {"type": "send", "client_msg_id": client_msg_id or str(uuid.uuid4()), "body": body}


# --- who may connect ----------------------------------------------------------------------------


def test_the_client_and_the_case_manager_connect_and_are_welcomed(
    conversation, portal_client, case_manager
):
    services.message_send(
        conversation=conversation, sender=case_manager, body="Hi", client_msg_id=uuid.uuid4()
    )
    cookies = [session_cookie(portal_client.user), session_cookie(case_manager)]

    async def scenario():
        welcomes = []
        for cookie in cookies:
            socket, welcome = await open_socket(conversation, cookie)
            welcomes.append(welcome)
            await socket.disconnect()
        return welcomes

    client_welcome, staff_welcome = run(scenario)

    assert client_welcome["side"] == "client"
    assert staff_welcome["side"] == "staff"
    assert client_welcome["last_sequence"] == staff_welcome["last_sequence"] == 1
    assert client_welcome["can_write"] and staff_welcome["can_write"]
    assert AuditEntry.objects.filter(action="conversation.connect").count() == 2


@pytest.mark.parametrize(
    "who", ["other_case_manager", "admin_user", "dpo", "foreign_client", "anonymous"]
)
def test_a_conversation_outside_the_rules_is_closed_with_4403(conversation, who, request):
    if who == "anonymous":
        cookie = None
    elif who == "foreign_client":
        cookie = session_cookie(request.getfixturevalue("foreign_client").user)
    else:
        cookie = session_cookie(request.getfixturevalue(who))

    async def scenario():
        socket = communicator(ws_path(conversation), cookie=cookie)
        connected, _ = await socket.connect()
        code = await socket.receive_close()
        return connected, code

    connected, code = run(scenario)

    assert connected  # accepted, then closed with a code chat.js understands: do not retry
    assert code == 4403
    if who != "anonymous":
        assert AuditEntry.objects.filter(action="conversation.access_denied").exists()
    assert not AuditEntry.objects.filter(action="conversation.connect").exists()


def test_a_conversation_that_does_not_exist_is_closed_with_4403(case_manager):
    cookie = session_cookie(case_manager)

    async def scenario():
        socket = communicator(ws_path(999999), cookie=cookie)
        await socket.connect()
        return await socket.receive_close()

    assert run(scenario) == 4403


def test_staff_without_a_second_factor_are_refused(conversation, case_manager):
    from allauth.mfa.models import Authenticator

    cookie = session_cookie(case_manager)
    Authenticator.objects.filter(user=case_manager).delete()

    async def scenario():
        socket = communicator(ws_path(conversation), cookie=cookie)
        await socket.connect()
        return await socket.receive_close()

    assert run(scenario) == 4403


def test_a_foreign_origin_is_refused_before_the_consumer(conversation, portal_client):
    cookie = session_cookie(portal_client.user)

    async def scenario():
        socket = communicator(ws_path(conversation), cookie=cookie, origin="https://evil.example")
        return await socket.connect()

    connected, _code = run(scenario)

    assert not connected
    assert not AuditEntry.objects.filter(action="conversation.connect").exists()


# --- store, ack, push -----------------------------------------------------------------------


def test_a_message_is_stored_then_acknowledged_and_pushed_to_everyone(
    conversation, portal_client, case_manager
):
    client_cookie = session_cookie(portal_client.user)
    staff_cookie = session_cookie(case_manager)
    frame = send_frame("Wann ist mein Termin?")

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        desk, _ = await open_socket(conversation, staff_cookie)
        await phone.send_json_to(frame)
        ack = await phone.receive_json_from()
        stored = await database_sync_to_async(
            lambda: list(Message.objects.values_list("client_msg_id", "sequence"))
        )()
        own_copy = await phone.receive_json_from()
        pushed = await desk.receive_json_from()
        await phone.disconnect()
        await desk.disconnect()
        return ack, stored, own_copy, pushed

    ack, stored, own_copy, pushed = run(scenario)

    # The ack comes only once the message is in the database.
    assert ack == {"type": "ack", "client_msg_id": frame["client_msg_id"], "sequence": 1}
    assert [(str(i), s) for i, s in stored] == [(frame["client_msg_id"], 1)]
    assert own_copy["type"] == "message" and own_copy["own"] is True
    assert pushed["type"] == "message" and pushed["own"] is False
    assert pushed["body"] == "Wann ist mein Termin?"
    assert pushed["sender_name"] == portal_client.full_name
    assert pushed["side"] == "client"
    assert "sender_id" not in pushed


def test_a_sender_without_a_name_is_named_by_role_never_by_address(
    conversation, portal_client, case_manager
):
    type(case_manager).objects.filter(pk=case_manager.pk).update(first_name="", last_name="")
    client_cookie = session_cookie(portal_client.user)
    staff_cookie = session_cookie(case_manager)

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        desk, _ = await open_socket(conversation, staff_cookie)
        await desk.send_json_to(send_frame("Ihr Termin ist am Montag."))
        pushed, _ = await receive_until(phone, "message", timeout=10)
        await phone.disconnect()
        await desk.disconnect()
        return pushed

    pushed = run(scenario)
    assert pushed["sender_name"] == "Case manager"
    assert case_manager.email not in str(pushed)


def test_a_resend_is_acknowledged_with_the_same_number_and_not_pushed_again(
    conversation, portal_client, case_manager
):
    client_cookie = session_cookie(portal_client.user)
    staff_cookie = session_cookie(case_manager)
    frame = send_frame("Einmal bitte")

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        desk, _ = await open_socket(conversation, staff_cookie)
        await phone.send_json_to(frame)
        first, _ = await receive_until(phone, "ack")
        await phone.send_json_to(frame)
        second, _ = await receive_until(phone, "ack")
        pushed = [await desk.receive_json_from()]
        assert await desk.receive_nothing(timeout=0.3)
        await phone.disconnect()
        await desk.disconnect()
        return first, second, pushed

    first, second, pushed = run(scenario)

    assert first["sequence"] == second["sequence"] == 1
    assert [p["sequence"] for p in pushed] == [1]
    assert Message.objects.count() == 1


def test_messages_arrive_in_the_order_of_their_numbers(conversation, portal_client, case_manager):
    client_cookie = session_cookie(portal_client.user)
    staff_cookie = session_cookie(case_manager)
    frames = [send_frame(f"Nachricht {n}") for n in range(15)]

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        desk, _ = await open_socket(conversation, staff_cookie)
        for frame in frames:
            await phone.send_json_to(frame)
        received = [await desk.receive_json_from() for _ in frames]
        await phone.disconnect()
        await desk.disconnect()
        return received

    received = run(scenario)

    assert [f["sequence"] for f in received] == list(range(1, 16))
    assert [f["body"] for f in received] == [f"Nachricht {n}" for n in range(15)]


def test_a_refused_message_gets_an_error_frame_with_its_id(conversation, portal_client):
    cookie = session_cookie(portal_client.user)
    frame = send_frame("   ")

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_json_to(frame)
        answer = await phone.receive_json_from()
        await phone.disconnect()
        return answer

    answer = run(scenario)

    assert answer["type"] == "error"
    assert answer["code"] == "rejected"
    assert answer["client_msg_id"] == frame["client_msg_id"]
    assert answer["message"] == "Please write a message."
    assert not Message.objects.exists()


def test_a_client_who_withdraws_consent_while_connected_can_no_longer_send(
    conversation, portal_client
):
    cookie = session_cookie(portal_client.user)

    def withdraw():
        Consent.objects.filter(client=portal_client, purpose=ConsentPurpose.PORTAL).update(
            withdrawn_at=timezone.now()
        )

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await database_sync_to_async(withdraw)()
        await phone.send_json_to(send_frame())
        answer = await phone.receive_json_from()
        await phone.disconnect()
        return answer

    answer = run(scenario)

    assert (answer["type"], answer["code"]) == ("error", "forbidden")
    assert not Message.objects.exists()


# --- sync and read receipts -----------------------------------------------------------------


def test_sync_returns_what_was_missed_in_order_in_pages(conversation, portal_client, case_manager):
    for n in range(130):
        services.message_send(
            conversation=conversation,
            sender=case_manager,
            body=f"#{n + 1}",
            client_msg_id=uuid.uuid4(),
        )
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_json_to({"type": "sync", "after": 5})
        first = await phone.receive_json_from()
        last_seen = first["messages"][-1]["sequence"]
        await phone.send_json_to({"type": "sync", "after": last_seen})
        second = await phone.receive_json_from()
        await phone.send_json_to({"type": "sync", "after": 130})
        nothing = await phone.receive_json_from()
        await phone.disconnect()
        return first, second, nothing

    first, second, nothing = run(scenario)

    got = [m["sequence"] for m in first["messages"] + second["messages"]]
    assert got == list(range(6, 131))
    assert first["has_more"] is True and second["has_more"] is False
    assert first["messages"][0]["body"] == "#6"
    assert all(m["own"] is False for m in first["messages"])
    assert nothing == {"type": "messages", "messages": [], "has_more": False, "last_sequence": 130}
    assert AuditEntry.objects.filter(action="conversation.sync").count() == 2


def test_reading_sends_a_read_receipt_to_the_other_side(conversation, portal_client, case_manager):
    services.message_send(
        conversation=conversation, sender=case_manager, body="Hallo", client_msg_id=uuid.uuid4()
    )
    client_cookie = session_cookie(portal_client.user)
    staff_cookie = session_cookie(case_manager)

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        desk, _ = await open_socket(conversation, staff_cookie)
        await phone.send_json_to({"type": "read", "sequence": 1})
        receipt = await desk.receive_json_from()
        await phone.disconnect()
        await desk.disconnect()
        return receipt

    receipt = run(scenario)

    assert receipt == {"type": "read", "side": "client", "sequence": 1}
    assert ReadState.objects.get(user=portal_client.user).last_read_sequence == 1


# --- bad frames ---------------------------------------------------------------------------------


BAD_FRAMES = [
    ("not json", "{nope", "malformed"),
    ("a json list", "[1, 2, 3]", "malformed"),
    ("a json string", '"send"', "malformed"),
    ("no type", '{"body": "x"}', "unknown_type"),
    ("unknown type", '{"type": "delete_everything"}', "unknown_type"),
    ("send without id", '{"type": "send", "body": "x"}', "invalid"),
    ("send with a numeric body", '{"type": "send", "client_msg_id": "a", "body": 5}', "invalid"),
    ("send with a bad id", '{"type": "send", "client_msg_id": "x", "body": "Hi"}', "rejected"),
    ("sync with text", '{"type": "sync", "after": "5"}', "invalid"),
    ("sync with a negative number", '{"type": "sync", "after": -1}', "invalid"),
    ("sync with true", '{"type": "sync", "after": true}', "invalid"),
    ("read without a number", '{"type": "read"}', "invalid"),
    ("sync beyond any number", '{"type": "sync", "after": ' + "9" * 40 + "}", "invalid"),
    ("read beyond any number", '{"type": "read", "sequence": ' + "9" * 40 + "}", "invalid"),
    ("sync with a float", '{"type": "sync", "after": 1.5}', "invalid"),
    ("oversized", '{"type": "send", "body": "' + "x" * MAX_FRAME_BYTES + '"}', "too_large"),
    (
        "oversized in bytes only",
        '{"type":"send","body":"' + "€" * (MAX_FRAME_BYTES // 3 + 10) + '"}',
        "too_large",
    ),
    ("a megabyte", '{"type": "send", "body": "' + "x" * (1 << 20) + '"}', "too_large"),
    ("nested 5,000 deep", "[" * 5000 + "]" * 5000, "too_deep"),
    ("objects nested 3,000 deep", '{"":' * 3000 + "1" + "}" * 3000, "too_deep"),
    (
        "nested within the limit but one",
        '{"type": "send", "x": ' + "[" * 8 + "]" * 8 + "}",
        "too_deep",
    ),
    # A browser cannot send this; a hand-made client can (the ASGI message carries a str).
    (
        "not UTF-8 (a lone surrogate)",
        '{"type": "send", "body": "' + chr(0xD800) + '"}',
        "malformed",
    ),
    ("a json number", "5", "malformed"),
    ("json null", "null", "malformed"),
]


@pytest.mark.parametrize(("label", "text", "code"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_a_bad_frame_gets_an_error_frame_and_the_connection_keeps_working(
    conversation, portal_client, label, text, code
):
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_text(text)
        error = await phone.receive_json_from()
        await phone.send_json_to(send_frame("Noch da?"))
        ack, _ = await receive_until(phone, "ack")
        await phone.disconnect()
        return error, ack

    error, ack = run(scenario)

    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    assert ack["sequence"] == 1
    assert list(Message.objects.values_list("body", flat=True)) == ["Noch da?"]


def test_a_lone_surrogate_in_the_text_is_replaced_not_a_crash(conversation, portal_client):
    cookie = session_cookie(portal_client.user)
    body = r'"A\ud800B \ud83d\ude00"'
    text = f'{{"type": "send", "client_msg_id": "{uuid.uuid4()}", "body": {body}}}'

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_text(text)
        ack, _ = await receive_until(phone, "ack")
        await phone.disconnect()
        return ack

    assert run(scenario)["sequence"] == 1
    assert Message.objects.get().body == "A?B \U0001f600"


def test_a_binary_frame_gets_an_error_frame_and_the_connection_keeps_working(
    conversation, portal_client
):
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_bytes(b"\x00\x01\xff{}")
        error = await phone.receive_json_from()
        await phone.send_json_to(send_frame("Noch da?"))
        ack, _ = await receive_until(phone, "ack")
        await phone.disconnect()
        return error, ack

    error, ack = run(scenario)
    assert error["type"] == "error" and error["code"] == "malformed" and error["message"]
    assert ack["sequence"] == 1


def test_sending_too_fast_is_refused_with_an_error_frame_and_nothing_stored(
    settings, conversation, portal_client
):
    settings.MESSAGE_WS_SEND_RATE = (5, 60.0)
    cookie = session_cookie(portal_client.user)
    frames = [send_frame(f"#{n}") for n in range(7)]

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        answers = []
        for frame in frames[:5]:
            await phone.send_json_to(frame)
            answers.append((await receive_until(phone, "ack"))[0])
        for frame in frames[5:]:
            await phone.send_json_to(frame)
            answers.append((await receive_until(phone, "error"))[0])
        await phone.disconnect()
        return answers

    answers = run(scenario)

    refused = answers[5:]
    assert all(a["type"] == "error" and a["code"] == "rate_limited" for a in refused)
    assert [a["client_msg_id"] for a in refused] == [f["client_msg_id"] for f in frames[5:]]
    assert all(a["retry_after"] > 0 for a in refused)
    assert Message.objects.count() == 5


def test_a_flood_of_frames_of_any_kind_is_limited(settings, conversation, portal_client):
    settings.MESSAGE_WS_FRAME_RATE = (10, 60.0)
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        codes = []
        for _ in range(12):
            await phone.send_json_to({"type": "sync", "after": 0})
            codes.append((await phone.receive_json_from())["type"])
        await phone.disconnect()
        return codes

    codes = run(scenario)

    assert codes == ["messages"] * 10 + ["error", "error"]


def test_a_connection_that_keeps_sending_nonsense_is_closed(settings, conversation, portal_client):
    settings.MESSAGE_WS_FRAME_RATE = (1000, 60.0)
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        for _ in range(100):
            await phone.send_text("garbage")
        return await phone.receive_close(timeout=5)

    assert run(scenario) == 4400


def test_a_ping_is_answered_so_that_a_quiet_phone_knows_its_socket_is_alive(
    conversation, portal_client
):
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_json_to({"type": "ping"})
        answer = await phone.receive_json_from()
        await phone.disconnect()
        return answer

    assert run(scenario) == {"type": "pong", "last_sequence": 0}


def test_a_socket_dropped_from_its_group_rejoins_at_the_next_ping_and_learns_what_it_missed(
    conversation, portal_client, case_manager
):
    """An overloaded channel layer may drop a member whose pushes waited too long; the socket
    stays open. The ping puts it back into the group, and the pong's number makes chat.js sync."""
    from channels.layers import get_channel_layer

    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        # Drop the members from the group, as a layer does with members it gave up on.
        layer = get_channel_layer()
        group = frames.group_name(conversation.pk)
        if hasattr(layer, "groups"):  # in-memory layer
            members = list(layer.groups.get(group, {}))
        else:  # channels_redis keeps a group as a sorted set of channel names
            connection = layer.connection(layer.consistent_hash(group))
            members = [m.decode() for m in await connection.zrange(layer._group_key(group), 0, -1)]
        assert members
        for member in members:
            await layer.group_discard(group, member)
        await database_sync_to_async(services.message_send)(
            conversation=conversation,
            sender=case_manager,
            body="Verpasst",
            client_msg_id=uuid.uuid4(),
        )
        missed = await phone.receive_nothing(timeout=0.5)
        await phone.send_json_to({"type": "ping"})
        pong = await phone.receive_json_from()
        await database_sync_to_async(services.message_send)(
            conversation=conversation,
            sender=case_manager,
            body="Wieder da",
            client_msg_id=uuid.uuid4(),
        )
        pushed, _skipped = await receive_until(phone, "message")
        await phone.disconnect()
        return missed, pong, pushed

    missed, pong, pushed = run(scenario)
    assert missed is True  # the dropped socket got no push
    assert pong == {"type": "pong", "last_sequence": 1}  # … but learns that message 1 exists
    assert pushed["sequence"] == 2 and pushed["body"] == "Wieder da"


def test_after_logging_out_the_open_socket_is_closed_at_its_next_frame(conversation, portal_client):
    from django.contrib.sessions.models import Session

    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await database_sync_to_async(Session.objects.filter(session_key=cookie).delete)()
        await phone.send_json_to(send_frame("Noch jemand da?"))
        return await phone.receive_close()

    assert run(scenario) == 4401
    assert not Message.objects.exists()


def test_a_substitute_whose_substitution_ended_is_closed_at_the_next_ping(conversation, substitute):
    from sprechstunde.accounts.models import Substitution

    cookie = session_cookie(substitute)

    async def scenario():
        desk, _ = await open_socket(conversation, cookie)
        await desk.send_json_to({"type": "ping"})
        before = await desk.receive_json_from()
        await database_sync_to_async(Substitution.objects.filter(substitute=substitute).delete)()
        await desk.send_json_to({"type": "ping"})
        return before, await desk.receive_close()

    before, code = run(scenario)

    assert before == {"type": "pong", "last_sequence": 0}
    assert code == 4403


def test_a_deactivated_account_is_closed_at_the_next_ping(conversation, case_manager):
    from sprechstunde.accounts.models import User

    cookie = session_cookie(case_manager)

    async def scenario():
        desk, _ = await open_socket(conversation, cookie)
        await database_sync_to_async(User.objects.filter(pk=case_manager.pk).update)(
            is_active=False
        )
        await desk.send_json_to({"type": "ping"})
        return await desk.receive_close()

    assert run(scenario) == 4403


def test_the_rate_window_frees_up_as_time_passes():
    window = SlidingWindow(2, 10.0)

    assert window.allow(now=100.0)
    assert window.allow(now=101.0)
    assert not window.allow(now=105.0)
    assert window.retry_after(now=105.0) == 5.0
    assert window.allow(now=110.0)
    assert not window.allow(now=110.5)


def test_a_socket_cut_before_the_ack_still_stores_the_message_once(
    conversation, portal_client, case_manager
):
    """The ack got lost: the phone reconnects, sends the same id again, gets the same number."""
    cookie = session_cookie(portal_client.user)
    frame = send_frame("Verbindung weg?")

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_json_to(frame)
        await phone.disconnect()  # never read the ack
        again, _ = await open_socket(conversation, cookie)
        await again.send_json_to(frame)
        ack, _ = await receive_until(again, "ack")
        await again.disconnect()
        return ack

    ack = run(scenario)

    assert ack["sequence"] == 1
    assert Message.objects.count() == 1


def test_nothing_leaks_between_conversations(
    conversation, portal_client, foreign_client, other_case_manager
):
    foreign = services.conversation_get_or_create(client=foreign_client)
    client_cookie = session_cookie(portal_client.user)
    foreign_cookie = session_cookie(other_case_manager)

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        other, _ = await open_socket(foreign, foreign_cookie)
        await other.send_json_to(send_frame("Nur für Fritz"))
        await receive_until(other, "ack")
        quiet = await phone.receive_nothing(timeout=0.3)
        await phone.disconnect()
        await other.disconnect()
        return quiet

    assert run(scenario) is True


# --- closing ----------------------------------------------------------------------------------


def test_every_consumer_ends_when_its_browser_goes(conversation, portal_client, case_manager):
    """Sockets of one process share the layer's single Redis receive; the one that takes it
    over from a closing socket must still end at its own close (Websocket.disconnect fails
    when a consumer goes on running)."""
    cookies = [session_cookie(portal_client.user), session_cookie(case_manager)]

    async def scenario():
        for _round in range(3):
            phone, desk = [(await open_socket(conversation, cookie))[0] for cookie in cookies]
            await desk.send_json_to(send_frame())
            await receive_until(phone, "message")
            await receive_until(desk, "message")
            # The first socket's consumer receives for both; after its close the other
            # one takes over and is closed at once.
            await phone.disconnect()
            await desk.disconnect()

    run(scenario)


def test_pushes_after_the_close_are_dropped():
    """A message pushed to the group while the socket is being closed (after a logout) is
    not sent after websocket.close."""
    from sprechstunde.messaging.consumers import ConversationConsumer

    sent: list[dict] = []

    async def base_send(message):
        sent.append(message)

    async def scenario():
        consumer = ConversationConsumer()
        consumer.base_send = base_send
        consumer.user = None
        await consumer.send_json({"type": "pong"})
        await consumer.close(code=4001)
        await consumer.conversation_event({"frame": {"type": "read", "sequence": 3}})
        await consumer.close(code=4001)

    run(scenario)
    assert [message["type"] for message in sent] == ["websocket.send", "websocket.close"]
