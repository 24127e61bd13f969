"""The .ics download of one appointment, in the portal and on the staff pages: the same event
as the invitation mail (UID, SEQUENCE), the call page for video, 404 (audited) for others."""

import datetime

import icalendar
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments import services
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.audit.models import AuditEntry

from .conftest import give_video_consent, local_dt

pytestmark = pytest.mark.django_db

SITE = "https://termine.jobcenter.example"


def _event(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".ics" in response["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return events[0]


def _invitation_event(to):
    """The VEVENT of the newest invite.ics attachment mailed to `to`."""
    for message in reversed(mail.outbox):
        if to in message.to:
            for filename, content, _mimetype in message.attachments:
                if filename == "invite.ics":
                    return next(iter(icalendar.Calendar.from_ical(content).walk("VEVENT")))
    raise AssertionError(f"no invitation to {to}")


@pytest.fixture
def moved_video_appointment(
    case_manager, client_record, settings, django_capture_on_commit_callbacks
):
    """A video appointment booked and then moved once, so its SEQUENCE is not the first."""
    settings.SITE_URL = SITE
    give_video_consent(client_record)
    start = local_dt(timezone.localdate() + datetime.timedelta(days=9), 11)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book(
            actor=case_manager,
            client=client_record,
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=30),
            channel=Channel.VIDEO,
        )
    later = start + datetime.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_move(
            actor=case_manager,
            appointment=appointment,
            starts_at=later,
            ends_at=later + datetime.timedelta(minutes=30),
            channel=Channel.VIDEO,
            location="",
        )
    appointment.refresh_from_db()
    assert appointment.sequence > 0
    return appointment


def test_client_downloads_the_invitations_event_with_the_call_page_as_location(
    client, client_record, moved_video_appointment
):
    appointment = moved_video_appointment
    client.force_login(client_record.user)

    event = _event(client.get(reverse("appointments:portal_ics", kwargs={"pk": appointment.pk})))

    invitation = _invitation_event(client_record.email)
    assert str(event["UID"]) == str(invitation["UID"])
    assert int(event["SEQUENCE"]) == int(invitation["SEQUENCE"]) == appointment.sequence
    assert event["DTSTART"].dt == invitation["DTSTART"].dt == appointment.starts_at
    call = f"{SITE}/video/termin/{appointment.pk}/"
    assert str(event["LOCATION"]) == str(event["URL"]) == call
    assert str(invitation["LOCATION"]) == call
    # The client's own copy names the client; the file is no iTIP message to answer.
    assert client_record.email in str(event["ATTENDEE"])


def test_staff_download_is_the_staff_copy_of_the_invitation(
    client, case_manager, client_record, moved_video_appointment
):
    appointment = moved_video_appointment
    client.force_login(case_manager)

    response = client.get(reverse("appointments:ics", kwargs={"pk": appointment.pk}))
    event = _event(response)

    invitation = _invitation_event(case_manager.email)
    assert str(event["UID"]) == str(invitation["UID"])
    assert int(event["SEQUENCE"]) == int(invitation["SEQUENCE"]) == appointment.sequence
    assert str(event["LOCATION"]) == str(event["URL"]) == f"{SITE}/video/termin/{appointment.pk}/"
    assert client_record.last_name not in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"


def test_on_site_download_has_the_address_and_links_the_appointment_page(
    client, case_manager, client_record, settings
):
    settings.SITE_URL = SITE
    appointment = AppointmentFactory(
        case_manager=case_manager,
        client=client_record,
        channel=Channel.ON_SITE,
        location="Marktplatz 1\n88212 Ravensburg",
    )
    client.force_login(client_record.user)

    event = _event(client.get(reverse("appointments:portal_ics", kwargs={"pk": appointment.pk})))

    assert str(event["LOCATION"]) == "Marktplatz 1, 88212 Ravensburg"
    assert str(event["URL"]) == f"{SITE}/termine/meine/{appointment.pk}/"


def test_the_detail_pages_link_their_download(client, case_manager, client_record):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)

    client.force_login(client_record.user)
    portal = client.get(reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}))
    assert reverse("appointments:portal_ics", kwargs={"pk": appointment.pk}) in portal.text

    client.force_login(case_manager)
    staff = client.get(reverse("appointments:detail", kwargs={"pk": appointment.pk}))
    assert reverse("appointments:ics", kwargs={"pk": appointment.pk}) in staff.text


@pytest.mark.parametrize(
    ("route", "viewer"),
    [
        ("appointments:portal_ics", "other_client"),
        ("appointments:ics", "other_case_manager"),
        ("appointments:ics", "colleague"),
    ],
)
def test_someone_elses_appointment_is_404_and_audited(
    client, case_manager, client_record, foreign_client, other_case_manager, route, viewer
):
    from sprechstunde.accounts.factories import CaseManagerFactory

    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    user = {
        "other_client": foreign_client.user,
        "other_case_manager": other_case_manager,
        "colleague": CaseManagerFactory(team=case_manager.team),
    }[viewer]
    client.force_login(user)

    response = client.get(reverse(route, kwargs={"pk": appointment.pk}))

    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.content
    assert AuditEntry.objects.filter(
        action="appointment.access_denied", actor_id=user.pk, target_id=str(appointment.pk)
    ).exists()


def test_a_download_is_an_audited_read(client, case_manager, client_record):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    client.force_login(client_record.user)

    client.get(reverse("appointments:portal_ics", kwargs={"pk": appointment.pk}))

    assert AuditEntry.objects.filter(
        action="appointment.read", actor_id=client_record.user.pk, target_id=str(appointment.pk)
    ).exists()
