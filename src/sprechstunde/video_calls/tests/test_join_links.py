"""The join link in the reminders (ADR 0049): the window's edges, moved / cancelled /
foreign / tampered / used links, the session it makes (this call only, no portal), the
pages in the client's language, and the audit trail."""

from __future__ import annotations

import base64
import datetime
import json
from unittest import mock

import pytest
from django import test as django_test
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus, Channel, ReminderChannel
from sprechstunde.appointments.links import join_link_token
from sprechstunde.appointments.mails import reminder_mail_message, reminder_sms_text
from sprechstunde.appointments.models import Reminder
from sprechstunde.appointments.services import appointment_cancel, appointment_move
from sprechstunde.audit.models import AuditEntry
from sprechstunde.video_calls import join_links, services
from sprechstunde.video_calls.choices import ParticipantRole
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import JoinLink, Participant

from .conftest import browser_for

pytestmark = pytest.mark.django_db


def link_path(appointment) -> str:
    return reverse(
        "video_calls:join_link", kwargs={"token": join_link_token(appointment=appointment)}
    )


def call_url(appointment) -> str:
    return reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk})


def phone() -> django_test.Client:
    """A logged-out phone whose browser asks for English pages."""
    return django_test.Client(headers={"accept-language": "en"})


def reasons() -> list[str]:
    return list(
        AuditEntry.objects.filter(action__startswith="join_link.refused.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def refused_reason(response) -> str:
    content = response.content.decode()
    assert 'id="join-link-refusal"' in content
    return content.split('data-reason="', 1)[1].split('"', 1)[0]


# --- the token ------------------------------------------------------------------------------


def test_token_carries_a_256_bit_signature_and_one_link_per_appointment_version(appointment):
    token = join_link_token(appointment=appointment)
    signature = token.rsplit(":", 1)[1]
    assert len(signature) >= 43  # base64 of HMAC-SHA256: 256 bits
    assert join_link_token(appointment=appointment) == token  # e-mails and SMS: the same link
    appointment.sequence += 1
    assert join_link_token(appointment=appointment) != token


# --- the window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-datetime.timedelta(microseconds=1), "early"),  # just before start - 30 min
        (datetime.timedelta(0), ""),  # exactly start - 30 min
    ],
)
def test_window_opens_thirty_minutes_before_the_start(appointment, offset, reason):
    opens = appointment.starts_at - datetime.timedelta(minutes=30)
    with mock.patch.object(join_links.timezone, "now", return_value=opens + offset):
        response = phone().get(link_path(appointment))
    if reason:
        assert response.status_code == 200
        assert refused_reason(response) == reason
        assert join_links.SESSION_KEY not in response.wsgi_request.session
    else:
        assert response.status_code == 302
        assert response["Location"] == call_url(appointment)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(datetime.timedelta(0), True), (datetime.timedelta(microseconds=1), False)],
)
def test_window_closes_at_the_end(appointment, offset, ok):
    with mock.patch.object(join_links.timezone, "now", return_value=appointment.ends_at + offset):
        response = phone().get(link_path(appointment))
    if ok:
        assert response.status_code == 302
    else:
        assert response.status_code == 410
        assert refused_reason(response) == "expired"


# --- the session it makes -------------------------------------------------------------------


def test_link_opens_the_pre_join_check_without_login_and_audits_the_use(appointment, portal_client):
    browser = phone()
    response = browser.get(link_path(appointment), follow=True)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="join-camera"' in content and 'id="join-audio"' in content
    assert '"role": "client"' in content
    assert "camera=(self)" in response["Permissions-Policy"]
    assert not response.wsgi_request.user.is_authenticated  # nobody is logged in
    participant = Participant.objects.get()
    assert participant.user == portal_client.user and participant.role == ParticipantRole.CLIENT
    use = AuditEntry.objects.get(action="join_link.use")
    assert use.actor_id == portal_client.user.pk
    assert use.target_id == str(appointment.pk) and use.client_id == portal_client.pk
    # Only the hash of the token is kept.
    link = JoinLink.objects.get()
    assert link.token_hash != join_link_token(appointment=appointment)
    assert len(link.token_hash) == 64 and link.device_hash == ""


