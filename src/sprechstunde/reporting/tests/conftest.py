"""Helpers for the figures tests: English pages, appointments in the past, an independent tally."""

from __future__ import annotations

import datetime
import io
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.factories import ClientFactory

BERLIN = ZoneInfo("Europe/Berlin")
# Part of every client's name in these tests: it must never appear on a figures page.
CLIENT_MARK = "Geheimname"


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read English msgids and number formats, whatever catalogs are compiled."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def past(day: datetime.date, hour: int, minutes: int = 30):
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
    return start, start + datetime.timedelta(minutes=minutes)


def make(case_manager, day, hour, status, *, channel=Channel.VIDEO, minutes=30, **kwargs):
    """One appointment of `case_manager` on `day` at `hour` local time."""
    starts_at, ends_at = past(day, hour, minutes)
    return AppointmentFactory(
        case_manager=case_manager,
        client=ClientFactory(case_manager=case_manager, last_name=f"{CLIENT_MARK}{hour}"),
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        channel=channel,
        **kwargs,
    )


@pytest.fixture
def demo_year(case_manager, other_case_manager, team):
    """The demo-year generator's appointments for three case managers in two teams."""
    colleague = CaseManagerFactory(team=team)
    for manager in (case_manager, colleague, other_case_manager):
        for number in range(3):
            ClientFactory(case_manager=manager, last_name=f"{CLIENT_MARK}{manager.pk}x{number}")
    call_command("appointments_demo_year", stdout=io.StringIO())
    return [case_manager, colleague, other_case_manager]


@dataclass
class Expected:
    """Counts computed in Python from the rows themselves, not through the selectors."""

    held: Counter = field(default_factory=Counter)
    no_show: Counter = field(default_factory=Counter)
    late: Counter = field(default_factory=Counter)
    cancelled: Counter = field(default_factory=Counter)
    planned: Counter = field(default_factory=Counter)
    actual: Counter = field(default_factory=Counter)
    actual_count: Counter = field(default_factory=Counter)

    def show_rate(self, key="all"):
        due = self.held[key] + self.no_show[key]
        return self.held[key] / due if due else None

    def total(self, key="all"):
        return self.held[key] + self.no_show[key] + self.cancelled[key]

    def short_notice_rate(self, key="all"):
        total = self.total(key)
        return self.late[key] / total if total else None


def expected_figures(*, start: datetime.date, last_day: datetime.date, team_ids=None) -> Expected:
    """Tally appointments starting between `start` and `last_day` (local days, both included)
    by "all", channel, team id, month ("YYYY-MM") and (month, channel)."""
    expected = Expected()
    for appointment in Appointment.objects.select_related("case_manager"):
        if appointment.starts_at is None:
            continue
        local = appointment.starts_at.astimezone(BERLIN)
        if not start <= local.date() <= last_day:
            continue
        team_id = appointment.case_manager.team_id
        if team_ids is not None and team_id not in team_ids:
            continue
        month = local.strftime("%Y-%m")
        keys = ["all", appointment.channel, ("team", team_id), month, (month, appointment.channel)]
        for key in keys:
            if appointment.status == AppointmentStatus.HELD:
                expected.held[key] += 1
                minutes = (appointment.ends_at - appointment.starts_at).total_seconds() / 60
                expected.planned[key] += minutes
                if appointment.actual_minutes is not None:
                    expected.actual[key] += appointment.actual_minutes
                    expected.actual_count[key] += 1
            elif appointment.status == AppointmentStatus.NO_SHOW:
                expected.no_show[key] += 1
            elif appointment.status == AppointmentStatus.CANCELLED:
                expected.cancelled[key] += 1
                if appointment.cancellation_class == "client_late":
                    expected.late[key] += 1
    return expected
