"""Services and rules of video calls: who may join when, interpreter links (hashed,
time-boxed, revocable), the waiting room, and the attendance record from the call."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac

import pytest
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Consent
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.video_calls import permissions, selectors, services, turn
from sprechstunde.video_calls.choices import InterpreterKind, ParticipantRole, ParticipantState
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import InterpreterInvitation, Presence

pytestmark = pytest.mark.django_db


def test_case_manager_hosts_and_own_client_joins(appointment, case_manager, portal_client):
    assert permissions.role_for_user(user=case_manager, appointment=appointment) == "staff"
    assert permissions.role_for_user(user=portal_client.user, appointment=appointment) == "client"


def test_client_of_another_case_manager_is_not_part_of_the_call(
    appointment, foreign_client, other_case_manager, team_lead, admin_user
):
    for user in (foreign_client.user, other_case_manager, team_lead, admin_user):
        assert permissions.role_for_user(user=user, appointment=appointment) is None
    assert (
        selectors.appointment_for_call(user=foreign_client.user, appointment_pk=appointment.pk)
        is None
    )


def test_client_without_video_consent_cannot_join(appointment, portal_client):
    Consent.objects.filter(client=portal_client, purpose=ConsentPurpose.VIDEO).update(
        withdrawn_at=timezone.now()
    )
    assert permissions.role_for_user(user=portal_client.user, appointment=appointment) is None


def test_phone_or_cancelled_appointments_have_no_call(appointment, case_manager):
    appointment.channel = Channel.PHONE
    assert permissions.role_for_user(user=case_manager, appointment=appointment) is None
    appointment.channel = Channel.VIDEO
    appointment.status = AppointmentStatus.CANCELLED
    assert permissions.role_for_user(user=case_manager, appointment=appointment) is None


def test_join_opens_fifteen_minutes_before_the_start(appointment):
    start = appointment.starts_at
    assert not permissions.is_join_open(
        appointment=appointment, now=start - datetime.timedelta(minutes=16)
    )
    assert permissions.is_join_open(
        appointment=appointment, now=start - datetime.timedelta(minutes=15)
    )
    assert permissions.is_join_open(
        appointment=appointment, now=appointment.ends_at + datetime.timedelta(minutes=59)
    )
    assert not permissions.is_join_open(
        appointment=appointment, now=appointment.ends_at + datetime.timedelta(minutes=61)
    )


# --- TURN credentials ---------------------------------------------------------------------


def test_turn_credentials_follow_the_turn_rest_scheme(settings):
    settings.TURN_SHARED_SECRET = "s3cret"
    settings.TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]
    settings.TURN_CREDENTIAL_TTL_SECONDS = 600
    username, password = turn.turn_credentials(participant_id=42, now=1_700_000_000)
    assert username == "1700000600:42"
    expected = base64.b64encode(hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest())
    assert password == expected.decode()
    servers = turn.ice_servers_for(participant_id=42)
    assert servers[0]["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    assert servers[0]["username"].endswith(":42")


def test_without_turn_there_are_no_ice_servers_at_all(settings):
    settings.TURN_URLS = []
    settings.TURN_RELAY_ONLY = True
    assert turn.ice_servers_for(participant_id=1) == []
    assert turn.ice_transport_policy() == "all"  # relay-only without TURN would never connect


# --- interpreters -------------------------------------------------------------------------


def test_interpreter_link_is_long_stored_hashed_and_audited(appointment, case_manager):
    invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind=InterpreterKind.SIGN, language="DGS"
    )
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert token not in invitation.token_hash
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert selectors.invitation_for_token(token=token) == invitation
    assert selectors.invitation_for_token(token=token + "x") is None
    assert AuditEntry.objects.filter(action="video_call.interpreter_invite").count() == 1


def test_only_the_host_invites_interpreters(appointment, portal_client, other_case_manager):
    for user in (portal_client.user, other_case_manager):
        with pytest.raises(PermissionDeniedError):
            services.interpreter_invite(actor=user, appointment=appointment, kind="spoken")


def test_interpreter_link_window_is_15_minutes_before_to_30_after(appointment, case_manager):
    invitation, _token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="spoken"
    )
    start, end = appointment.starts_at, appointment.ends_at
    minute = datetime.timedelta(minutes=1)
    assert permissions.invitation_problem(invitation=invitation, now=start - 16 * minute) == "early"
    assert permissions.invitation_problem(invitation=invitation, now=start - 15 * minute) == ""
    assert permissions.invitation_problem(invitation=invitation, now=end + 30 * minute) == ""
    assert permissions.invitation_problem(invitation=invitation, now=end + 31 * minute) == "expired"


def test_expired_interpreter_link_is_refused(case_manager, portal_client):
    past = VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=timezone.now() - datetime.timedelta(hours=2),
    )
    call = services.call_get_or_create(appointment=past)
    invitation = InterpreterInvitation.objects.create(
        call=call, kind="spoken", token_hash="x" * 64, created_by=case_manager
    )
    with pytest.raises(services.CallRefusedError) as refused:
        services.interpreter_participant_enter(invitation=invitation, display_name="Ina")
    assert refused.value.code == "expired"


def test_revoked_link_is_refused_and_puts_the_interpreter_out(appointment, case_manager, call):
    invitation, _token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="spoken"
    )
    interpreter = services.interpreter_participant_enter(invitation=invitation, display_name="Ina")
    services.interpreter_revoke(actor=case_manager, invitation=invitation)
    interpreter.refresh_from_db()
    assert interpreter.state == ParticipantState.REMOVED
    refusal = services.participant_refusal(participant=interpreter)
    assert refusal is not None and refusal.code == "removed"
    with pytest.raises(services.CallRefusedError) as refused:
        services.interpreter_participant_enter(invitation=invitation, display_name="Ina 2")
    assert refused.value.code == "revoked"


# --- waiting room and records ----------------------------------------------------------------


def _enter(participant, channel="chan"):
    return services.presence_enter(
        participant=participant, channel_name=channel, session="abcd1234"
    ).presence


def test_staff_are_in_at_once_and_clients_wait_until_admitted(call, case_manager, portal_client):
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    assert host.state == ParticipantState.ADMITTED
    assert guest.state == ParticipantState.WAITING
    presence = _enter(guest)
    assert presence.admitted_at is None
    services.participant_admit(host=host, participant_id=guest.pk)
    presence.refresh_from_db()
    guest.refresh_from_db()
    assert guest.state == ParticipantState.ADMITTED and presence.admitted_at is not None
    with pytest.raises(PermissionDeniedError):
        services.participant_admit(host=guest, participant_id=guest.pk)


def test_a_locked_call_takes_nobody_new_but_keeps_those_admitted(call, case_manager, portal_client):
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    services.call_lock(host=host, locked=True)
    with pytest.raises(services.CallRefusedError) as refused:
        _enter(guest)
    assert refused.value.code == "locked"
    _enter(host)
    services.call_lock(host=host, locked=False)
    _enter(guest)


def test_removed_people_cannot_come_back(call, case_manager, portal_client):
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    services.participant_remove(host=host, participant_id=guest.pk)
    with pytest.raises(services.CallRefusedError) as refused:
        _enter(guest)
    assert refused.value.code == "removed"


def test_held_and_duration_recorded_when_both_met(case_manager, portal_client):
    started = VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=timezone.now() - datetime.timedelta(minutes=20),
    )
    call = services.call_get_or_create(appointment=started)
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    host_presence = _enter(host, "a")
    guest_presence = _enter(guest, "b")
    services.participant_admit(host=host, participant_id=guest.pk)
    # Shift the times back: they talked for 17 minutes (metadata only, no content kept).
    now = timezone.now()
    Presence.objects.filter(pk=host_presence.pk).update(
        admitted_at=now - datetime.timedelta(minutes=18)
    )
    Presence.objects.filter(pk=guest_presence.pk).update(
        admitted_at=now - datetime.timedelta(minutes=17)
    )
    services.presence_leave(presence=guest_presence)
    services.presence_leave(presence=host_presence)
    started.refresh_from_db()
    call.refresh_from_db()
    assert started.status == AppointmentStatus.HELD
    assert started.actual_minutes == 17
    assert call.ended_at is not None


def test_no_attendance_when_the_client_never_came_in(case_manager, portal_client):
    started = VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=timezone.now() - datetime.timedelta(minutes=20),
    )
    call = services.call_get_or_create(appointment=started)
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    _enter(guest, "b")  # waited, never admitted
    services.call_end(host=host)
    started.refresh_from_db()
    assert started.status == AppointmentStatus.BOOKED
    guest.refresh_from_db()
    assert services.participant_refusal(participant=guest).code == "closed"


def test_waiting_notice_lists_waiting_people_for_the_caseload_only(
    call, case_manager, other_case_manager, portal_client
):
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    assert selectors.waiting_list_for_user(user=case_manager) == []
    _enter(guest)
    rows = selectors.waiting_list_for_user(user=case_manager)
    assert rows == [{"appointment": call.appointment_id, "names": [guest.display_name], "count": 1}]
    assert selectors.waiting_list_for_user(user=other_case_manager) == []
