"""Pages through the test client: access (404 outside the rules), one-tap actions, the feed."""

import datetime
import io

import icalendar
import pytest
import vobject
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory
from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.appointments import services
from sprechstunde.appointments.choices import AppointmentStatus, CancellationClass, Channel
from sprechstunde.appointments.factories import AppointmentFactory, OfficeHoursFactory
from sprechstunde.appointments.models import Appointment, CalendarFeedToken
from sprechstunde.clients.factories import ClientFactory

from .conftest import local_dt, next_weekday

pytestmark = pytest.mark.django_db


def started_today(case_manager, client, minutes_ago=20, **kwargs):
    now = timezone.now()
    start = now - datetime.timedelta(minutes=minutes_ago)
    today = timezone.localdate()
    if timezone.localtime(start).date() != today:
        # Near midnight: keep it on today's list and on the same side of now.
        if minutes_ago >= 0:
            start = now
        else:
            start = local_dt(today + datetime.timedelta(days=1), 0) - datetime.timedelta(seconds=1)
    return AppointmentFactory(
        case_manager=case_manager,
        client=client,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        **kwargs,
    )


@pytest.fixture
def foreign_appointment(other_case_manager, foreign_client):
    return AppointmentFactory(case_manager=other_case_manager, client=foreign_client)


# --- access: 404 outside the rules -------------------------------------------------------------

STAFF_OBJECT_ROUTES = [
    ("get", "appointments:detail"),
    ("get", "appointments:move"),
    ("post", "appointments:move"),
    ("get", "appointments:cancel"),
    ("post", "appointments:cancel"),
    ("post", "appointments:attendance"),
]
PORTAL_OBJECT_ROUTES = [
    ("get", "appointments:portal_detail"),
    ("post", "appointments:portal_accept"),
    ("post", "appointments:portal_confirm"),
    ("post", "appointments:portal_other_time"),
    ("post", "appointments:portal_cancel"),
]


@pytest.mark.parametrize(("method", "name"), STAFF_OBJECT_ROUTES + PORTAL_OBJECT_ROUTES)
def test_another_case_managers_appointment_answers_404(
    client, case_manager, foreign_appointment, method, name
):
    client.force_login(case_manager)
    url = reverse(name, kwargs={"pk": foreign_appointment.pk})
    response = getattr(client, method)(url, {"reason": "x", "status": "held", "slot": 1})
    assert response.status_code == 404
    foreign_appointment.refresh_from_db()
    assert foreign_appointment.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(("method", "name"), STAFF_OBJECT_ROUTES + PORTAL_OBJECT_ROUTES)
def test_another_clients_appointment_answers_404(
    client, client_record, foreign_appointment, method, name
):
    client.force_login(client_record.user)
    url = reverse(name, kwargs={"pk": foreign_appointment.pk})
    response = getattr(client, method)(url, {"reason": "x", "status": "held", "slot": 1})
    assert response.status_code == 404
    foreign_appointment.refresh_from_db()
    assert foreign_appointment.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("role", ["admin_user", "dpo"])
