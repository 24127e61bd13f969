"""The call pages through the test client: who sees which page, the camera/microphone
Permissions-Policy only on call pages, the join button on appointment pages, interpreter
links (name form, early, expired, withdrawn), invitations and the waiting feed."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import ParticipantRole
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import InterpreterInvitation, Participant

from .conftest import browser_for

pytestmark = pytest.mark.django_db


def call_url(appointment) -> str:
    return reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk})


def test_host_and_client_get_the_call_page_with_camera_allowed(
    appointment, case_manager, portal_client
):
    for user, role in ((case_manager, "staff"), (portal_client.user, "client")):
        response = browser_for(user).get(call_url(appointment))
        assert response.status_code == 200
        assert "camera=(self)" in response["Permissions-Policy"]
        assert "microphone=(self)" in response["Permissions-Policy"]
        assert f'"role": "{role}"' in response.content.decode()
    assert Participant.objects.get(user=portal_client.user).role == ParticipantRole.CLIENT
    assert 'id="admit-all"' in browser_for(case_manager).get(call_url(appointment)).content.decode()
    # Other pages keep camera and microphone denied.
    other = browser_for(case_manager).get(
        reverse("appointments:detail", kwargs={"pk": appointment.pk})
    )
    assert "camera=()" in other["Permissions-Policy"]


def test_client_of_another_case_manager_and_other_staff_get_404(
    appointment, foreign_client, other_case_manager, team_lead
):
    for user in (foreign_client.user, other_case_manager, team_lead):
        assert browser_for(user).get(call_url(appointment)).status_code == 404
    assert AuditEntry.objects.filter(action="video_call.access_denied").count() == 3
    assert not Participant.objects.exists()


def test_join_button_appears_ten_minutes_before(case_manager, portal_client):
    later = VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=timezone.now() + datetime.timedelta(minutes=30),
    )
    portal = reverse("appointments:portal_detail", kwargs={"pk": later.pk})
    page = browser_for(portal_client.user).get(portal).content.decode()
    assert 'id="video-join"' in page and 'id="video-join-button"' not in page
    response = browser_for(portal_client.user).get(call_url(later))
    assert response.status_code == 200 and "15 minutes before" in response.content.decode()
    later.starts_at = timezone.now() + datetime.timedelta(minutes=9)
    later.ends_at = later.starts_at + datetime.timedelta(minutes=30)
    later.save()
    page = browser_for(portal_client.user).get(portal).content.decode()
    assert 'id="video-join-button"' in page
    staff_page = browser_for(case_manager).get(
        reverse("appointments:detail", kwargs={"pk": later.pk})
    )
    assert 'id="video-join-button"' in staff_page.content.decode()
    assert 'id="video-waiting"' in staff_page.content.decode()


def test_interpreter_link_name_form_then_call_and_nothing_else(appointment, case_manager):
    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="sign", language="DGS"
    )
    url = reverse("video_calls:interpreter", kwargs={"token": token})
    browser = browser_for(None)
    assert 'id="interpreter-form"' in browser.get(url).content.decode()
    assert browser.post(url, {"display_name": "  "}).status_code == 200
    assert not Participant.objects.exists()
    response = browser.post(url, {"display_name": "Ina Dolmetsch"})
    assert response.status_code == 302
    page = browser.get(url)
    assert page.status_code == 200
    assert '"role": "interpreter"' in page.content.decode()
    assert "camera=(self)" in page["Permissions-Policy"]
    assert 'id="admit-all"' not in page.content.decode()
    assert portal_name_absent(page, appointment)
    assert (
        browser.get(reverse("video_calls:interpreter", kwargs={"token": token[:-2]})).status_code
        == 404
    )


def portal_name_absent(page, appointment) -> bool:
    """The interpreter sees the call, not the client's record (no names beyond the call)."""
    return appointment.client.email not in page.content.decode()


