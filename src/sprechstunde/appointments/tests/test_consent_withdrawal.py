"""Withdrawing the video consent reaches the calendar (issue 12, point 6): future video
appointments change to the office's channel with SEQUENCE + 1, both sides get the new
invitation, the calls of those appointments are closed, and every step is audited."""

import datetime

import icalendar
import pytest
from django.core import mail
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus, Channel, MailKind
from sprechstunde.appointments.factories import AppointmentFactory, OfficeHoursFactory
from sprechstunde.appointments.models import AppointmentMail, Reminder
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services as client_services
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.video_calls.models import Call

from .conftest import give_video_consent, local_dt, next_weekday


def _video(case_manager, client, starts_at, **fields):
    return AppointmentFactory(
        case_manager=case_manager,
        client=client,
        channel=Channel.VIDEO,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=30),
        **fields,
    )


def _event(message) -> tuple[str, icalendar.Event]:
    (ics,) = [content for content, mimetype in message.alternatives if "calendar" in mimetype]
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def _withdraw(client_record, actor, method, capture):
    mail.outbox.clear()
    with capture(execute=True):
        client_services.consent_withdraw(
            client=client_record, purpose=ConsentPurpose.VIDEO, actor=actor, method=method
        )


@pytest.fixture
def calendar(case_manager, client_record):
    """A client with video consent: a future video appointment with an opened call, a past
    (held) video appointment, a future phone appointment and a cancelled video one."""
    give_video_consent(client_record)
    day = next_weekday(2)
    future = _video(case_manager, client_record, local_dt(day, 10))
    call = Call.objects.create(appointment=future)
    past_start = timezone.now() - datetime.timedelta(days=2)
    past = _video(case_manager, client_record, past_start, status=AppointmentStatus.HELD)
    past_call = Call.objects.create(appointment=past)
    phone = AppointmentFactory(
        case_manager=case_manager, client=client_record, starts_at=local_dt(day, 14)
    )
    cancelled = _video(
        case_manager, client_record, local_dt(day, 15), status=AppointmentStatus.CANCELLED
    )
    return {
        "future": future,
        "call": call,
        "past": past,
        "past_call": past_call,
        "phone": phone,
        "cancelled": cancelled,
    }


def test_client_withdrawal_moves_future_video_appointments_to_phone_and_tells_both(
    case_manager, client_record, calendar, django_capture_on_commit_callbacks
):
    _withdraw(
        client_record,
        client_record.user,
        ConsentMethod.PORTAL,
        django_capture_on_commit_callbacks,
    )

    future = calendar["future"]
    future.refresh_from_db()
    assert future.channel == Channel.PHONE
    assert future.status == AppointmentStatus.BOOKED
    assert future.sequence == 1
    assert future.starts_at == local_dt(next_weekday(2), 10)  # the time stays

    # Both sides get the invitation again: METHOD REQUEST, same UID, SEQUENCE 1, by phone.
    assert sorted(m.to[0] for m in mail.outbox) == ["fm@jobcenter.example", "kundin@example.org"]
    for message in mail.outbox:
        method, event = _event(message)
        assert method == "REQUEST"
        assert str(event["UID"]).startswith(str(future.uid))
        assert int(event["SEQUENCE"]) == 1
        assert str(event["LOCATION"]).startswith("Phone")
        assert "/video" not in str(event["LOCATION"])
    (to_client,) = [m for m in mail.outbox if m.to == ["kundin@example.org"]]
    assert "no longer takes place by video" in to_client.body
    assert to_client.subject.endswith(": no longer by video")
    assert "consent" not in to_client.body  # says what changed, not why
    assert (
        AppointmentMail.objects.filter(
            appointment=future, kind=MailKind.CHANNEL_CHANGED, sequence=1, sent_at__isnull=False
        ).count()
        == 2
    )
    # New reminders for the new version (the old ones carried a join link).
    assert Reminder.objects.filter(appointment=future, sequence=1).exists()

    # Its call is closed: nobody can join it any more.
    calendar["call"].refresh_from_db()
    assert calendar["call"].closed_at is not None
    assert calendar["call"].closed_by == client_record.user

    # Past, non-video and cancelled appointments stay as they were.
    for key in ("past", "phone", "cancelled"):
        before = calendar[key]
        after = type(before).objects.get(pk=before.pk)
        assert (after.channel, after.sequence) == (before.channel, before.sequence), key
    calendar["past_call"].refresh_from_db()
    assert calendar["past_call"].closed_at is None

    trail = list(
        AuditEntry.objects.filter(client_id=client_record.pk)
        .order_by("id")
        .values_list("action", "target_id")
    )
    assert ("consent.withdraw", str(client_record.consents.get(purpose="video").pk)) in trail
    assert ("appointment.channel_change", str(future.pk)) in trail
    assert ("video_call.void", str(calendar["call"].pk)) in trail
    changed = [target for action, target in trail if action == "appointment.channel_change"]
    assert changed == [str(future.pk)]


