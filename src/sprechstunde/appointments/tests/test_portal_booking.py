"""Self-booking in the portal (issue 12, point 10): a day or the next free time, then a
confirmation step; only the confirmation's POST books, and the slot is checked again then."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client as BrowserClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sprechstunde.appointments.choices import AppointmentStatus, Channel, Weekday
from sprechstunde.appointments.factories import AppointmentFactory, OfficeHoursFactory
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory

from .conftest import give_video_consent, local_dt, next_weekday

pytestmark = pytest.mark.django_db

_BOOKKEEPING = ("django_session", "usersessions_usersession", "SAVEPOINT", '"accounts_user"')
ALL_CHANNELS = [Channel.VIDEO, Channel.PHONE, Channel.ON_SITE]


def demo_office_hours(case_manager):
    """About as many office hours as the demo has: 14 slots a week, 40+ in three weeks."""
    return [
        OfficeHoursFactory(
            case_manager=case_manager, weekday=Weekday.TUESDAY, channels=ALL_CHANNELS
        ),
        OfficeHoursFactory(
            case_manager=case_manager,
            weekday=Weekday.THURSDAY,
            start_time=datetime.time(13),
            end_time=datetime.time(16),
            channels=ALL_CHANNELS,
        ),
        OfficeHoursFactory(
            case_manager=case_manager,
            weekday=Weekday.WEDNESDAY,
            start_time=datetime.time(8),
            end_time=datetime.time(9),
            channels=ALL_CHANNELS,
        ),
    ]


def value(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def confirm_query(hours, start, channel="phone"):
    return {"office_hours": hours.pk, "starts_at": value(start), "channel": channel}


def links(page: str, marker: str) -> list[str]:
    """The hrefs inside the element marked with the data attribute `marker`."""
    part = page.split(marker, 1)[1].split("</ul>", 1)[0]
    return [chunk.split('"', 1)[0].replace("&amp;", "&") for chunk in part.split('href="')[1:]]


@pytest.fixture
def portal(client, client_record):
    client.force_login(client_record.user)
    return client


def test_next_free_time_leads_to_a_confirmation_and_only_its_post_books(
    portal, case_manager, client_record
):
    demo_office_hours(case_manager)
    overview = portal.get(reverse("appointments:portal_book"))
    assert overview.status_code == 200
    page = overview.content.decode()
    next_links = links(page, "data-next-slot")
    assert next_links, page
    (phone_link,) = [link for link in next_links if "channel=phone" in link]
    confirm = portal.get(phone_link)
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "Book this appointment?" in text
    assert 'name="channel" value="phone"' in text
    assert not Appointment.objects.exists()  # looking and choosing books nothing

    query = {key: values[0] for key, values in parse_qs(urlsplit(phone_link).query).items()}
    response = portal.post(reverse("appointments:portal_book_confirm"), query)
    appointment = Appointment.objects.get()
    assert response["Location"] == reverse("appointments:portal_detail", args=[appointment.pk])
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.channel == Channel.PHONE
    assert (
        value(appointment.starts_at.astimezone(local_dt(next_weekday(1), 9).tzinfo))
        == (query["starts_at"])
    )


def test_picked_day_shows_that_days_times_for_the_chosen_channel(
    portal, case_manager, client_record
):
    demo_office_hours(case_manager)
    thursday = next_weekday(Weekday.THURSDAY)
    page = portal.get(reverse("appointments:portal_book")).content.decode()
    assert f"day={thursday.isoformat()}" in page
    day = portal.get(reverse("appointments:portal_book"), {"day": thursday.isoformat()})
    times = links(day.content.decode(), "data-times")
    assert len(times) == 6  # 13:00 to 16:00 in 30-minute slots
    assert all("channel=phone" in link for link in times)  # no video consent: phone first
    switch = links(day.content.decode(), "data-channel-switch")
    assert len(switch) == 2  # phone and on site; video needs the consent
    on_site = portal.get(switch[1])
    assert all("channel=on_site" in link for link in links(on_site.content.decode(), "data-times"))


def test_video_is_offered_only_with_the_video_consent(portal, case_manager, client_record):
    demo_office_hours(case_manager)
    page = portal.get(reverse("appointments:portal_book")).content.decode()
    assert "channel=video" not in page
    give_video_consent(client_record)
    page = portal.get(reverse("appointments:portal_book")).content.decode()
    assert "channel=video" in "".join(links(page, "data-next-slot"))


def test_the_old_one_tap_post_no_longer_books(portal, case_manager):
    (hours, *_rest) = demo_office_hours(case_manager)
    start = local_dt(next_weekday(Weekday.TUESDAY), 9, 30)
    response = portal.post(reverse("appointments:portal_book"), confirm_query(hours, start))
    assert response.status_code == 405
    assert not Appointment.objects.exists()


def test_confirmation_post_needs_the_csrf_token(case_manager, client_record):
    (hours, *_rest) = demo_office_hours(case_manager)
    browser = BrowserClient(enforce_csrf_checks=True)
    browser.force_login(client_record.user)
    start = local_dt(next_weekday(Weekday.TUESDAY), 9, 30)
    response = browser.post(
        reverse("appointments:portal_book_confirm"), confirm_query(hours, start)
    )
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_a_slot_taken_before_the_confirmation_gives_a_message_and_the_picker_again(
    portal, case_manager, client_record
):
    (hours, *_rest) = demo_office_hours(case_manager)
    tuesday = next_weekday(Weekday.TUESDAY)
    start = local_dt(tuesday, 9, 30)
    assert (
        portal.get(
            reverse("appointments:portal_book_confirm"), confirm_query(hours, start)
        ).status_code
        == 200
    )
    # Meanwhile someone else gets that time.
    other = AppointmentFactory(
        case_manager=case_manager,
        client=ClientFactory(case_manager=case_manager),
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
    )

    response = portal.post(reverse("appointments:portal_book_confirm"), confirm_query(hours, start))
    picker = f"{reverse('appointments:portal_book')}?day={tuesday.isoformat()}&channel=phone"
    assert response["Location"] == picker
    assert list(Appointment.objects.all()) == [other]
    followed = portal.get(picker)
    page = followed.content.decode()
    assert "This time is already taken. Please choose another." in page
    assert value(start).replace(":", "%3A") not in "".join(links(page, "data-times"))
    assert len(links(page, "data-times")) == 5

    # Opening the confirmation of a taken time also sends back to the picker, nothing booked.
    again = portal.get(reverse("appointments:portal_book_confirm"), confirm_query(hours, start))
    assert again["Location"] == picker
    (message,) = get_messages(again.wsgi_request)
    assert "This time is no longer free" in str(message)
    assert Appointment.objects.count() == 1


def test_another_clients_office_hours_are_not_offered(
    portal, case_manager, client_record, foreign_client, other_case_manager
):
    demo_office_hours(case_manager)
    foreign = OfficeHoursFactory(
        case_manager=other_case_manager, weekday=Weekday.FRIDAY, channels=ALL_CHANNELS
    )
    friday = next_weekday(Weekday.FRIDAY)
    overview = portal.get(reverse("appointments:portal_book")).content.decode()
    assert f"day={friday.isoformat()}" not in overview
    assert f"office_hours={foreign.pk}&" not in overview
    day = portal.get(reverse("appointments:portal_book"), {"day": friday.isoformat()})
    assert day["Location"] == reverse("appointments:portal_book")
    start = local_dt(friday, 9)
    query = confirm_query(foreign, start)
    assert portal.get(reverse("appointments:portal_book_confirm"), query).status_code == 404
    assert portal.post(reverse("appointments:portal_book_confirm"), query).status_code == 404
    assert not Appointment.objects.exists()
    # Refusals are audited (repeats within a short time are folded into one entry, ADR 0042).
    assert AuditEntry.objects.filter(
        action="appointment.access_denied", target_id=str(foreign.pk)
    ).exists()


def test_booking_pages_need_a_fixed_number_of_queries(portal, case_manager, client_record):
    give_video_consent(client_record)
    OfficeHoursFactory(case_manager=case_manager, weekday=Weekday.TUESDAY, channels=ALL_CHANNELS)
    tuesday = next_weekday(Weekday.TUESDAY).isoformat()

    def counts():
        found = []
        for params in ({}, {"day": tuesday}):
            with CaptureQueriesContext(connection) as queries:
                assert portal.get(reverse("appointments:portal_book"), params).status_code == 200
            # Session and login bookkeeping (allauth's activity update comes now and then)
            # is the same on every page; count what this page asks for.
            found.append(
                sum(
                    1 for query in queries if not any(skip in query["sql"] for skip in _BOOKKEEPING)
                )
            )
        return found

    few = counts()
    for weekday in (Weekday.MONDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY):
        OfficeHoursFactory(
            case_manager=case_manager,
            weekday=weekday,
            start_time=datetime.time(8),
            end_time=datetime.time(16),
            channels=ALL_CHANNELS,
        )
    AppointmentFactory(case_manager=case_manager, client=client_record)
    assert counts() == few
    assert max(few) <= 8
