"""Attendance from a held call: the measured time case manager and client spent together,
marked automatically when the call is ended (or by the sweep for calls nobody ended),
updated while the mark is the call's own, never over a mark staff set by hand."""

from __future__ import annotations

import datetime

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sprechstunde.appointments.choices import AppointmentStatus
from sprechstunde.appointments.models import Appointment
from sprechstunde.appointments.services import attendance_mark
from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import ParticipantRole, ParticipantState
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import Call, Participant, Presence

from .conftest import browser_for

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
SWEEP_TASK = "sprechstunde.video_calls.tasks.calls_finish_due_task"


@pytest.fixture
def started(case_manager, portal_client):
    """A video appointment that began 40 minutes ago and is planned to end in 20."""
    now = timezone.now()
    return VideoAppointmentFactory(
        case_manager=case_manager,
        client=portal_client,
        starts_at=now - 40 * MINUTE,
        ends_at=now + 20 * MINUTE,
    )


def _people(appointment, case_manager, portal_client):
    call = services.call_get_or_create(appointment=appointment)
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    guest = services.participant_for_user(
        call=call, user=portal_client.user, role=ParticipantRole.CLIENT
    )
    return call, host, guest


def _span(participant, start, end, *, session="s"):
    """One connection of `participant` through the real entry (and admission by the host
    for a guest), then dated: let in at `start`, gone at `end` (None: still connected)."""
    entry = services.presence_enter(
        participant=participant, channel_name=f"chan-{session}", session=session
    )
    if entry.participant.state == ParticipantState.WAITING:
        host = Participant.objects.get(call=participant.call_id, role=ParticipantRole.STAFF)
        services.participant_admit(host=host, participant_id=participant.pk)
    Presence.objects.filter(pk=entry.presence.pk).update(
        entered_at=start, admitted_at=start, left_at=end
    )
    return entry.presence


BASE: list[datetime.datetime] = []


@pytest.fixture(autouse=True)
def _base():
    """One "now" per test, so that spans measured against it are exact."""
    BASE[:] = [timezone.now()]


def _at(minutes_ago: float) -> datetime.datetime:
    return BASE[0] - datetime.timedelta(minutes=minutes_ago)


def test_two_tabs_of_the_client_at_once_count_once(started, case_manager, portal_client):
    call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), _at(5))
    _span(guest, _at(25), _at(10), session="tab1")
    _span(guest, _at(20), _at(8), session="tab2")  # a second tab, overlapping the first
    assert services.call_overlap(call=call) == 17 * MINUTE


def test_a_reconnect_counts_the_time_around_the_gap_and_the_interpreter_not_at_all(
    started, case_manager, portal_client
):
    call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), _at(0))
    # The phone lost its network for two minutes: two connections of the same page.
    _span(guest, _at(25), _at(15), session="phone")
    _span(guest, _at(13), _at(3), session="phone")
    # The case manager's own reconnect overlapping the first connection's late leave.
    _span(host, _at(31), _at(29), session="desk")
    interpreter = services.interpreter_participant_enter(
        invitation=services.interpreter_invite(
            actor=case_manager, appointment=started, kind="spoken", language="Arabisch"
        )[0],
        display_name="Samir",
    )
    _span(interpreter, _at(40), _at(0), session="int")
    assert services.call_overlap(call=call) == 20 * MINUTE


def test_a_client_who_never_came_in_leaves_the_appointment_booked(
    started, case_manager, portal_client
):
    call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), None)
    services.presence_enter(participant=guest, channel_name="c", session="w")  # only waited
    services.call_end(host=host)
    assert services.call_overlap(call=call) == datetime.timedelta()
    started.refresh_from_db()
    assert started.status == AppointmentStatus.BOOKED
    assert started.actual_minutes is None


def test_ending_the_call_for_everyone_marks_it_held_with_the_time_together(
    started, case_manager, portal_client
):
    call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), None)
    _span(guest, _at(22), None)
    services.call_end(host=host)
    started.refresh_from_db()
    call.refresh_from_db()
    assert started.status == AppointmentStatus.HELD
    assert started.actual_minutes == 22
    assert started.attendance_marked_at == call.attendance_marked_at