def test_expired_and_withdrawn_links_are_refused_clearly(case_manager, portal_client):
    past = VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=timezone.now() - datetime.timedelta(hours=3),
    )
    _invitation, expired_token = services.interpreter_invite(
        actor=case_manager,
        appointment=VideoAppointmentFactory(
            case_manager=case_manager,
            client=portal_client,
            starts_at=timezone.now() + datetime.timedelta(minutes=5),
        ),
        kind="spoken",
    )
    expired = InterpreterInvitation.objects.get(token_hash=services.token_hash(expired_token))
    expired.call = services.call_get_or_create(appointment=past)
    expired.save()
    response = browser_for(None).get(
        reverse("video_calls:interpreter", kwargs={"token": expired_token})
    )
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()

    appointment = VideoAppointmentFactory(case_manager=case_manager, client=portal_client)
    invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="spoken"
    )
    services.interpreter_revoke(actor=case_manager, invitation=invitation)
    url = reverse("video_calls:interpreter", kwargs={"token": token})
    response = browser_for(None).get(url)
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    response = browser_for(None).post(url, {"display_name": "Ina"})
    assert response.status_code == 410
    assert not Participant.objects.exists()


def test_invitations_page_shows_the_link_once_and_withdraws(
    appointment, case_manager, portal_client
):
    url = reverse("video_calls:invitations", kwargs={"appointment_pk": appointment.pk})
    browser = browser_for(case_manager)
    response = browser.post(url, {"kind": "sign", "language": "DGS"})
    page = response.content.decode()
    assert 'id="invitation-link"' in page and "/video/dolmetschen/" in page
    assert 'id="invitation-link"' not in browser.get(url).content.decode()
    invitation = InterpreterInvitation.objects.get()
    revoke = reverse(
        "video_calls:invitation_revoke",
        kwargs={"appointment_pk": appointment.pk, "pk": invitation.pk},
    )
    assert browser_for(portal_client.user).post(revoke).status_code == 404
    assert browser.post(revoke).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert browser_for(portal_client.user).get(url).status_code == 404


def test_waiting_feed_is_for_staff_only(call, case_manager, portal_client):
    guest = services.participant_for_user(call=call, user=portal_client.user, role="client")
    services.presence_enter(participant=guest, channel_name="x", session="abcdef12")
    data = browser_for(case_manager).get(reverse("video_calls:waiting")).json()
    assert data["waiting"][0]["names"] == [guest.display_name]
    assert data["waiting"][0]["url"] == call_url(call.appointment)
    assert is_other_role_response(
        browser_for(portal_client.user).get(reverse("video_calls:waiting"))
    )


def test_reminder_mail_of_a_video_appointment_links_straight_to_the_call(appointment):
    from sprechstunde.appointments.mails import reminder_mail_message
    from sprechstunde.appointments.models import Reminder

    reminder = Reminder.objects.create(
        appointment=appointment,
        sequence=appointment.sequence,
        step_minutes=60,
        channel="email",
        due_at=timezone.now(),
    )
    message = reminder_mail_message(reminder)
    assert message is not None
    # The join link (ADR 0049), which leads to the call's page without a login code.
    from sprechstunde.appointments.links import join_link_token

    path = reverse(
        "video_calls:join_link", kwargs={"token": join_link_token(appointment=appointment)}
    )
    assert path in message.body
    response = browser_for(None).get(path)
    assert response.status_code == 302 and response["Location"] == call_url(appointment)


def test_call_page_reads_the_call_the_participant_and_the_appointment_once(
    appointment, portal_client
):
    browser = browser_for(portal_client.user)
    browser.get(call_url(appointment))  # the first visit makes the call and the participant
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(call_url(appointment))
    assert response.status_code == 200

    def reads(table):
        return sum(
            1
            for query in queries.captured_queries
            if query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"]
        )

    assert reads("video_calls_call") == 1
    assert reads("video_calls_participant") == 1
    assert reads("appointments_appointment") == 1
