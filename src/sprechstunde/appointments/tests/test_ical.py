"""Every generated ICS is read back by two independent parsers (icalendar and vobject)."""

import datetime
import email
import email.policy
import io

import icalendar
import pytest
import vobject
from django.core import mail
from django.utils import timezone

from sprechstunde.appointments import ical, services
from sprechstunde.appointments.choices import Channel, MailRecipient
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.appointments.models import AppointmentMail

from .conftest import give_video_consent, local_dt

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def parse_both(data: bytes):
    """Parse with icalendar and vobject; return the VEVENT from each."""
    if isinstance(data, str):
        data = data.encode()
    cal_a = icalendar.Calendar.from_ical(data)
    events_a = list(cal_a.walk("VEVENT"))
    cal_b = vobject.readOne(io.StringIO(data.decode("utf-8")))
    events_b = list(cal_b.vevent_list)
    assert len(events_a) == len(events_b) == 1
    return cal_a, events_a[0], cal_b, events_b[0]


def future_dst_days():
    """The next last Sundays of March and October (clock changes in Germany)."""
    year = timezone.localdate().year + 1

    def last_sunday(month):
        day = datetime.date(year, month, 31)
        return day - datetime.timedelta(days=(day.weekday() - 6) % 7)

    return last_sunday(3), last_sunday(10)


@pytest.mark.parametrize(
    ("which", "hour", "expected_utc_hour"),
    [
        ("march", 1, 0),  # before the switch: CET, UTC+1
        ("march", 10, 8),  # after the switch: CEST, UTC+2
        ("october", 1, 23),  # before the switch back: CEST, UTC+2 (previous day in UTC)
        ("october", 10, 9),  # after the switch back: CET, UTC+1
    ],
)
def test_times_survive_a_dst_change_in_both_parsers(case_manager, which, hour, expected_utc_hour):
    march, october = future_dst_days()
    day = march if which == "march" else october
    start = local_dt(day, hour)
    appointment = AppointmentFactory(
        case_manager=case_manager, starts_at=start, ends_at=start + datetime.timedelta(minutes=45)
    )
    data = ical.itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CASE_MANAGER)
    _, event_a, _, event_b = parse_both(data)

    start_a = event_a.decoded("dtstart")
    start_b = event_b.dtstart.value
    # vobject resolves the time through our own VTIMEZONE (RRULEs), icalendar by TZID name.
    assert start_a.astimezone(UTC) == start_b.astimezone(UTC) == start.astimezone(UTC)
    assert start_a.astimezone(UTC).hour == expected_utc_hour
    end_b = event_b.dtend.value
    assert end_b - start_b == datetime.timedelta(minutes=45)
    assert "TZID=Europe/Berlin" in data.decode()


def test_vtimezone_alone_gives_the_right_offsets_around_the_clock_change():
    data = ical._calendar(None).to_ical().decode()
    cal = vobject.readOne(io.StringIO(data))
    tz = cal.vtimezone.gettzinfo()
    march, october = future_dst_days()
    before = datetime.datetime.combine(march, datetime.time(1, 30), tzinfo=tz)
    after = datetime.datetime.combine(march, datetime.time(3, 30), tzinfo=tz)
    assert before.utcoffset() == datetime.timedelta(hours=1)
    assert after.utcoffset() == datetime.timedelta(hours=2)
    autumn = datetime.datetime.combine(october, datetime.time(12), tzinfo=tz)
    assert autumn.utcoffset() == datetime.timedelta(hours=1)


def test_request_has_uid_sequence_organizer_attendee_vtimezone_alarm(case_manager, client_record):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record, sequence=2)
    data = ical.itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CLIENT)
    cal_a, event_a, cal_b, event_b = parse_both(data)

    assert str(cal_a["METHOD"]) == "REQUEST"
    assert cal_b.method.value == "REQUEST"
    assert str(event_a["UID"]) == event_b.uid.value == f"{appointment.uid}@sprechstunde"
    assert int(event_a["SEQUENCE"]) == int(event_b.sequence.value) == 2
    assert str(event_a["ORGANIZER"]) == "mailto:fm@jobcenter.example"
    assert event_b.attendee.value == "mailto:kundin@example.org"
    assert event_a.decoded("dtstamp").tzinfo is not None
    assert [c.name for c in cal_a.walk("VTIMEZONE")] == ["VTIMEZONE"]
    assert str(cal_a.walk("VTIMEZONE")[0]["TZID"]) == "Europe/Berlin"
    alarms = event_a.walk("VALARM")
    assert len(alarms) == 1
    assert alarms[0].decoded("trigger") == -datetime.timedelta(minutes=30)
    assert event_b.valarm.trigger.value == -datetime.timedelta(minutes=30)


