"""Fixtures shared by every test: users named by role."""

import pytest

from sprechstunde.accounts.factories import (
    AdminFactory,
    CaseManagerFactory,
    DPOFactory,
    TeamFactory,
    TeamLeadFactory,
)


@pytest.fixture
def team(db):
    return TeamFactory(name="Team Nord")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Team Süd")


@pytest.fixture
def case_manager(team):
    return CaseManagerFactory(team=team, email="fm@jobcenter.example")


@pytest.fixture
def other_case_manager(other_team):
    return CaseManagerFactory(team=other_team, email="fm2@jobcenter.example")


@pytest.fixture
def team_lead(team):
    return TeamLeadFactory(team=team, email="tl@jobcenter.example")


@pytest.fixture
def admin_user(db):
    return AdminFactory(email="admin@jobcenter.example")


@pytest.fixture
def dpo(db):
    return DPOFactory(email="dsb@jobcenter.example")
