"""The e-mail notice "you have a new message": queued after the commit to run after the
configured delay, sent only if the message is still unread, once per unread batch, and
without any content, name or subject from the message."""

from __future__ import annotations

import datetime
import smtplib
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Consent
from sprechstunde.messaging import services
from sprechstunde.messaging.models import ReadState

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Betreff: Kündigung Wohnung Müllerstraße 5"


def send(conversation, sender, body=SECRET_TEXT):
    return services.message_send(
        conversation=conversation, sender=sender, body=body, client_msg_id=uuid.uuid4()
    )


def deliver(message) -> str:
    return services.message_notice_deliver(message_id=message.pk)


def assert_content_free(notice, *, client):
    text = f"{notice.subject}\n{notice.body}"
    for forbidden in ("Kündigung", "Müllerstraße", "Betreff", client.first_name, client.last_name):
        assert forbidden not in text
    assert notice.subject == "You have a new message"


@pytest.mark.django_db(transaction=True)
def test_the_notice_job_waits_for_the_configured_delay(settings, portal_client, case_manager):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MESSAGE_NOTICE_DELAY_SECONDS = 600
    conversation = services.conversation_get_or_create(client=portal_client)
    before = timezone.now()

    message = send(conversation, case_manager)

    job = DBTaskResult.objects.get(task_path="sprechstunde.messaging.tasks.message_notice_send")
    assert job.args_kwargs["args"] == [message.pk]
    expected = before + datetime.timedelta(seconds=600)
    assert expected <= job.run_after <= timezone.now() + datetime.timedelta(seconds=600)


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_notice_when_due_and_unread(
    settings, portal_client, case_manager, outbox
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MESSAGE_NOTICE_DELAY_SECONDS = 600
    conversation = services.conversation_get_or_create(client=portal_client)
    send(conversation, case_manager)

    call_command("db_worker", batch=True, startup_delay=False, interval=0.1)
    assert outbox == []  # not due yet

    DBTaskResult.objects.update(run_after=timezone.now() - datetime.timedelta(seconds=1))
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1)

    assert [m.to for m in outbox] == [["kim@example.org"]]
    assert_content_free(outbox[0], client=portal_client)


def test_an_unread_message_sends_a_content_free_notice_to_the_client(
    conversation, portal_client, case_manager, outbox
):
    message = send(conversation, case_manager)

    assert deliver(message) == "sent"

    assert len(outbox) == 1
    notice = outbox[0]
    assert notice.to == ["kim@example.org"]
    assert_content_free(notice, client=portal_client)
    assert case_manager.last_name not in notice.body
    assert "http://127.0.0.1:8000/nachrichten/portal/" in notice.body
    entry = AuditEntry.objects.get(action="message.notify")
    assert (entry.client_id, entry.target_id) == (portal_client.pk, str(message.pk))


def test_a_message_read_in_time_sends_no_notice(conversation, portal_client, case_manager, outbox):
    message = send(conversation, case_manager)
    services.conversation_mark_read(
        conversation=conversation, reader=portal_client.user, sequence=message.sequence
    )

    assert deliver(message) == "read"
    assert outbox == []


def test_several_unread_messages_send_one_notice_until_read(
    conversation, portal_client, case_manager, outbox
):
    first = send(conversation, case_manager)
    second = send(conversation, case_manager)

    assert [deliver(first), deliver(second)] == ["sent", "already notified"]
    assert len(outbox) == 1

    services.conversation_mark_read(
        conversation=conversation, reader=portal_client.user, sequence=second.sequence
    )
    third = send(conversation, case_manager)

    assert deliver(third) == "sent"
    assert len(outbox) == 2


def test_a_client_message_notifies_the_case_manager_without_naming_the_client(
    conversation, portal_client, case_manager, outbox
):
    message = send(conversation, portal_client.user)

    assert deliver(message) == "sent"

    assert outbox[0].to == [case_manager.email]
    assert_content_free(outbox[0], client=portal_client)
    # The link leads to the inbox, not to a page that names the client.
    assert "http://127.0.0.1:8000/nachrichten/\n" in outbox[0].body


def test_a_client_message_also_notifies_whoever_stands_in_for_the_case_manager(
    conversation, portal_client, case_manager, substitute, outbox
):
    message = send(conversation, portal_client.user)

    assert deliver(message) == "sent"

    assert sorted(m.to[0] for m in outbox) == sorted([case_manager.email, substitute.email])
    assert AuditEntry.objects.filter(action="message.notify").count() == 2


def test_no_notice_to_the_case_manager_when_a_substitute_has_read(
    conversation, portal_client, substitute, outbox
):
    message = send(conversation, portal_client.user)
    services.conversation_mark_read(
        conversation=conversation, reader=substitute, sequence=message.sequence
    )

    assert deliver(message) == "read"
    assert outbox == []


def test_a_team_lead_looking_on_does_not_stop_the_notice(
    conversation, portal_client, team_lead, outbox
):
    message = send(conversation, portal_client.user)
    services.conversation_mark_read(
        conversation=conversation, reader=team_lead, sequence=message.sequence
    )

    assert deliver(message) == "sent"


def test_no_notice_after_the_client_withdrew_portal_consent(
    conversation, portal_client, case_manager, outbox
):
    message = send(conversation, case_manager)
    Consent.objects.filter(client=portal_client, purpose=ConsentPurpose.PORTAL).update(
        withdrawn_at=timezone.now()
    )

    assert deliver(message) == "no recipient"
    assert outbox == []


@pytest.mark.parametrize(("account_language", "expected"), [("de", "de"), ("", "en")])
def test_the_notice_is_written_in_the_recipients_language(
    conversation, portal_client, case_manager, monkeypatch, account_language, expected
):
    """The account's language first, else the language recorded for the client."""
    from django.utils import translation

    portal_client.user.preferred_language = account_language
    portal_client.user.save()
    portal_client.preferred_language = "en"
    portal_client.save()
    languages = []
    monkeypatch.setattr(
        services, "send_mail", lambda *args, **kwargs: languages.append(translation.get_language())
    )

    deliver(send(conversation, case_manager))

    assert languages == [expected]


def test_a_failed_mail_can_be_tried_again(
    conversation, portal_client, case_manager, outbox, monkeypatch
):
    message = send(conversation, case_manager)

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("mail server down")

    monkeypatch.setattr(services, "send_mail", refuse)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        deliver(message)
    assert ReadState.objects.get(user=portal_client.user).notified_sequence == 0

    monkeypatch.undo()
    assert deliver(message) == "sent"
    assert len(outbox) == 1


def test_a_deleted_message_sends_nothing(conversation, case_manager, outbox):
    message = send(conversation, case_manager)
    message_id = message.pk
    message.delete()

    assert services.message_notice_deliver(message_id=message_id) == "gone"
    assert outbox == []