def test_cancel_has_method_cancel_same_uid_and_no_alarm(case_manager, client_record):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    request = ical.itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CLIENT)
    services.appointment_cancel(actor=case_manager, appointment=appointment, reason="Krank")
    appointment.refresh_from_db()
    cancel = ical.itip_calendar(appointment, method="CANCEL", audience=MailRecipient.CLIENT)
    _, req_event, _, _ = parse_both(request)
    cal_a, event_a, cal_b, event_b = parse_both(cancel)

    assert str(cal_a["METHOD"]) == cal_b.method.value == "CANCEL"
    assert str(event_a["UID"]) == str(req_event["UID"])
    assert int(event_a["SEQUENCE"]) == int(req_event["SEQUENCE"]) + 1
    assert str(event_a["STATUS"]) == event_b.status.value == "CANCELLED"
    assert not event_a.walk("VALARM")


def test_location_is_join_link_for_video_address_on_site_note_for_phone(
    case_manager, client_record, settings
):
    settings.SITE_URL = "https://termine.jobcenter.example"
    give_video_consent(client_record)
    video = AppointmentFactory(case_manager=case_manager, client=client_record, channel="video")
    _, event, _, event_b = parse_both(
        ical.itip_calendar(video, method="REQUEST", audience=MailRecipient.CLIENT)
    )
    # Both sides' LOCATION and URL lead to the call page (it checks who may join); the
    # description keeps the link to each side's appointment page.
    call = f"https://termine.jobcenter.example/video/termin/{video.pk}/"
    assert str(event["LOCATION"]) == str(event["URL"]) == call
    assert f"https://termine.jobcenter.example/termine/meine/{video.pk}/" in str(
        event["DESCRIPTION"]
    )
    _, staff_event, _, _ = parse_both(
        ical.itip_calendar(video, method="REQUEST", audience=MailRecipient.CASE_MANAGER)
    )
    assert str(staff_event["LOCATION"]) == str(staff_event["URL"]) == call
    assert f"https://termine.jobcenter.example/termine/{video.pk}/" in str(
        staff_event["DESCRIPTION"]
    )

    day = video.starts_at + datetime.timedelta(days=1)
    on_site = AppointmentFactory(
        case_manager=case_manager,
        client=client_record,
        channel=Channel.ON_SITE,
        location="Jobcenter Ravensburg\nMarktplatz 1\n88212 Ravensburg",
        starts_at=day,
        ends_at=day + datetime.timedelta(minutes=30),
    )
    _, event, _, event_b = parse_both(
        ical.itip_calendar(on_site, method="REQUEST", audience=MailRecipient.CLIENT)
    )
    assert event_b.location.value == "Jobcenter Ravensburg, Marktplatz 1, 88212 Ravensburg"

    day = day + datetime.timedelta(days=1)
    phone = AppointmentFactory(
        case_manager=case_manager,
        client=client_record,
        channel=Channel.PHONE,
        location="Wir rufen Sie an",
        starts_at=day,
        ends_at=day + datetime.timedelta(minutes=30),
    )
    _, event, _, _ = parse_both(
        ical.itip_calendar(phone, method="REQUEST", audience=MailRecipient.CLIENT)
    )
    assert "Wir rufen Sie an" in str(event["LOCATION"])


def test_staff_copy_does_not_name_the_client(case_manager, client_record):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    data = ical.itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CASE_MANAGER)
    text = data.decode()
    assert client_record.last_name not in text
    assert client_record.email not in text


# --- the iTIP e-mails (RFC 6047) -----------------------------------------------------------------