def test_the_calls_own_mark_follows_when_they_come_back(started, case_manager, portal_client):
    _call, host, guest = _people(started, case_manager, portal_client)
    host_presence = _span(host, _at(30), None)
    guest_presence = _span(guest, _at(25), None)
    # Both left (the last one out marks it held) ...
    Presence.objects.filter(pk=guest_presence.pk).update(left_at=_at(15))
    services.presence_leave(presence=host_presence)
    Presence.objects.filter(pk=host_presence.pk).update(left_at=_at(15))
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (AppointmentStatus.HELD, 10)
    # ... then came back for another five minutes and staff ended it.
    _span(host, _at(6), None, session="again")
    _span(guest, _at(5), None, session="again")
    services.call_end(host=host)
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (AppointmentStatus.HELD, 15)


def test_a_mark_staff_set_by_hand_is_never_overwritten(started, case_manager, portal_client):
    call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), None)
    _span(guest, _at(25), None)
    attendance_mark(
        actor=case_manager, appointment=started, status=AppointmentStatus.HELD, actual_minutes=45
    )
    services.call_end(host=host)
    services.call_finish(call=call, now=timezone.now() + 3 * 60 * MINUTE)
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (AppointmentStatus.HELD, 45)


def test_staff_correct_the_calls_mark_and_the_sweep_keeps_the_correction(
    started, case_manager, portal_client
):
    _call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), None)
    _span(guest, _at(25), None)
    services.call_end(host=host)
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (AppointmentStatus.HELD, 25)
    # The client's picture froze for a while: the case manager corrects it on the page.
    response = browser_for(case_manager).post(
        reverse("appointments:attendance", kwargs={"pk": started.pk}),
        {"status": "held", "actual_minutes": "20"},
    )
    assert response.status_code == 302
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (AppointmentStatus.HELD, 20)
    assert started.attendance_marked_by == case_manager
    assert services.calls_finish_due(now=timezone.now() + 3 * 60 * MINUTE) == 1
    started.refresh_from_db()
    assert (started.status, started.actual_minutes) == (AppointmentStatus.HELD, 20)
    # Or it did not take place after all: no-show, by hand, stays.
    browser_for(case_manager).post(
        reverse("appointments:attendance", kwargs={"pk": started.pk}), {"status": "no_show"}
    )
    started.refresh_from_db()
    assert started.status == AppointmentStatus.NO_SHOW


def test_the_sweep_ends_a_call_nobody_ended_and_marks_it(started, case_manager, portal_client):
    call, host, guest = _people(started, case_manager, portal_client)
    _span(host, _at(30), None)
    _span(guest, _at(20), None)  # the server never saw them go (a crash)
    assert services.calls_finish_due() == 0  # the join window is still open
    later = started.ends_at + services.permissions.JOIN_CLOSES_AFTER + MINUTE
    assert services.calls_finish_due(now=later) == 1
    call.refresh_from_db()
    started.refresh_from_db()
    assert call.closed_at == later and call.finished_at == later
    assert not Presence.objects.filter(participant__call=call, left_at__isnull=True).exists()
    # Unknown leaving time: taken as the planned end (20 minutes from the fixture's now).
    assert started.status == AppointmentStatus.HELD
    assert started.actual_minutes == 40
    assert services.calls_finish_due(now=later + MINUTE) == 0  # each call once


def test_a_call_ended_before_the_planned_start_is_marked_by_the_sweep(case_manager, portal_client):
    soon = VideoAppointmentFactory(case_manager=case_manager, client=portal_client)
    call, host, guest = _people(soon, case_manager, portal_client)
    _span(host, _at(3), None)
    _span(guest, _at(2), None)
    services.call_end(host=host)  # they were done before the slot even began
    soon.refresh_from_db()
    assert soon.status == AppointmentStatus.BOOKED  # attendance needs the start to be past
    Appointment.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() - 3 * 60 * MINUTE, ends_at=timezone.now() - 150 * MINUTE
    )
    assert services.calls_finish_due() == 1
    soon.refresh_from_db()
    assert (soon.status, soon.actual_minutes) == (AppointmentStatus.HELD, 2)
    assert Call.objects.get(pk=call.pk).finished_at is not None


def test_a_started_call_queues_the_sweep_for_the_end_of_its_join_window(
    settings, started, case_manager, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call = services.call_get_or_create(appointment=started)
    host = services.participant_for_user(call=call, user=case_manager, role=ParticipantRole.STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        services.presence_enter(participant=host, channel_name="c", session="desk")
    job = DBTaskResult.objects.get(task_path=SWEEP_TASK)
    assert job.run_after == started.ends_at + services.permissions.JOIN_CLOSES_AFTER + MINUTE
    # A worker starting (after downtime) catches up at once.
    apps.get_app_config("video_calls").task_worker_started()
    assert DBTaskResult.objects.filter(task_path=SWEEP_TASK).count() == 2
