"""After "end the call for everyone" no page offers to join and the call's page says it has
ended (not a refusal); the "someone is waiting" notice is on every page of a case manager
and on nobody else's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.appointments.links import OVERVIEW, reminder_link_token
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.video_calls import selectors, services
from sprechstunde.video_calls.choices import ParticipantRole
from sprechstunde.video_calls.factories import VideoAppointmentFactory, video_consent

from .conftest import browser_for

pytestmark = pytest.mark.django_db


def call_url(appointment) -> str:
    return reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk})


def _end_for_everyone(appointment, case_manager):
    call = services.call_get_or_create(appointment=appointment)
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    services.presence_enter(participant=host, channel_name="c", session="desk")
    services.call_end(host=host)
    return call


def test_after_the_end_no_page_offers_to_join_and_the_call_page_says_it_ended(
    appointment, case_manager, portal_client
):
    staff_page = reverse("appointments:detail", kwargs={"pk": appointment.pk})
    portal_page = reverse("appointments:portal_detail", kwargs={"pk": appointment.pk})
    link_page = reverse(
        "appointments:link",
        kwargs={"token": reminder_link_token(appointment=appointment, action=OVERVIEW)},
    )
    staff, client = browser_for(case_manager), browser_for(portal_client.user)
    # Before: both pages offer the call.
    assert call_url(appointment) in staff.get(staff_page).content.decode()
    assert call_url(appointment) in client.get(portal_page).content.decode()
    assert call_url(appointment) in browser_for(None).get(link_page).content.decode()

    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="spoken", language="Farsi"
    )
    _end_for_everyone(appointment, case_manager)

    for browser, page in (
        (staff, staff_page),
        (client, portal_page),
        (browser_for(None), link_page),
    ):
        html = browser.get(page).content.decode()
        assert call_url(appointment) not in html, page
        assert 'id="video-join-button"' not in html and 'id="video-join-link"' not in html
        assert "This call has ended." in html
    for browser in (staff, client):
        response = browser.get(call_url(appointment))
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="call-ended"' in html and "This call has ended." in html
        assert 'id="join-button"' not in html
    interpreter = browser_for(None).get(reverse("video_calls:interpreter", kwargs={"token": token}))
    assert interpreter.status_code == 200
    assert 'id="call-ended"' in interpreter.content.decode()
    assert selectors.call_join_state_for_user(
        user=portal_client.user, appointment=appointment
    ) == selectors.JoinState(selectors.JOIN_ENDED, role="client")


def test_the_ended_page_is_still_only_for_people_of_the_call(
    appointment, case_manager, foreign_client, other_case_manager
):
    _end_for_everyone(appointment, case_manager)
    for user in (foreign_client.user, other_case_manager):
        assert browser_for(user).get(call_url(appointment)).status_code == 404


def test_the_waiting_notice_is_on_every_page_of_a_case_manager_only(
    appointment, case_manager, portal_client, team_lead
):
    notice = 'id="video-waiting"'
    staff = browser_for(case_manager)
    for name in ("clients:list", "appointments:today", "messaging:inbox"):
        html = staff.get(reverse(name)).content.decode()
        assert html.count(notice) == 1, name
    # Not on the call page itself (it has its own waiting list), not for others.
    assert notice not in staff.get(call_url(appointment)).content.decode()
    client = browser_for(portal_client.user)
    for page in (
        reverse("core:home"),
        reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}),
        call_url(appointment),
    ):
        assert notice not in client.get(page, follow=True).content.decode(), page
    assert (
        notice not in browser_for(team_lead).get(reverse("core:home"), follow=True).content.decode()
    )
    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="spoken", language="Farsi"
    )
    page = browser_for(None).get(reverse("video_calls:interpreter", kwargs={"token": token}))
    assert notice not in page.content.decode()
    # The feed answers staff only, and is never stored by a cache.
    assert is_other_role_response(client.get(reverse("video_calls:waiting")))
    feed = staff.get(reverse("video_calls:waiting"))
    assert feed.status_code == 200 and "no-store" in feed["Cache-Control"]


def test_the_waiting_feed_costs_the_same_few_queries_however_many_wait(case_manager, portal_client):
    staff = browser_for(case_manager)
    feed = reverse("video_calls:waiting")

    def guest_waits(client):
        appointment = VideoAppointmentFactory(case_manager=case_manager, client=client)
        call = services.call_get_or_create(appointment=appointment)
        guest = services.participant_for_user(
            call=call, user=client.user, role=ParticipantRole.CLIENT
        )
        services.presence_enter(participant=guest, channel_name=f"c{guest.pk}", session="s")

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            rows = staff.get(feed).json()["waiting"]
        # The feed's own reads (login, session and MFA checks are the middleware's).
        own = [
            query
            for query in captured.captured_queries
            if "video_calls_" in query["sql"] or "accounts_substitution" in query["sql"]
        ]
        return len(own), sum(row["count"] for row in rows)

    guest_waits(portal_client)
    one, waiting = queries()
    assert waiting == 1
    for index in range(3):
        other = portal_client_create(
            case_manager=case_manager, email=f"gast{index}@example.org", first_name=f"Gast{index}"
        )
        video_consent(other)
        guest_waits(other)
    four, waiting = queries()
    assert waiting == 4
    assert four == one == 2
