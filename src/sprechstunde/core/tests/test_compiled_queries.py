"""A compiled query answers exactly what its queryset answers, for every set of arguments."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.accounts.models import Team, User
from sprechstunde.core.compiled_queries import CompiledQuery

pytestmark = pytest.mark.django_db


def _members(team_id: int):
    return User.objects.filter(team_id=team_id, is_active=True)


MEMBERS = CompiledQuery(_members, arguments=("team_id",), count=True)
JOINED_AFTER = CompiledQuery(
    lambda team_id, since: (
        _members(team_id).filter(date_joined__gt=since).order_by("pk").values_list("pk", "email")
    ),
    arguments=("team_id",),
    times=("since",),
    count=False,
)


def test_a_count_follows_its_argument_and_the_data():
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    CaseManagerFactory.create_batch(3, team=north)
    gone = CaseManagerFactory(team=south)

    assert MEMBERS.count(team_id=north.pk) == 3 == _members(north.pk).count()
    assert MEMBERS.count(team_id=south.pk) == 1
    gone.is_active = False
    gone.save()
    assert MEMBERS.count(team_id=south.pk) == 0


def test_rows_follow_a_time_argument():
    team = Team.objects.create(name="North")
    now = timezone.now()
    early = CaseManagerFactory(team=team, date_joined=now - datetime.timedelta(days=10))
    late = CaseManagerFactory(team=team, date_joined=now - datetime.timedelta(days=1))

    assert JOINED_AFTER.rows(team_id=team.pk, since=now - datetime.timedelta(days=30)) == [
        (early.pk, early.email),
        (late.pk, late.email),
    ]
    assert JOINED_AFTER.rows(team_id=team.pk, since=now - datetime.timedelta(days=5)) == [
        (late.pk, late.email)
    ]
    assert JOINED_AFTER.rows(team_id=team.pk, since=now) == []


def test_an_argument_the_sql_never_uses_is_refused():
    unused = CompiledQuery(
        lambda team_id: User.objects.filter(is_active=True), arguments=("team_id",), count=True
    )
    with pytest.raises(ImproperlyConfigured):
        unused.count(team_id=1)


def test_missing_or_naive_arguments_are_refused():
    with pytest.raises(TypeError):
        MEMBERS.count()
    with pytest.raises(TypeError):
        JOINED_AFTER.rows(team_id=1, since=datetime.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(TypeError):
        MEMBERS.rows(team_id=1)