def test_client_mail_is_in_the_clients_language(
    case_manager, client_record, calendar, django_capture_on_commit_callbacks
):
    client_record.preferred_language = "de"
    client_record.save(update_fields=["preferred_language"])
    _withdraw(
        client_record,
        client_record.user,
        ConsentMethod.PORTAL,
        django_capture_on_commit_callbacks,
    )
    (to_client,) = [m for m in mail.outbox if m.to == ["kundin@example.org"]]
    assert "Wann: " in to_client.body
    _method, event = _event(to_client)
    assert str(event["LOCATION"]).startswith("Telefon")


def test_paper_withdrawal_moves_to_on_site_at_the_office_hours_address(
    settings, case_manager, client_record, calendar, django_capture_on_commit_callbacks
):
    settings.APPOINTMENT_CHANNEL_WITHOUT_VIDEO = "on_site"
    hours = OfficeHoursFactory(case_manager=case_manager)
    _withdraw(client_record, case_manager, ConsentMethod.PAPER, django_capture_on_commit_callbacks)

    future = calendar["future"]
    future.refresh_from_db()
    assert future.channel == Channel.ON_SITE
    assert future.location == hours.on_site_address
    assert future.sequence == 1
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        _method, event = _event(message)
        assert int(event["SEQUENCE"]) == 1
        assert "Marktplatz 1" in str(event["LOCATION"])
    entry = AuditEntry.objects.get(action="appointment.channel_change")
    assert entry.actor_id == case_manager.pk
    calendar["call"].refresh_from_db()
    assert calendar["call"].closed_at is not None


def test_on_site_without_any_known_address_falls_back_to_phone(
    settings, case_manager, client_record, calendar, django_capture_on_commit_callbacks
):
    settings.APPOINTMENT_CHANNEL_WITHOUT_VIDEO = "on_site"
    settings.JOBCENTER_ADDRESS = ""
    _withdraw(client_record, case_manager, ConsentMethod.PAPER, django_capture_on_commit_callbacks)
    calendar["future"].refresh_from_db()
    assert calendar["future"].channel == Channel.PHONE


def test_open_video_proposal_changes_channel_without_a_new_invitation(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    give_video_consent(client_record)
    proposal = AppointmentFactory(
        case_manager=case_manager,
        client=client_record,
        channel=Channel.VIDEO,
        status=AppointmentStatus.PROPOSED,
        starts_at=None,
        ends_at=None,
    )
    _withdraw(
        client_record,
        client_record.user,
        ConsentMethod.PORTAL,
        django_capture_on_commit_callbacks,
    )
    proposal.refresh_from_db()
    assert proposal.channel == Channel.PHONE
    assert proposal.sequence == 0
    assert mail.outbox == []


def test_withdrawing_another_consent_leaves_video_appointments_alone(
    case_manager, client_record, calendar, django_capture_on_commit_callbacks
):
    from sprechstunde.clients.models import Consent

    text = Consent.objects.get(client=client_record, purpose="video").text
    Consent.objects.create(
        client=client_record,
        purpose=ConsentPurpose.ELECTRONIC_DELIVERY,
        text=text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_services.consent_withdraw(
            client=client_record,
            purpose=ConsentPurpose.ELECTRONIC_DELIVERY,
            actor=client_record.user,
        )
    calendar["future"].refresh_from_db()
    assert calendar["future"].channel == Channel.VIDEO
    assert calendar["future"].sequence == 0
    assert mail.outbox == []
    calendar["call"].refresh_from_db()
    assert calendar["call"].closed_at is None
