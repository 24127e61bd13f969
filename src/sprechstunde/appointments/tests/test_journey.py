"""The appointment journey of issue 3 through the pages (test client, not a browser):
propose, pick, invitations, reminder link, move, short-notice cancellation, figures."""

import datetime
import email
import email.policy
import io
import re

import icalendar
import pytest
import vobject
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus, CancellationClass
from sprechstunde.appointments.models import Appointment, Reminder
from sprechstunde.appointments.reminders import reminders_send_due
from sprechstunde.appointments.selectors import appointment_figures

from .conftest import local_dt

pytestmark = pytest.mark.django_db


def calendar_of(message):
    """The text/calendar part of a sent mail, checked by both parsers."""
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    part = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    content = part.get_content()
    content = content if isinstance(content, str) else content.decode()
    vobject.readOne(io.StringIO(content))  # raises on invalid input
    method = part.get_param("method")
    (event,) = icalendar.Calendar.from_ical(content.encode()).walk("VEVENT")
    return method, event


def test_propose_pick_remind_move_and_cancel_at_short_notice(
    client, case_manager, team_lead, client_record, django_capture_on_commit_callbacks
):
    day = timezone.localdate() + datetime.timedelta(days=2)
    while day.weekday() > 4:
        day += datetime.timedelta(days=1)

    # 1. The case manager proposes slots.
    client.force_login(case_manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("appointments:propose", kwargs={"client_pk": client_record.pk}),
            {
                "channel": "phone",
                "duration": "30",
                "day_1": day.isoformat(),
                "time_1": "10:00",
                "day_2": day.isoformat(),
                "time_2": "15:00",
            },
        )
    appointment = Appointment.objects.get()
    assert [m.to for m in mail.outbox] == [["kundin@example.org"]]

    # 2. The client picks one on the phone.
    mail.outbox.clear()
    client.force_login(client_record.user)
    slot = appointment.proposed_slots.get(starts_at=local_dt(day, 15))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("appointments:portal_accept", args=[appointment.pk]), {"slot": slot.pk})

    # 3. Both invitation mails carry a valid ICS.
    assert sorted(m.to[0] for m in mail.outbox) == ["fm@jobcenter.example", "kundin@example.org"]
    for message in mail.outbox:
        method, event = calendar_of(message)
        assert (method, int(event["SEQUENCE"])) == ("REQUEST", 0)
        assert event.decoded("dtstart") == local_dt(day, 15)

    # 4. The reminder link confirms.
    reminder = Reminder.objects.filter(appointment=appointment).order_by("step_minutes").first()
    Reminder.objects.filter(pk=reminder.pk).update(due_at=timezone.now())
    mail.outbox.clear()
    reminders_send_due()
    (reminder_mail,) = mail.outbox
    links = re.findall(r"https?://[^/\s]+(/termine/link/\S+/)", reminder_mail.body)
    assert len(links) == 3  # confirm, cancel, another time
    client.logout()
    page = client.post(links[0], {"action": "confirm"})
    assert "confirmed" in page.content.decode()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None

    # 5. The case manager moves the appointment: a new ICS with SEQUENCE + 1.
    mail.outbox.clear()
    client.force_login(case_manager)
    soon = timezone.localtime() + datetime.timedelta(hours=3)
    soon = soon.replace(minute=0, second=0, microsecond=0)
    if soon.date() != (soon + datetime.timedelta(minutes=30)).date() or soon.hour < 1:
        soon = soon + datetime.timedelta(hours=5)  # keep the slot inside one day
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("appointments:move", args=[appointment.pk]),
            {
                "day": soon.date().isoformat(),
                "start_time": soon.strftime("%H:%M"),
                "duration": "30",
                "channel": "phone",
            },
        )
    assert response.status_code == 302, response.content.decode()
    for message in mail.outbox:
        method, event = calendar_of(message)
        assert (method, int(event["SEQUENCE"])) == ("REQUEST", 1)
        assert str(event["UID"]) == f"{appointment.uid}@sprechstunde"

    # 6. The client cancels at short notice; the figures count it.
    mail.outbox.clear()
    client.force_login(client_record.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("appointments:portal_cancel", args=[appointment.pk]), {"reason": "Krank"}
        )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_class == CancellationClass.CLIENT_LATE
    assert {calendar_of(m)[0] for m in mail.outbox} == {"CANCEL"}
    month = soon.date().replace(day=1)
    rows = appointment_figures(
        viewer=team_lead, start=month, end=month + datetime.timedelta(days=32)
    )
    assert sum(r.cancelled_client_late for r in rows) == 1
