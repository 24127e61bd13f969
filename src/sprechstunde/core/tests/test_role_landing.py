"""Every role lands somewhere useful, and a page of another role says who uses it (issue 14,
ADR 0061)."""

from __future__ import annotations

import pytest
from django.test import Client as WebClient
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _browser(user) -> WebClient:
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(user)
    return browser


@pytest.mark.parametrize(
    ("fixture", "landing"),
    [("admin_user", "accounts:staff_list"), ("dpo", "audit:list")],
)
def test_admin_and_dpo_land_on_their_own_work(request, fixture, landing):
    browser = _browser(request.getfixturevalue(fixture))

    response = browser.get(reverse("core:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse(landing)
    assert browser.get(response["Location"]).status_code == 200


def test_the_admins_landing_leads_to_staff_and_teams(admin_user):
    page = _browser(admin_user).get(reverse("accounts:staff_list")).content.decode()

    assert f'href="{reverse("accounts:team_list")}"' in page
    assert f'href="{reverse("accounts:staff_create")}"' in page


@pytest.mark.parametrize(
    ("fixture", "route", "roles"),
    [
        ("case_manager", "reporting:figures", "Team lead, Administrator"),
        ("team_lead", "audit:list", "Administrator, Data protection officer"),
        ("dpo", "clients:list", "Case manager, Team lead"),
        ("case_manager", "accounts:staff_list", "Administrator"),
    ],
)
def test_another_roles_page_says_who_uses_it(request, fixture, route, roles):
    user = request.getfixturevalue(fixture)
    response = _browser(user).get(reverse(route))

    page = response.content.decode()
    assert response.status_code == 403
    assert f"This page is used by the role{'s' if ',' in roles else ''} {roles}." in page
    assert f"You are signed in as: {user.get_role_display()}." in page
    assert f'href="{reverse("core:home")}"' in page


def test_an_object_of_another_role_stays_404(case_manager, team):
    browser = _browser(case_manager)

    assert browser.get(reverse("accounts:team_update", args=[team.pk])).status_code == 404
    assert browser.get(reverse("accounts:staff_update", args=[case_manager.pk])).status_code == 404