def test_the_session_cannot_open_the_portal_or_another_call(
    appointment, case_manager, portal_client
):
    other = VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=appointment.starts_at + datetime.timedelta(hours=1),
    )
    browser = phone()
    assert browser.get(link_path(appointment)).status_code == 302
    assert browser.get(call_url(appointment)).status_code == 200
    for path in (
        reverse("clients:portal_home"),
        reverse("appointments:portal_list"),
        reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}),
        call_url(other),
    ):
        response = browser.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
    assert not Participant.objects.filter(call__appointment=other).exists()


def test_the_same_device_may_come_back_another_is_refused_once_one_joined(appointment):
    first, second = phone(), phone()
    assert first.get(link_path(appointment)).status_code == 302
    # Opening alone binds nothing (a mail scanner may have opened it): the second device too.
    assert second.get(link_path(appointment)).status_code == 302
    # The first device enters the waiting room: the link is bound to it.
    grant = join_links.session_grant(session=first.session, appointment_id=appointment.pk)
    call = services.call_get_or_create(appointment=appointment)
    join_links.join_link_participant(call=call, grant=grant, claim=True)
    assert first.get(link_path(appointment)).status_code == 302  # tapped again after a drop
    assert first.get(call_url(appointment)).status_code == 200
    response = phone().get(link_path(appointment))
    assert response.status_code == 410 and refused_reason(response) == "used"
    # The way in on this device: the ordinary code login.
    assert reverse("account_request_login_code") in response.content.decode()
    # The second device's earlier grant is no good either now.
    response = second.get(call_url(appointment))
    assert response.status_code == 410 and refused_reason(response) == "used"
    with pytest.raises(join_links.JoinLinkRefusedError) as refused:
        other = join_links.session_grant(session=second.session, appointment_id=appointment.pk)
        join_links.join_link_participant(call=call, grant=other, claim=True)
    assert refused.value.reason == "used"
    assert reasons() == ["join_link.refused.used"] * 3


# --- void links -----------------------------------------------------------------------------


def test_moved_appointment_voids_the_link_and_the_session(appointment, case_manager):
    browser = phone()
    old_path = link_path(appointment)
    assert browser.get(old_path).status_code == 302
    appointment_move(
        actor=case_manager,
        appointment=appointment,
        starts_at=appointment.starts_at + datetime.timedelta(minutes=10),
        ends_at=appointment.ends_at + datetime.timedelta(minutes=10),
    )
    response = phone().get(old_path)
    assert response.status_code == 410 and refused_reason(response) == "moved"
    response = browser.get(call_url(appointment))
    assert response.status_code == 410 and refused_reason(response) == "moved"
    appointment.refresh_from_db()
    assert phone().get(link_path(appointment)).status_code == 302  # the new link works
    assert reasons() == ["join_link.refused.moved"] * 2


def test_cancelled_appointment_voids_the_link(appointment, portal_client):
    browser = phone()
    path = link_path(appointment)
    assert browser.get(path).status_code == 302
    appointment_cancel(actor=portal_client.user, appointment=appointment, reason="krank")
    for response in (phone().get(path), browser.get(call_url(appointment))):
        assert response.status_code == 410 and refused_reason(response) == "cancelled"
    assert reasons() == ["join_link.refused.cancelled"] * 2


