"""figures_report: rates, durations and breakdowns match what the rows say, for the right scope."""

import datetime

import pytest
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, TeamLeadFactory
from sprechstunde.appointments.choices import AppointmentStatus, CancellationClass, Channel
from sprechstunde.reporting.forms import default_range
from sprechstunde.reporting.selectors import NO_TEAM, figures_report

from .conftest import expected_figures, make

pytestmark = pytest.mark.django_db


def year_range():
    today = timezone.localdate()
    return today - datetime.timedelta(days=366), today


def test_team_lead_figures_match_an_independent_count_of_the_demo_year(team_lead, demo_year):
    start, last_day = year_range()
    report = figures_report(
        viewer=team_lead, start=start, end=last_day + datetime.timedelta(days=1)
    )
    expected = expected_figures(start=start, last_day=last_day, team_ids={team_lead.team_id})

    assert report.total.total == expected.total() > 400  # two case managers, a year each
    assert report.total.show_rate == pytest.approx(expected.show_rate())
    assert report.total.short_notice_rate == pytest.approx(expected.short_notice_rate())
    assert report.total.cancelled_client_late == expected.late["all"] > 0
    assert report.total.average_planned_minutes == pytest.approx(
        expected.planned["all"] / expected.held["all"]
    )
    assert report.total.average_actual_minutes == pytest.approx(
        expected.actual["all"] / expected.actual_count["all"]
    )
    for item in report.by_channel:
        assert (item.tally.held, item.tally.no_show) == (
            expected.held[item.key],
            expected.no_show[item.key],
        )
        assert item.tally.show_rate == pytest.approx(expected.show_rate(item.key))
    for month in report.by_month:
        assert month.total.show_rate == pytest.approx(expected.show_rate(month.key))
        assert month.total.short_notice_rate == pytest.approx(expected.short_notice_rate(month.key))
        for item in month.by_channel:
            assert item.tally.held == expected.held[(month.key, item.key)]
    # The field report's pattern: online appointments take place more often than on site.
    rates = {item.key: item.tally.show_rate for item in report.by_channel}
    assert rates[Channel.VIDEO] > rates[Channel.ON_SITE]
    assert [item.label for item in report.by_team] == [team_lead.team.name]


def test_admin_sees_every_team_or_the_one_chosen(admin_user, demo_year, team, other_team):
    start, last_day = year_range()
    end = last_day + datetime.timedelta(days=1)
    everything = figures_report(viewer=admin_user, start=start, end=end)
    expected = expected_figures(start=start, last_day=last_day)
    assert everything.team_label == "All teams"
    assert everything.total.total == expected.total()
    by_team = {item.label: item.tally for item in everything.by_team}
    assert set(by_team) == {team.name, other_team.name}
    for team_ in (team, other_team):
        key = ("team", team_.pk)
        assert by_team[team_.name].show_rate == pytest.approx(expected.show_rate(key))
        assert by_team[team_.name].total == expected.total(("team", team_.pk))

    only_other = figures_report(viewer=admin_user, start=start, end=end, team_id=other_team.pk)
    assert only_other.team_label == other_team.name
    assert only_other.total.total == expected.total(("team", other_team.pk))
    assert [item.label for item in only_other.by_team] == [other_team.name]


def test_a_team_lead_cannot_widen_the_scope_with_a_team_id(team_lead, demo_year, other_team):
    start, last_day = year_range()
    report = figures_report(
        viewer=team_lead,
        start=start,
        end=last_day + datetime.timedelta(days=1),
        team_id=other_team.pk,
    )
    expected = expected_figures(start=start, last_day=last_day, team_ids={team_lead.team_id})
    assert report.team_label == team_lead.team.name
    assert report.total.total == expected.total()


@pytest.mark.parametrize("role", ["case_manager", "dpo"])
def test_case_managers_and_dpos_get_no_report(request, role, demo_year):
    start, last_day = year_range()
    viewer = request.getfixturevalue(role)
    assert figures_report(viewer=viewer, start=start, end=last_day) is None


def test_a_team_lead_without_team_gets_no_report(db):
    start, end = year_range()
    assert figures_report(viewer=TeamLeadFactory(team=None), start=start, end=end) is None


def test_an_unknown_team_gives_no_report(admin_user, team):
    start, end = year_range()
    assert figures_report(viewer=admin_user, start=start, end=end, team_id=team.pk + 99) is None


def test_rates_and_months_on_a_small_hand_made_set(team_lead, case_manager):
    march, april = datetime.date(2025, 3, 10), datetime.date(2025, 4, 2)
    make(case_manager, march, 9, AppointmentStatus.HELD, actual_minutes=40)
    make(case_manager, march, 10, AppointmentStatus.HELD, minutes=60)
    make(case_manager, march, 11, AppointmentStatus.NO_SHOW, channel=Channel.PHONE)
    make(
        case_manager,
        march,
        12,
        AppointmentStatus.CANCELLED,
        cancellation_class=CancellationClass.CLIENT_LATE,
    )
    make(
        case_manager,
        april,
        12,
        AppointmentStatus.CANCELLED,
        cancellation_class=CancellationClass.JOBCENTER,
    )
    # 1 March 00:30 in Berlin is still 28 February in UTC: it counts for March.
    make(case_manager, datetime.date(2025, 3, 1), 0, AppointmentStatus.HELD)
    make(case_manager, march, 15, AppointmentStatus.BOOKED)  # not over: not counted

    report = figures_report(
        viewer=team_lead, start=datetime.date(2025, 2, 15), end=datetime.date(2025, 5, 1)
    )
    assert [m.key for m in report.by_month] == ["2025-02", "2025-03", "2025-04"]
    february, march_figures, april_figures = report.by_month
    assert february.total.total == 0 and february.total.show_rate is None
    assert (march_figures.total.held, march_figures.total.no_show) == (3, 1)
    assert march_figures.total.show_rate == 0.75
    assert march_figures.total.short_notice_rate == 1 / 5
    assert april_figures.total.short_notice_rate == 0
    assert report.total.short_notice_rate == 1 / 6
    assert report.total.average_planned_minutes == (30 + 60 + 30) / 3
    assert report.total.average_actual_minutes == 40
    video, phone, on_site = report.by_channel
    assert (video.key, video.tally.show_rate) == (Channel.VIDEO, 1.0)
    assert (phone.key, phone.tally.show_rate) == (Channel.PHONE, 0.0)
    assert on_site.tally.total == 0 and on_site.tally.show_rate is None


def test_case_managers_without_team_show_as_no_team_for_admins(admin_user):
    loner = CaseManagerFactory(team=None)
    make(loner, datetime.date(2025, 3, 10), 9, AppointmentStatus.HELD)
    report = figures_report(
        viewer=admin_user, start=datetime.date(2025, 3, 1), end=datetime.date(2025, 4, 1)
    )
    assert [(s.key, s.tally.held) for s in report.by_team] == [(NO_TEAM, 1)]


def test_default_range_is_the_current_month_and_the_eleven_before():
    first, last = default_range(datetime.date(2025, 3, 18))
    assert (first, last) == (datetime.date(2024, 4, 1), datetime.date(2025, 3, 31))
    first, last = default_range(datetime.date(2024, 12, 31))
    assert (first, last) == (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    first, last = default_range(datetime.date(2024, 2, 1))
    assert (first, last) == (datetime.date(2023, 3, 1), datetime.date(2024, 2, 29))
