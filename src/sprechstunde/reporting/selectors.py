"""The figures of the reporting pages, built from the counts other apps' selectors hand out.

Nothing here touches a model: attendance and cancellations come from
`appointments.selectors.appointment_figures` (counts only, already limited to what the viewer
may see), team names from `accounts.selectors.team_choices`. No client, no case manager and no
appointment ever reaches these structures, so no page built from them can show one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext

from sprechstunde.accounts.selectors import team_choices
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.selectors import AppointmentFigures, appointment_figures

from .permissions import can_choose_team, can_view_figures

# The key of appointments whose case manager belongs to no team (only admins see it).
NO_TEAM = "none"


@dataclass(frozen=True)
class Tally:
    """Counts for one slice of the figures, and the rates and averages derived from them.

    Show rate: held among held + no-show. Short-notice rate: cancelled by the client less
    than 24 hours before, among every appointment counted (held, no-show or cancelled).
    Planned duration: over held appointments; actual duration: over the held appointments
    whose actual duration was recorded.
    """

    held: int = 0
    no_show: int = 0
    cancelled_client_early: int = 0
    cancelled_client_late: int = 0
    cancelled_jobcenter: int = 0
    planned_minutes: int = 0
    actual_minutes: int = 0
    actual_count: int = 0

    def plus(self, row: AppointmentFigures) -> Tally:
        """This tally with one row of `appointment_figures` added."""
        return Tally(
            held=self.held + row.held,
            no_show=self.no_show + row.no_show,
            cancelled_client_early=self.cancelled_client_early + row.cancelled_client_early,
            cancelled_client_late=self.cancelled_client_late + row.cancelled_client_late,
            cancelled_jobcenter=self.cancelled_jobcenter + row.cancelled_jobcenter,
            planned_minutes=self.planned_minutes + row.planned_minutes,
            actual_minutes=self.actual_minutes + row.actual_minutes,
            actual_count=self.actual_count + row.actual_count,
        )

    @property
    def due(self) -> int:
        """Appointments that were due to take place: held or no-show."""
        return self.held + self.no_show

    @property
    def cancelled(self) -> int:
        return self.cancelled_client_early + self.cancelled_client_late + self.cancelled_jobcenter

    @property
    def total(self) -> int:
        return self.due + self.cancelled

    @property
    def show_rate(self) -> float | None:
        return self.held / self.due if self.due else None

    @property
    def short_notice_rate(self) -> float | None:
        return self.cancelled_client_late / self.total if self.total else None

    @property
    def average_planned_minutes(self) -> float | None:
        return self.planned_minutes / self.held if self.held else None

    @property
    def average_actual_minutes(self) -> float | None:
        return self.actual_minutes / self.actual_count if self.actual_count else None


def _sum(rows: Iterable[AppointmentFigures]) -> Tally:
    tally = Tally()
    for row in rows:
        tally = tally.plus(row)
    return tally


@dataclass(frozen=True)
class Slice:
    """One labelled part of a breakdown: a channel, a team or a month."""

    key: str
    label: str
    tally: Tally


@dataclass(frozen=True)
class MonthFigures:
    """One calendar month: its total and one slice per channel (always all channels)."""

    month: datetime.date
    total: Tally
    by_channel: list[Slice]

    @property
    def key(self) -> str:
        return self.month.strftime("%Y-%m")


@dataclass(frozen=True)
class FiguresReport:
    """Everything the figures page and its CSV show, for [start, end) and one scope."""

    start: datetime.date
    end: datetime.date
    team_label: str
    total: Tally
    by_channel: list[Slice]
    by_team: list[Slice]
    by_month: list[MonthFigures]
    channels: list[tuple[str, str]] = field(default_factory=list)

    @property
    def last_day(self) -> datetime.date:
        """The last day counted (`end` is exclusive)."""
        return self.end - datetime.timedelta(days=1)


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The first day of every month that has a day in [start, end)."""
    months = []
    current = start.replace(day=1)
    while current < end:
        months.append(current)
        current = (current + datetime.timedelta(days=32)).replace(day=1)
    return months


def _channel_slices(rows: list[AppointmentFigures]) -> list[Slice]:
    return [
        Slice(key=value, label=str(label), tally=_sum(r for r in rows if r.channel == value))
        for value, label in Channel.choices
    ]


def _of_team(rows: list[AppointmentFigures], team_id: int) -> list[AppointmentFigures]:
    return [row for row in rows if row.team_id == team_id]


def figures_report(
    *,
    viewer: Any,
    start: datetime.date,
    end: datetime.date,
    team_id: int | None = None,
) -> FiguresReport | None:
    """Show rates, cancellations and durations for appointments starting in [start, end).

    A team lead gets their own team whatever `team_id` says; an administrator every team, or
    the one `team_id` names. None for anyone else (the view answers 404). Two queries: the
    teams and the counts (which `appointment_figures` also records in the audit trail).
    """
    if not can_view_figures(user=viewer) or end <= start:
        return None
    if can_choose_team(user=viewer):
        teams = list(team_choices())
        if team_id is not None:
            teams = [team for team in teams if team.pk == team_id]
            if not teams:
                return None
    else:
        team_id = viewer.team_id
        teams = list(team_choices().filter(pk=team_id))
    rows = appointment_figures(viewer=viewer, start=start, end=end)
    if team_id is not None:
        rows = [row for row in rows if row.team_id == team_id]

    by_team = [
        Slice(key=str(team.pk), label=team.name, tally=_sum(_of_team(rows, team.pk)))
        for team in teams
    ]
    known = {team.pk for team in teams}
    teamless = [row for row in rows if row.team_id not in known]
    if teamless:
        by_team.append(Slice(key=NO_TEAM, label=gettext("No team"), tally=_sum(teamless)))

    by_month = []
    for month in _months(start, end):
        in_month = [row for row in rows if row.month == month]
        by_month.append(
            MonthFigures(month=month, total=_sum(in_month), by_channel=_channel_slices(in_month))
        )

    team_label = teams[0].name if team_id is not None and teams else gettext("All teams")
    return FiguresReport(
        start=start,
        end=end,
        team_label=team_label,
        total=_sum(rows),
        by_channel=_channel_slices(rows),
        by_team=by_team,
        by_month=by_month,
        channels=[(value, str(label)) for value, label in Channel.choices],
    )
