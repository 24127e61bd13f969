"""Reminders: scheduling, sending once, skipping what is no longer right, one-tap links, SMS."""

import datetime
import re
import threading

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments import links, services
from sprechstunde.appointments.choices import (
    AppointmentStatus,
    CancellationClass,
    Channel,
    ReminderChannel,
)
from sprechstunde.appointments.models import Appointment, Reminder
from sprechstunde.appointments.reminders import reminders_schedule, reminders_send_due
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.core.sms_gateway import HttpSmsGateway, SmsError
from sprechstunde.core.testing.sms_gateway import LocalSmsGateway

from .conftest import client_user, local_dt, slot_start

pytestmark = pytest.mark.django_db


def book_in(case_manager, client, delta):
    start = slot_start(delta)
    return services.appointment_book(
        actor=case_manager,
        client=client,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        channel=Channel.PHONE,
    )


def make_due(*reminders_or_qs):
    for item in reminders_or_qs:
        Reminder.objects.filter(pk=item.pk).update(
            due_at=timezone.now() - datetime.timedelta(minutes=1)
        )


def reminder_mails():
    return [m for m in mail.outbox if m.subject.startswith(("Reminder", "Erinnerung"))]


# --- scheduling --------------------------------------------------------------------------------


def test_booking_schedules_the_default_steps_24h_and_1h(case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    reminders = list(appointment.reminders.order_by("-step_minutes"))
    assert [(r.step_minutes, r.channel) for r in reminders] == [(1440, "email"), (60, "email")]
    assert reminders[0].due_at == appointment.starts_at - datetime.timedelta(hours=24)
    assert reminders[1].due_at == appointment.starts_at - datetime.timedelta(hours=1)


def test_steps_are_configurable_and_passed_steps_are_left_out(
    case_manager, client_record, settings
):
    settings.APPOINTMENT_REMINDER_STEPS = [2 * 24 * 60, 24 * 60, 30]
    appointment = book_in(case_manager, client_record, datetime.timedelta(hours=30))
    assert sorted(appointment.reminders.values_list("step_minutes", flat=True)) == [30, 1440]


def test_client_without_email_or_sms_gets_no_reminders(case_manager):
    client = ClientFactory(case_manager=case_manager, email="", mobile_number="+4915112345678")
    appointment = book_in(case_manager, client, datetime.timedelta(days=3))
    assert not appointment.reminders.exists()


# --- sending once, and only when right -----------------------------------------------------


def test_due_reminder_is_sent_once_with_three_one_tap_links(case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    day_before = appointment.reminders.get(step_minutes=1440)
    make_due(day_before)
    mail.outbox.clear()

    assert reminders_send_due() == {"sent": 1}
    assert reminders_send_due() == {}
    (message,) = mail.outbox
    assert message.to == ["kundin@example.org"]
    assert client_record.last_name not in message.body
    assert len(re.findall(r"/termine/link/[^/\s]+/", message.body)) == 3
    day_before.refresh_from_db()
    assert day_before.sent_at is not None and day_before.attempts == 1


def test_no_reminder_for_a_cancelled_appointment(case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    services.appointment_cancel(actor=case_manager, appointment=appointment, reason="Krank")
    make_due(*appointment.reminders.all())
    mail.outbox.clear()
    assert reminders_send_due() == {"skipped:not-booked": 2}
    assert mail.outbox == []


def test_moved_appointment_skips_the_old_reminders_and_sends_the_new(case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    old = list(appointment.reminders.filter(step_minutes=60))
    moved = services.appointment_move(
        actor=case_manager,
        appointment=appointment,
        starts_at=appointment.starts_at + datetime.timedelta(days=1),
        ends_at=appointment.ends_at + datetime.timedelta(days=1),
    )
    new = moved.reminders.get(sequence=1, step_minutes=60)
    make_due(*old, new)
    mail.outbox.clear()
    assert reminders_send_due() == {"skipped:moved": 1, "sent": 1}
    assert len(reminder_mails()) == 1


def test_no_reminder_after_the_start_and_only_the_nearest_after_downtime(
    case_manager, client_record
):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    make_due(*appointment.reminders.all())  # the worker was down: both steps are overdue
    mail.outbox.clear()
    assert reminders_send_due() == {"skipped:superseded": 1, "sent": 1}
    assert appointment.reminders.get(step_minutes=60).sent_at is not None

    later = book_in(case_manager, client_record, datetime.timedelta(days=5))
    make_due(*later.reminders.all())
    Appointment.objects.filter(pk=later.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=5),
        ends_at=timezone.now() + datetime.timedelta(minutes=25),
    )
    mail.outbox.clear()
    outcome = reminders_send_due()
    assert outcome == {"skipped:started": 2}
    assert mail.outbox == []


def test_reminder_claimed_by_a_worker_that_died_is_not_sent_again(case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    reminder = appointment.reminders.get(step_minutes=1440)
    make_due(reminder)
    # A worker claimed it and was killed mid-send: we cannot know whether it went out.
    Reminder.objects.filter(pk=reminder.pk).update(claimed_at=timezone.now())
    mail.outbox.clear()
    assert reminders_send_due() == {}
    assert mail.outbox == []


def test_smtp_failure_releases_the_reminder_for_the_next_run(
    case_manager, client_record, monkeypatch
):
    from django.core.mail.backends.locmem import EmailBackend

    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    make_due(appointment.reminders.get(step_minutes=1440))
    real_send = EmailBackend.send_messages
    monkeypatch.setattr(
        EmailBackend, "send_messages", lambda self, m: (_ for _ in ()).throw(OSError("down"))
    )
    mail.outbox.clear()
    assert reminders_send_due() == {"failed": 1}
    monkeypatch.setattr(EmailBackend, "send_messages", real_send)
    assert reminders_send_due() == {"sent": 1}
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_each_reminder_exactly_once(case_manager):
    clients = [
        ClientFactory(case_manager=case_manager, email=f"k{i}@example.org") for i in range(8)
    ]
    day = timezone.localdate() + datetime.timedelta(days=3)
    for index, client in enumerate(clients):
        start = local_dt(day, 8 + index)
        services.appointment_book(
            actor=case_manager,
            client=client,
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=30),
            channel=Channel.PHONE,
        )
    make_due(*Reminder.objects.filter(step_minutes=1440))
    mail.outbox.clear()
    from django.db import connections

    results = []

    def worker():
        try:
            results.append(reminders_send_due())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.get("sent", 0) for r in results) == 8
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in clients)


# --- one-tap links ---------------------------------------------------------------------------


def link_for(appointment, action):
    return reverse(
        "appointments:link",
        kwargs={"token": links.reminder_link_token(appointment=appointment, action=action)},
    )


def test_confirm_link_shows_first_and_confirms_on_tap(client, case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    url = link_for(appointment, "confirm")
    page = client.get(url)
    assert page.status_code == 200
    assert AuditEntry.objects.filter(
        action="appointment.read", actor_id=client_record.user.pk, client_id=client_record.pk
    ).exists()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None  # GET (e.g. a mail scanner) changes nothing

    response = client.post(url, {"action": "confirm"})
    assert "confirmed the appointment" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None
    again = client.post(url, {"action": "confirm"})
    assert "already confirmed" in again.content.decode()


def test_tampered_link_changes_nothing(client, case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    token = links.reminder_link_token(appointment=appointment, action="cancel")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    url = reverse("appointments:link", kwargs={"token": forged})
    response = client.post(url, {"action": "cancel", "reason": "x"})
    assert "not valid" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_link_cannot_do_another_action_than_its_own(client, case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    response = client.post(link_for(appointment, "confirm"), {"action": "cancel", "reason": "x"})
    assert "cannot do that" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_expired_link_is_refused(client, case_manager, client_record, monkeypatch):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    url = link_for(appointment, "confirm")
    monkeypatch.setattr(links, "MAX_AGE", datetime.timedelta(seconds=-1))
    response = client.post(url, {"action": "confirm"})
    assert "expired" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None


def test_link_of_a_moved_appointment_no_longer_works(client, case_manager, client_record):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    url = link_for(appointment, "confirm")
    services.appointment_move(
        actor=case_manager,
        appointment=appointment,
        starts_at=appointment.starts_at + datetime.timedelta(hours=2),
        ends_at=appointment.ends_at + datetime.timedelta(hours=2),
    )
    response = client.post(url, {"action": "confirm"})
    assert "changed since" in response.content.decode()


def test_cancel_link_with_reason_classifies_and_cannot_be_reused(
    client, case_manager, client_record
):
    appointment = book_in(case_manager, client_record, datetime.timedelta(hours=3))
    url = link_for(appointment, "cancel")
    response = client.post(url, {"action": "cancel", "reason": ""})
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED

    client.post(url, {"action": "cancel", "reason": "Bus fällt aus"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_class == CancellationClass.CLIENT_LATE
    assert appointment.cancelled_by == client_record.user
    reused = client.post(url, {"action": "cancel", "reason": "nochmal"})
    assert "has been cancelled" in reused.content.decode()


def test_other_time_link_twice_tells_the_case_manager_once(
    client, case_manager, client_record, django_capture_on_commit_callbacks
):
    appointment = book_in(case_manager, client_record, datetime.timedelta(days=3))
    url = link_for(appointment, "other_time")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "other_time"})
    again = client.post(url, {"action": "other_time"})
    assert "already asked" in again.content.decode()
    assert [m.to for m in mail.outbox] == [["fm@jobcenter.example"]]


# --- SMS through a local fake gateway ---------------------------------------------------


def test_sms_reminder_goes_through_the_http_gateway(case_manager, settings):
    client = ClientFactory(
        case_manager=case_manager,
        email="",
        mobile_number="+4915112345678",
        user=client_user("sms@example.org"),
    )
    with LocalSmsGateway() as gateway:
        settings.SMS_GATEWAY_URL = gateway.url
        settings.SMS_GATEWAY_TOKEN = "geheim"
        appointment = book_in(case_manager, client, datetime.timedelta(days=3))
        assert set(appointment.reminders.values_list("channel", flat=True)) == {ReminderChannel.SMS}
        make_due(appointment.reminders.get(step_minutes=60))
        assert reminders_send_due() == {"sent": 1}
        assert reminders_send_due() == {}
    (request,) = gateway.requests
    assert request["auth"] == "Bearer geheim"
    assert request["body"]["to"] == "+4915112345678"
    text = request["body"]["text"]
    assert "/termine/link/" in text
    assert client.last_name not in text
    token = text.rsplit("/termine/link/", 1)[1].strip("/")
    resolved = links.reminder_link_resolve(token=token)
    assert set(resolved.actions) == {"confirm", "cancel", "other_time"}


def test_gateway_error_is_reported_and_the_sms_retried(case_manager, settings):
    client = ClientFactory(case_manager=case_manager, email="", mobile_number="+4915100000000")
    with LocalSmsGateway(status=503) as gateway:
        settings.SMS_GATEWAY_URL = gateway.url
        with pytest.raises(SmsError):
            HttpSmsGateway(url=gateway.url).send(to="+49151", text="x")
        appointment = book_in(case_manager, client, datetime.timedelta(days=3))
        make_due(appointment.reminders.get(step_minutes=60))
        assert reminders_send_due() == {"failed": 1}
        gateway.status = 200
        assert reminders_send_due() == {"sent": 1}


def test_unreachable_gateway_raises_sms_error():
    with pytest.raises(SmsError):
        HttpSmsGateway(url="http://127.0.0.1:9/", timeout=2).send(to="+49151", text="x")


def test_reminders_are_scheduled_for_a_proposal_once_picked(case_manager, client_record):
    day = timezone.localdate() + datetime.timedelta(days=4)
    proposal = services.appointment_propose(
        actor=case_manager,
        client=client_record,
        slots=[(local_dt(day, 10), local_dt(day, 10, 30))],
        channel=Channel.PHONE,
    )
    assert not proposal.reminders.exists()
    services.proposal_accept(
        actor=client_record.user,
        appointment=proposal,
        slot_id=proposal.proposed_slots.get().pk,
    )
    assert proposal.reminders.count() == 2
    assert reminders_schedule(appointment=proposal) == []  # idempotent