@pytest.mark.parametrize(("method", "name"), STAFF_OBJECT_ROUTES + PORTAL_OBJECT_ROUTES)
def test_admin_and_dpo_see_no_appointments(
    request, client, foreign_appointment, role, method, name
):
    client.force_login(request.getfixturevalue(role))
    response = getattr(client, method)(reverse(name, kwargs={"pk": foreign_appointment.pk}))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["appointments:book", "appointments:propose"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_booking_for_another_case_managers_client_answers_404(
    client, case_manager, foreign_client, name, method
):
    client.force_login(case_manager)
    response = getattr(client, method)(reverse(name, kwargs={"client_pk": foreign_client.pk}))
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_team_lead_sees_team_appointments_but_cannot_change_them(
    client, case_manager, team_lead, client_record
):
    appointment = started_today(case_manager, client_record)
    client.force_login(team_lead)
    today = client.get(reverse("appointments:today"))
    assert today.status_code == 200
    assert client_record.last_name in today.content.decode()
    assert reverse("appointments:attendance", args=[appointment.pk]) not in today.content.decode()
    assert client.get(reverse("appointments:detail", args=[appointment.pk])).status_code == 200
    response = client.post(
        reverse("appointments:attendance", args=[appointment.pk]), {"status": "held"}
    )
    assert response.status_code == 404


def test_team_lead_of_another_team_sees_nothing(client, other_case_manager, foreign_client):
    from sprechstunde.accounts.factories import TeamFactory, TeamLeadFactory

    appointment = started_today(other_case_manager, foreign_client)
    lead = TeamLeadFactory(team=TeamFactory(name="Team West"))
    client.force_login(lead)
    assert client.get(reverse("appointments:detail", args=[appointment.pk])).status_code == 404
    assert (
        foreign_client.last_name not in client.get(reverse("appointments:today")).content.decode()
    )


def test_substitute_sees_absent_colleagues_appointments(
    client, case_manager, other_case_manager, foreign_client
):
    appointment = started_today(other_case_manager, foreign_client)
    today = timezone.localdate()
    SubstitutionFactory(
        absent=other_case_manager, substitute=case_manager, starts_on=today, ends_on=today
    )
    client.force_login(case_manager)
    page = client.get(reverse("appointments:today")).content.decode()
    assert foreign_client.last_name in page
    response = client.post(
        reverse("appointments:attendance", args=[appointment.pk]),
        {"status": "no_show", "next": reverse("appointments:today")},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


def test_anonymous_is_sent_to_login(client, foreign_appointment):
    response = client.get(reverse("appointments:detail", args=[foreign_appointment.pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


# --- staff pages ---------------------------------------------------------------------------------


def test_today_list_marks_held_in_one_tap(client, case_manager, client_record):
    appointment = started_today(case_manager, client_record)
    later = started_today(case_manager, ClientFactory(case_manager=case_manager), minutes_ago=-120)
    client.force_login(case_manager)
    page = client.get(reverse("appointments:today")).content.decode()
    attendance_url = reverse("appointments:attendance", args=[appointment.pk])
    assert attendance_url in page
    # Not yet begun: no attendance buttons.
    assert reverse("appointments:attendance", args=[later.pk]) not in page

    response = client.post(
        attendance_url, {"status": "held", "next": reverse("appointments:today")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("appointments:today")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.HELD


def test_today_list_queries_do_not_grow_with_the_number_of_appointments(
    client, case_manager, client_record
):
    client.force_login(case_manager)

    def data_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("appointments:today")).status_code == 200
        return [
            q["sql"]
            for q in ctx.captured_queries
            if not any(
                part in q["sql"]
                for part in (
                    "audit_auditentry",
                    "pg_advisory_xact_lock",
                    "SAVEPOINT",
                    "usersession",
                )
            )
        ]

    started_today(case_manager, client_record, minutes_ago=60)
    data_queries()  # warm up: session tracking writes on the first request only
    one = len(data_queries())
    for minutes in (30, 10):
        started_today(case_manager, ClientFactory(case_manager=case_manager), minutes_ago=minutes)
    queries = data_queries()
    assert len(queries) == one, "\n".join(q[:160] for q in queries)


def test_day_and_week_views_show_own_appointments(client, case_manager, client_record):
    day = next_weekday(2)
    AppointmentFactory(
        case_manager=case_manager,
        client=client_record,
        starts_at=local_dt(day, 9),
        ends_at=local_dt(day, 9, 30),
    )
    client.force_login(case_manager)
    day_page = client.get(reverse("appointments:day"), {"datum": day.isoformat()})
    assert client_record.last_name in day_page.content.decode()
    assert "09:00" in day_page.content.decode()
    week_page = client.get(reverse("appointments:week"), {"datum": day.isoformat()})
    assert client_record.last_name in week_page.content.decode()
    other_day = client.get(reverse("appointments:day"), {"datum": "2020-01-01"})
    assert client_record.last_name not in other_day.content.decode()
    assert client.get(reverse("appointments:day"), {"datum": "kaputt"}).status_code == 200


def test_book_view_books_and_shows_errors_in_the_form(client, case_manager, client_record):
    client.force_login(case_manager)
    url = reverse("appointments:book", kwargs={"client_pk": client_record.pk})
    assert client.get(url).status_code == 200
    day = next_weekday(2)
    data = {"day": day.isoformat(), "start_time": "10:00", "duration": "30", "channel": "phone"}
    response = client.post(url, data)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.starts_at == local_dt(day, 10)

    response = client.post(url, {**data, "start_time": "10:15"})
    assert response.status_code == 200
    assert "already taken" in response.content.decode()
    response = client.post(url, {**data, "day": "2020-01-01"})
    assert "in the past" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_book_view_refuses_a_time_the_clock_change_skips(client, case_manager, client_record):
    year = timezone.localdate().year + 1
    last_sunday_march = datetime.date(year, 3, 31)
    last_sunday_march -= datetime.timedelta(days=(last_sunday_march.weekday() - 6) % 7)
    client.force_login(case_manager)
    response = client.post(
        reverse("appointments:book", kwargs={"client_pk": client_record.pk}),
        {
            "day": last_sunday_march.isoformat(),
            "start_time": "02:30",
            "duration": "30",
            "channel": "phone",
        },
    )
    assert response.status_code == 200
    assert "clocks change" in response.content.decode()
    assert not Appointment.objects.exists()


def test_propose_view_and_client_picks_a_slot_on_the_phone(client, case_manager, client_record):
    client.force_login(case_manager)
    day = next_weekday(3)
    response = client.post(
        reverse("appointments:propose", kwargs={"client_pk": client_record.pk}),
        {
            "channel": "on_site",
            "location": "Marktplatz 1\n88212 Ravensburg",
            "duration": "45",
            "day_1": day.isoformat(),
            "time_1": "09:00",
            "day_2": day.isoformat(),
            "time_2": "13:00",
        },
    )
    assert response.status_code == 302
    proposal = Appointment.objects.get()
    assert proposal.proposed_slots.count() == 2

    client.force_login(client_record.user)
    listing = client.get(reverse("appointments:portal_list")).content.decode()
    second = proposal.proposed_slots.all()[1]
    assert f'value="{second.pk}"' in listing
    response = client.post(
        reverse("appointments:portal_accept", args=[proposal.pk]), {"slot": second.pk}
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == AppointmentStatus.BOOKED
    assert proposal.starts_at == local_dt(day, 13)
    detail = client.get(reverse("appointments:portal_detail", args=[proposal.pk])).content.decode()
    assert "Marktplatz 1" in detail
    assert "https://www.openstreetmap.org/search?query=Marktplatz+1+88212+Ravensburg" in detail
    assert "<iframe" not in detail


def test_client_confirms_asks_for_other_time_and_cancels_at_short_notice(
    client, case_manager, client_record
):
    start = timezone.now() + datetime.timedelta(hours=5)
    appointment = AppointmentFactory(
        case_manager=case_manager,
        client=client_record,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
    )
    client.force_login(client_record.user)
    client.post(reverse("appointments:portal_confirm", args=[appointment.pk]))
    client.post(reverse("appointments:portal_other_time", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None
    assert appointment.other_time_requested_at is not None

    response = client.post(reverse("appointments:portal_cancel", args=[appointment.pk]), {})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED  # no reason, nothing changed

    client.post(reverse("appointments:portal_cancel", args=[appointment.pk]), {"reason": "Krank"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_class == CancellationClass.CLIENT_LATE


def test_client_books_from_office_hours_in_the_portal(client, case_manager, client_record):
    OfficeHoursFactory(case_manager=case_manager, weekday=1)
    client.force_login(client_record.user)
    tuesday = next_weekday(1, weeks_ahead=1)
    start = local_dt(tuesday, 9, 30)
    day_page = client.get(reverse("appointments:portal_book"), {"day": tuesday.isoformat()})
    assert "starts_at=" + start.strftime("%Y-%m-%dT%H%%3A%M") in day_page.content.decode()
    hours = case_manager.office_hours.get()
    response = client.post(
        reverse("appointments:portal_book_confirm"),
        {
            "office_hours": hours.pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "channel": "on_site",
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.starts_at == start
    assert appointment.channel == Channel.ON_SITE
    day_page = client.get(reverse("appointments:portal_book"), {"day": tuesday.isoformat()})
    assert start.strftime("%Y-%m-%dT%H%%3A%M") not in day_page.content.decode()


def test_client_cannot_book_from_another_case_managers_office_hours(client, client_record):
    hours = OfficeHoursFactory(case_manager=CaseManagerFactory(), weekday=1)
    client.force_login(client_record.user)
    response = client.post(
        reverse("appointments:portal_book_confirm"),
        {
            "office_hours": hours.pk,
            "starts_at": local_dt(next_weekday(1), 9).strftime("%Y-%m-%dT%H:%M"),
            "channel": "phone",
        },
    )
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_staff_cannot_open_portal_pages_and_clients_cannot_open_staff_pages(
    client, case_manager, client_record
):
    client.force_login(case_manager)
    assert is_other_role_response(client.get(reverse("appointments:portal_list")))
    client.force_login(client_record.user)
    assert is_other_role_response(client.get(reverse("appointments:today")))
    assert is_other_role_response(client.get(reverse("appointments:office_hours")))


def test_office_hours_and_absence_pages(client, case_manager, client_record):
    client.force_login(case_manager)
    url = reverse("appointments:office_hours")
    data = {
        "weekday": "1",
        "start_time": "09:00",
        "end_time": "12:00",
        "slot_minutes": "30",
        "channels": ["phone", "on_site"],
        "on_site_address": "Marktplatz 1",
        "is_client_bookable": "on",
    }
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "start_time": "11:00", "end_time": "13:00"})
    assert "overlap" in response.content.decode()
    assert case_manager.office_hours.count() == 1

    absence_url = reverse("appointments:absences")
    day = next_weekday(2)
    client.post(absence_url, {"starts_on": day.isoformat(), "ends_on": day.isoformat()})
    response = client.post(
        reverse("appointments:book", kwargs={"client_pk": client_record.pk}),
        {"day": day.isoformat(), "start_time": "10:00", "duration": "30", "channel": "phone"},
    )
    assert "absent" in response.content.decode()


# --- the private ICS feed ---------------------------------------------------------------------


def test_feed_token_is_hashed_revocable_and_regenerable(client, case_manager, client_record):
    # A name no generated staff name can contain: the feed names the case manager (ORGANIZER).
    client_record.last_name = "Quenzelmeyer"
    client_record.save(update_fields=["last_name"])
    own = AppointmentFactory(case_manager=case_manager, client=client_record)
    AppointmentFactory()  # someone else's
    client.force_login(case_manager)
    response = client.post(reverse("appointments:feed_settings"), {"action": "create"})
    feed_url = response.context["feed_url"]
    token = feed_url.rsplit("/", 1)[1].removesuffix(".ics")
    assert not CalendarFeedToken.objects.filter(token_hash=token).exists()

    client.logout()
    feed = client.get(feed_url)
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    body = feed.content
    events = list(icalendar.Calendar.from_ical(body).walk("VEVENT"))
    parsed = vobject.readOne(io.StringIO(body.decode()))
    assert [str(e["UID"]) for e in events] == [f"{own.uid}@sprechstunde"]
    assert [e.uid.value for e in parsed.vevent_list] == [f"{own.uid}@sprechstunde"]
    assert client_record.last_name.encode() not in body

    client.force_login(case_manager)
    second = client.post(reverse("appointments:feed_settings"), {"action": "create"})
    client.logout()
    assert client.get(feed_url).status_code == 404
    assert client.get(second.context["feed_url"]).status_code == 200

    client.force_login(case_manager)
    client.post(reverse("appointments:feed_settings"), {"action": "revoke"})
    client.logout()
    assert client.get(second.context["feed_url"]).status_code == 404
    assert client.get("/termine/feed/erfunden.ics").status_code == 404


def test_feed_shows_cancelled_appointments_as_cancelled(case_manager, client_record, client):
    appointment = AppointmentFactory(case_manager=case_manager, client=client_record)
    services.appointment_cancel(actor=case_manager, appointment=appointment, reason="x")
    token = services.calendar_feed_token_create(user=case_manager)
    body = client.get(reverse("appointments:feed", kwargs={"token": token})).content
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1


def test_refused_access_is_logged_without_revealing_anything(
    client, case_manager, foreign_appointment
):
    from sprechstunde.audit.models import AuditEntry

    client.force_login(case_manager)
    assert (
        client.get(reverse("appointments:detail", args=[foreign_appointment.pk])).status_code == 404
    )
    denial = AuditEntry.objects.get(action="appointment.access_denied")
    assert denial.actor_id == case_manager.pk
    assert denial.target_id == str(foreign_appointment.pk)
    assert denial.client_id is None


def test_admin_fills_the_public_holidays_of_the_land(client, admin_user, case_manager):
    client.force_login(admin_user)
    url = reverse("admin:appointments_publicholiday_add")
    day = next_weekday(2)
    response = client.post(url, {"day": day.isoformat(), "name": "Fronleichnam"})
    assert response.status_code == 302
    assert client.get(reverse("admin:appointments_publicholiday_changelist")).status_code == 200
    client.force_login(case_manager)
    assert client.get(url).status_code == 302  # not staff: sent to the admin login
    with pytest.raises(services.BookingError):
        services.appointment_book(
            actor=case_manager,
            client=ClientFactory(case_manager=case_manager),
            starts_at=local_dt(day, 10),
            ends_at=local_dt(day, 10, 30),
            channel=Channel.PHONE,
        )
