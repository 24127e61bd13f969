"""The access rules for client data, against the database."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from sprechstunde.accounts.factories import (
    CaseManagerFactory,
    ClientUserFactory,
    SubstitutionFactory,
)
from sprechstunde.clients import permissions
from sprechstunde.clients.factories import ClientFactory

pytestmark = pytest.mark.django_db


def visible(user) -> set[int]:
    return set(permissions.clients_visible_to(user=user).values_list("pk", flat=True))


def test_case_manager_sees_own_clients_only(case_manager, client_record, foreign_client):
    assert visible(case_manager) == {client_record.pk}
    assert permissions.can_view_client(user=case_manager, client=client_record)
    assert not permissions.can_view_client(user=case_manager, client=foreign_client)


def test_case_manager_does_not_see_a_team_colleagues_clients(case_manager, team, client_record):
    colleague = CaseManagerFactory(team=team)
    colleague_client = ClientFactory(case_manager=colleague)
    assert colleague_client.pk not in visible(case_manager)


def test_substitute_sees_the_absent_colleagues_caseload_today(
    case_manager, client_record, foreign_client, substitution_today
):
    assert visible(case_manager) == {client_record.pk, foreign_client.pk}
    assert permissions.can_manage_client(user=case_manager, client=foreign_client)


@pytest.mark.parametrize("offset", [-3, 3])
def test_substitution_outside_its_dates_opens_nothing(
    case_manager, other_case_manager, foreign_client, offset
):
    day = timezone.localdate() + datetime.timedelta(days=offset)
    SubstitutionFactory(
        absent=other_case_manager, substitute=case_manager, starts_on=day, ends_on=day
    )
    assert foreign_client.pk not in visible(case_manager)


def test_the_absent_colleague_does_not_see_the_substitutes_clients(
    other_case_manager, client_record, foreign_client, substitution_today
):
    assert visible(other_case_manager) == {foreign_client.pk}


def test_team_lead_sees_the_clients_of_their_team_only(
    team, team_lead, client_record, foreign_client
):
    colleague_client = ClientFactory(case_manager=CaseManagerFactory(team=team))
    assert visible(team_lead) == {client_record.pk, colleague_client.pk}
    assert permissions.can_manage_client(user=team_lead, client=client_record)
    assert not permissions.can_view_client(user=team_lead, client=foreign_client)


@pytest.mark.parametrize("fixture", ["admin_user", "dpo"])
def test_admin_and_dpo_see_no_client_data(request, fixture, client_record, foreign_client):
    user = request.getfixturevalue(fixture)
    assert visible(user) == set()
    assert not permissions.can_create_clients(user=user)
    assert not permissions.can_view_client(user=user, client=client_record)


def test_a_client_sees_only_themself(client_record, foreign_client):
    user = ClientUserFactory(email=client_record.email)
    client_record.user = user
    client_record.save()
    assert visible(user) == {client_record.pk}
    assert permissions.can_view_client(user=user, client=client_record)
    assert not permissions.can_manage_client(user=user, client=client_record)
    assert not permissions.can_view_client(user=user, client=foreign_client)


def test_anonymous_and_deactivated_users_see_nothing(case_manager, client_record):
    assert visible(AnonymousUser()) == set()
    case_manager.is_active = False
    case_manager.save()
    assert visible(case_manager) == set()


def test_case_manager_assigns_new_clients_to_self_or_a_represented_colleague(
    case_manager, other_case_manager, substitution_today
):
    assignable = set(permissions.case_managers_assignable_by(user=case_manager))
    assert assignable == {case_manager, other_case_manager}


def test_team_lead_assigns_new_clients_to_the_teams_case_managers(
    team, team_lead, case_manager, other_case_manager
):
    inactive = CaseManagerFactory(team=team, is_active=False)
    assignable = set(permissions.case_managers_assignable_by(user=team_lead))
    assert case_manager in assignable
    assert other_case_manager not in assignable
    assert inactive not in assignable
    assert team_lead not in assignable
