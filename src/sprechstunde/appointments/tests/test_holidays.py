"""The holiday list an admin can prefill for the Land."""

import datetime

import pytest
from django.core.management import CommandError, call_command

from sprechstunde.appointments.holidays import easter_sunday, holidays_for
from sprechstunde.appointments.models import PublicHoliday


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2024, (3, 31)), (2025, (4, 20)), (2026, (4, 5)), (2027, (3, 28)), (2038, (4, 25))],
)
def test_easter_sunday(year, expected):
    assert easter_sunday(year) == datetime.date(year, *expected)


def test_baden_wuerttemberg_2026():
    days = dict(holidays_for(year=2026, land="bw"))
    assert len(days) == 12
    assert days[datetime.date(2026, 4, 3)] == "Karfreitag"
    assert days[datetime.date(2026, 5, 14)] == "Christi Himmelfahrt"
    assert days[datetime.date(2026, 6, 4)] == "Fronleichnam"
    assert days[datetime.date(2026, 1, 6)] == "Heilige Drei Könige"
    assert datetime.date(2026, 10, 31) not in days


def test_saxony_has_repentance_day_on_the_wednesday_before_23_november():
    days = dict(holidays_for(year=2026, land="SN"))
    assert days[datetime.date(2026, 11, 18)] == "Buß- und Bettag"
    assert datetime.date(2027, 11, 17) in dict(holidays_for(year=2027, land="SN"))


@pytest.mark.django_db
def test_command_is_idempotent_and_refuses_an_unknown_land():
    call_command("appointments_load_holidays", land="BW", years=[2027])
    call_command("appointments_load_holidays", land="BW", years=[2027])
    assert PublicHoliday.objects.count() == 12
    with pytest.raises(CommandError):
        call_command("appointments_load_holidays", land="XX", years=[2027])