def test_tampered_token_is_refused_and_counted(appointment):
    token = join_link_token(appointment=appointment)
    payload, signature = token.rsplit(":", 1)
    forged = payload.replace(payload[2], "A" if payload[2] != "A" else "B", 1) + ":" + signature
    # Another appointment's id under this signature (the id is in the base64 payload, so a
    # plain text replace would leave the token unchanged for some ids).
    other = base64.urlsafe_b64encode(
        json.dumps({"a": appointment.pk + 1, "s": 0}, separators=(",", ":")).encode()
    )
    swapped = other.rstrip(b"=").decode() + ":" + signature
    assert swapped != token
    for bad in (forged, token[:-1], "nonsense", swapped):
        response = phone().get(reverse("video_calls:join_link", kwargs={"token": bad}))
        assert response.status_code == 410 and refused_reason(response) == "tampered"
        assert join_links.SESSION_KEY not in response.wsgi_request.session
    assert AuditEntry.objects.filter(action="join_link.refused.tampered").exists()
    assert not JoinLink.objects.exists() and not Participant.objects.exists()


def test_foreign_link_in_a_browser_logged_in_as_someone_else(
    appointment, foreign_client, other_case_manager
):
    for user in (foreign_client.user, other_case_manager):
        response = browser_for(user).get(link_path(appointment))
        assert response.status_code == 410 and refused_reason(response) == "foreign"
    assert reasons() == ["join_link.refused.foreign"] * 2
    assert not Participant.objects.exists()


def test_logged_in_client_goes_to_the_ordinary_call_page(appointment, portal_client):
    # Even when another device holds the link: the code login is the way in elsewhere.
    holder = phone()
    holder.get(link_path(appointment))
    grant = join_links.session_grant(session=holder.session, appointment_id=appointment.pk)
    call = services.call_get_or_create(appointment=appointment)
    join_links.join_link_participant(call=call, grant=grant, claim=True)
    browser = browser_for(portal_client.user)
    response = browser.get(link_path(appointment))
    assert response.status_code == 302 and response["Location"] == call_url(appointment)
    assert join_links.SESSION_KEY not in browser.session
    assert AuditEntry.objects.filter(action="join_link.use").count() == 2
    assert browser.get(call_url(appointment)).status_code == 200


def test_link_for_a_phone_appointment_or_without_video_consent_is_refused(
    case_manager, portal_client
):
    by_phone = VideoAppointmentFactory(
        case_manager=case_manager, client=portal_client, channel=Channel.PHONE
    )
    response = phone().get(link_path(by_phone))
    assert response.status_code == 410 and refused_reason(response) == "no_access"


def test_refusal_page_is_in_the_clients_language_with_other_ways_to_reach_us(
    appointment, portal_client, settings
):
    settings.JOBCENTER_PHONE = "030 1234 5678"
    settings.JOBCENTER_ADDRESS = "Musterstraße 1, 10115 Berlin"
    portal_client.preferred_language = "de"
    portal_client.save(update_fields=["preferred_language"])
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save(update_fields=["status"])
    response = phone().get(link_path(appointment))  # the browser asks for English
    assert response.status_code == 410
    assert response["Content-Language"] == "de"
    content = response.content.decode()
    assert '<html lang="de"' in content
    assert 'href="tel:03012345678"' in content and "Musterstraße 1" in content
    assert reverse("account_request_login_code") in content


# --- the reminders carry it -----------------------------------------------------------------


def test_reminder_mail_and_sms_carry_the_join_link(appointment, portal_client, settings):
    settings.SITE_URL = "https://sprechstunde.example"
    portal_client.mobile_number = "+4915112345678"
    portal_client.save(update_fields=["mobile_number"])
    url = settings.SITE_URL + link_path(appointment)
    for channel in (ReminderChannel.EMAIL, ReminderChannel.SMS):
        reminder = Reminder.objects.create(
            appointment=appointment,
            sequence=appointment.sequence,
            step_minutes=60,
            channel=channel,
            due_at=timezone.now(),
        )
        if channel == ReminderChannel.EMAIL:
            message = reminder_mail_message(reminder)
            assert message is not None and url in message.body
        else:
            assert url in reminder_sms_text(reminder)
    assert not mail.outbox