def sent_messages():
    return [
        email.message_from_bytes(m.message().as_bytes(), policy=email.policy.default)
        for m in mail.outbox
    ]


def calendar_parts(message):
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    attachments = [p for p in message.walk() if p.get_filename() in ("invite.ics", "cancel.ics")]
    return parts, attachments


def test_booking_mails_carry_an_itip_request_part_and_an_ics_attachment(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    start = local_dt(timezone.localdate() + datetime.timedelta(days=9), 11)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book(
            actor=case_manager,
            client=client_record,
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=30),
            channel=Channel.ON_SITE,
            location="Marktplatz 1\n88212 Ravensburg",
        )
    messages = sent_messages()
    assert len(messages) == 2
    for message in messages:
        parts, attachments = calendar_parts(message)
        assert len(parts) == 1 and len(attachments) == 1
        assert parts[0].get_param("method") == "REQUEST"
        ics = parts[0].get_content()
        if isinstance(ics, bytes):
            ics = ics.decode()
        _, event_a, _, _ = parse_both(ics.encode())
        assert str(event_a["UID"]) == f"{appointment.uid}@sprechstunde"
        attached = attachments[0].get_content()
        attached = attached if isinstance(attached, bytes) else attached.encode()
        assert icalendar.Calendar.from_ical(attached)["METHOD"] == "REQUEST"
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "openstreetmap.org/search?query=Marktplatz+1+88212+Ravensburg" in body
    staff = next(m for m in messages if m["To"] == "fm@jobcenter.example")
    staff_text = staff.as_string()
    assert client_record.last_name not in staff_text
    assert client_record.first_name not in staff_text


def test_move_sends_a_new_request_with_sequence_plus_one(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_move(
            actor=case_manager,
            appointment=appointment,
            starts_at=appointment.starts_at + datetime.timedelta(hours=2),
            ends_at=appointment.ends_at + datetime.timedelta(hours=2),
        )
    for message in sent_messages():
        parts, _ = calendar_parts(message)
        ics = parts[0].get_content()
        ics = ics if isinstance(ics, str) else ics.decode()
        _, event_a, _, event_b = parse_both(ics.encode())
        assert int(event_a["SEQUENCE"]) == 1
        assert event_b.uid.value == f"{appointment.uid}@sprechstunde"
        assert event_b.dtstart.value.astimezone(UTC) == (
            appointment.starts_at + datetime.timedelta(hours=2)
        ).astimezone(UTC)


def test_each_side_gets_the_mail_in_their_own_language(
    case_manager, client_record, monkeypatch, django_capture_on_commit_callbacks
):
    from django.utils import translation

    from sprechstunde.appointments import mails

    client_record.preferred_language = "de"
    client_record.save()
    case_manager.preferred_language = "en"
    case_manager.save()
    seen = {}
    real_subject = mails._subject

    def spy(mail_row):
        seen[mail_row.recipient] = translation.get_language()
        return real_subject(mail_row)

    monkeypatch.setattr(mails, "_subject", spy)
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(actor=client_record.user, appointment=appointment, reason="x")
    assert seen == {MailRecipient.CLIENT: "de", MailRecipient.CASE_MANAGER: "en"}


def test_smtp_outage_keeps_the_mail_for_a_retry(
    case_manager, client_record, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.mail.backends.locmem import EmailBackend

    from sprechstunde.appointments.tasks import appointment_mail_retry_pending

    real_send = EmailBackend.send_messages

    def broken(self, messages):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr(EmailBackend, "send_messages", broken)
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(actor=case_manager, appointment=appointment, reason="x")
    assert mail.outbox == []
    pending = AppointmentMail.objects.filter(sent_at__isnull=True)
    assert pending.count() == 2
    assert all(m.attempts == 1 and m.last_failed_at for m in pending)

    monkeypatch.setattr(EmailBackend, "send_messages", real_send)
    result = appointment_mail_retry_pending.enqueue()
    assert result.return_value == 2
    assert len(mail.outbox) == 2
    assert not AppointmentMail.objects.filter(sent_at__isnull=True).exists()
    # A further sweep finds nothing: no mail goes out twice.
    assert appointment_mail_retry_pending.enqueue().return_value == 0
    assert len(mail.outbox) == 2
