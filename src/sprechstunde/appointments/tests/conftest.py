"""Helpers for the appointment tests: times relative to now, consent, a client's login."""

import datetime

import pytest
from django.utils import timezone, translation

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent, ConsentText


def local_dt(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """An aware datetime at a wall-clock time in Berlin."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def slot_start(delta: datetime.timedelta, *, minutes: int = 30) -> datetime.datetime:
    """A start at least ``delta`` from now, on the minute, for a slot of ``minutes``.

    An appointment must end on the local day it starts: a slot that would run past midnight
    starts at midnight instead (later, never sooner, than asked).
    """
    start = (timezone.now() + delta).replace(second=0, microsecond=0)
    day = timezone.localtime(start).date()
    if timezone.localtime(start + datetime.timedelta(minutes=minutes)).date() != day:
        start = local_dt(day + datetime.timedelta(days=1), 0)
    return start


def next_weekday(weekday: int, *, weeks_ahead: int = 1) -> datetime.date:
    """A date with the given weekday, at least a few days in the future."""
    day = timezone.localdate() + datetime.timedelta(days=7 * weeks_ahead)
    return day + datetime.timedelta(days=(weekday - day.weekday()) % 7)


def give_video_consent(client) -> Consent:
    text, _ = ConsentText.objects.get_or_create(
        purpose=ConsentPurpose.VIDEO,
        language="de",
        version=1,
        defaults={"title": "Video", "body": "Text", "published_at": timezone.now()},
    )
    return Consent.objects.create(
        client=client,
        purpose=ConsentPurpose.VIDEO,
        text=text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
    )


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read English msgids, whatever catalogs the lead has compiled."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def client_user(email: str) -> User:
    """A portal account (the accounts factory for clients sets no usable password)."""
    return User.objects.create_user(email, role=Role.CLIENT, first_name="Kim", last_name="Kunde")


@pytest.fixture
def client_record(case_manager):
    """A client of `case_manager` with a portal account."""
    user = client_user("kundin@example.org")
    return ClientFactory(
        case_manager=case_manager, user=user, email="kundin@example.org", preferred_language="en"
    )


@pytest.fixture
def foreign_client(other_case_manager):
    """A client of another case manager, in another team."""
    user = client_user("fremd@example.org")
    return ClientFactory(case_manager=other_case_manager, user=user, email="fremd@example.org")


@pytest.fixture
def slot():
    """Next week's Wednesday 10:00 to 10:30 local time."""
    day = next_weekday(2)
    return local_dt(day, 10), local_dt(day, 10, 30)
