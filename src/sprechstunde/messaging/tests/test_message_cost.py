"""What one chat message costs the server, and what the cheaper path must still guarantee
(ADR 0091): one trip to the database thread with the session check in it, a fixed number
of statements, the audit chain intact, the notice job in the message's own transaction, and
pushes of two writers in the order of their numbers."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from sprechstunde.audit.models import AuditEntry
from sprechstunde.messaging import consumers, services
from sprechstunde.messaging.models import Message

from .conftest import receive_until, run, session_cookie
from .test_consumers import open_socket, send_frame

pytestmark = pytest.mark.django_db(transaction=True)

# Session check, write rule (consent), counter, message, audit head and entry, notice job,
# BEGIN and COMMIT. PostgreSQL adds the audit chain's advisory lock.
STATEMENTS_PER_MESSAGE = 9


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MESSAGE_WS_SEND_RATE = (1000, 1.0)
    settings.MESSAGE_WS_FRAME_RATE = (1000, 1.0)


class Statements:
    """Counts the statements run while `on` (every database trip comes back to the test's
    thread, so one wrapper on its connection sees them all)."""

    def __init__(self) -> None:
        self.on = False
        self.seen: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if self.on:
            self.seen.append(sql)
        return execute(sql, params, many, context)


def test_a_chat_message_costs_one_database_trip_and_a_fixed_number_of_statements(
    database_queue, conversation, portal_client, monkeypatch
):
    cookie = session_cookie(portal_client.user)
    statements = Statements()
    trips = []
    real_trip = consumers.ConversationConsumer._in_session

    def counted_trip(self, work, *args):
        trips.append(work.__name__)
        return real_trip(self, work, *args)

    monkeypatch.setattr(consumers.ConversationConsumer, "_in_session", counted_trip)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_json_to(send_frame("warm-up"))
        await receive_until(phone, "message")
        trips.clear()
        statements.on = True
        for n in range(5):
            await phone.send_json_to(send_frame(f"Nachricht {n}"))
            await receive_until(phone, "message")
        statements.on = False
        await phone.disconnect()

    with connection.execute_wrapper(statements):
        run(scenario)

    assert trips == ["_store"] * 5
    # SQLite's COMMIT does not pass the wrapper; PostgreSQL's advisory lock does.
    extra = 1 if connection.vendor == "postgresql" else 0
    counted = [sql for sql in statements.seen if sql.upper() not in ("COMMIT", "ROLLBACK")]
    assert len(counted) <= 5 * (STATEMENTS_PER_MESSAGE - 1 + extra), counted
    assert Message.objects.count() == 6
    # Every message is audited, and the notice job of every message is queued.
    assert AuditEntry.objects.filter(action="message.send").count() == 6
    assert DBTaskResult.objects.filter(task_path__endswith="message_notice_send").count() == 6


def test_the_audit_chain_verifies_after_many_messages_from_both_sides(
    database_queue, conversation, portal_client, case_manager
):
    client_cookie = session_cookie(portal_client.user)
    staff_cookie = session_cookie(case_manager)

    async def scenario():
        phone, _ = await open_socket(conversation, client_cookie)
        desk, _ = await open_socket(conversation, staff_cookie)
        for n in range(10):
            await phone.send_json_to(send_frame(f"Frage {n}"))
            await desk.send_json_to(send_frame(f"Antwort {n}"))
        received = []
        while len(received) < 20:
            frame = await phone.receive_json_from()
            if frame["type"] == "message":
                received.append(frame["sequence"])
        await phone.disconnect()
        await desk.disconnect()
        return received

    received = run(scenario)

    # Two writers at once: every member still gets the pushes in the order of their numbers.
    assert received == list(range(1, 21))
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "chain intact" in out.getvalue()
    sent = AuditEntry.objects.filter(action="message.send")
    assert sent.count() == 20
    assert {entry.actor_id for entry in sent} == {portal_client.user.pk, case_manager.pk}


def test_a_message_that_is_rolled_back_leaves_no_notice_job_and_no_audit_entry(
    database_queue, conversation, case_manager, monkeypatch
):
    def broken_audit(**kwargs):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(services, "audit_record", broken_audit)

    with pytest.raises(RuntimeError):
        services.message_send(
            conversation=conversation, sender=case_manager, body="Hallo", client_msg_id=uuid.uuid4()
        )

    assert not Message.objects.exists()
    assert not DBTaskResult.objects.exists()
    conversation.refresh_from_db()
    assert conversation.last_sequence == 0


@pytest.mark.django_db(transaction=False)
def test_the_notice_job_is_written_with_the_message_not_after_the_commit(
    database_queue, conversation, case_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.message_send(
            conversation=conversation, sender=case_manager, body="Hallo", client_msg_id=uuid.uuid4()
        )
        job = DBTaskResult.objects.get()

    assert job.args_kwargs["args"] == [message.pk]
    assert len(callbacks) == 1  # only the push waits for the commit


def test_a_resend_after_the_numbers_moved_on_returns_the_stored_message(
    database_queue, conversation, portal_client, case_manager
):
    message_id = uuid.uuid4()
    first = services.message_send(
        conversation=conversation, sender=case_manager, body="Eins", client_msg_id=message_id
    )
    services.message_send(
        conversation=conversation,
        sender=portal_client.user,
        body="Zwei",
        client_msg_id=uuid.uuid4(),
    )

    again = services.message_send(
        conversation=conversation, sender=case_manager, body="Eins", client_msg_id=message_id
    )

    assert (again.pk, again.sequence) == (first.pk, 1)
    conversation.refresh_from_db()
    assert conversation.last_sequence == 2  # the resend took no number
    assert Message.objects.count() == 2
    assert AuditEntry.objects.filter(action="message.send").count() == 2


def test_a_frame_whose_type_is_not_a_string_gets_an_error_frame(conversation, portal_client):
    cookie = session_cookie(portal_client.user)

    async def scenario():
        phone, _ = await open_socket(conversation, cookie)
        await phone.send_json_to({"type": ["send"], "body": "Hallo"})
        answer = await phone.receive_json_from()
        await phone.send_json_to({"type": "ping"})
        pong = await phone.receive_json_from()
        await phone.disconnect()
        return answer, pong

    answer, pong = run(scenario)

    assert (answer["type"], answer["code"]) == ("error", "unknown_type")
    assert pong["type"] == "pong"
    assert not Message.objects.exists()
