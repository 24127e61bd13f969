"""The counts the reporting app reads: by month, team and channel, with no client data."""

import datetime

import pytest

from sprechstunde.appointments.choices import AppointmentStatus, CancellationClass, Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.appointments.selectors import appointment_figures

from .conftest import local_dt

pytestmark = pytest.mark.django_db


def make(case_manager, day, hour, status, channel=Channel.VIDEO, **kwargs):
    start = local_dt(day, hour)
    return AppointmentFactory(
        case_manager=case_manager,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        status=status,
        channel=channel,
        **kwargs,
    )


@pytest.fixture
def history(case_manager, other_case_manager):
    march, april = datetime.date(2025, 3, 10), datetime.date(2025, 4, 2)
    make(case_manager, march, 9, AppointmentStatus.HELD, actual_minutes=25)
    make(case_manager, march, 10, AppointmentStatus.HELD)
    make(case_manager, march, 11, AppointmentStatus.NO_SHOW)
    make(
        case_manager,
        march,
        12,
        AppointmentStatus.CANCELLED,
        cancellation_class=CancellationClass.CLIENT_LATE,
    )
    make(case_manager, march, 13, AppointmentStatus.HELD, channel=Channel.ON_SITE)
    make(case_manager, april, 9, AppointmentStatus.NO_SHOW, channel=Channel.ON_SITE)
    # Another team, and a month boundary in local time: 31 March 23:30 Berlin is March.
    make(other_case_manager, datetime.date(2025, 3, 31), 23, AppointmentStatus.HELD)
    # Booked but not yet held: not counted.
    make(case_manager, march, 15, AppointmentStatus.BOOKED)


def test_team_lead_sees_counts_of_their_team_by_month_and_channel(team_lead, history):
    rows = appointment_figures(
        viewer=team_lead, start=datetime.date(2025, 1, 1), end=datetime.date(2026, 1, 1)
    )
    table = {(r.month, r.channel): r for r in rows}
    assert set(table) == {
        (datetime.date(2025, 3, 1), Channel.VIDEO),
        (datetime.date(2025, 3, 1), Channel.ON_SITE),
        (datetime.date(2025, 4, 1), Channel.ON_SITE),
    }
    video = table[(datetime.date(2025, 3, 1), Channel.VIDEO)]
    assert (video.held, video.no_show, video.cancelled_client_late) == (2, 1, 1)
    assert video.show_rate == pytest.approx(2 / 3)
    assert (video.planned_minutes, video.actual_minutes, video.actual_count) == (60, 25, 1)
    assert table[(datetime.date(2025, 4, 1), Channel.ON_SITE)].show_rate == 0


def test_admin_sees_every_team_and_the_local_month(admin_user, history, other_case_manager):
    rows = appointment_figures(
        viewer=admin_user, start=datetime.date(2025, 1, 1), end=datetime.date(2026, 1, 1)
    )
    other = [r for r in rows if r.team_id == other_case_manager.team_id]
    assert [(r.month, r.held) for r in other] == [(datetime.date(2025, 3, 1), 1)]


@pytest.mark.parametrize("role", ["case_manager", "dpo"])
def test_case_managers_and_dpos_get_no_figures(request, role, history):
    viewer = request.getfixturevalue(role)
    assert (
        appointment_figures(
            viewer=viewer, start=datetime.date(2025, 1, 1), end=datetime.date(2026, 1, 1)
        )
        == []
    )
