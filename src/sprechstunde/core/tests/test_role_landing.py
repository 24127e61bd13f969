"""Every role lands somewhere useful, and a page of another role says who uses it (issue 14,
ADR 0061)."""

from __future__ import annotations

import pytest
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from sprechstunde.accounts.choices import Role

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


@pytest.mark.parametrize(
    ("fixture", "route", "roles"),
    [
        ("admin_user", "messaging:inbox", "Case manager, Team lead"),
        ("dpo", "documents:requests_overdue", "Case manager, Team lead"),
        ("admin_user", "agreements:home", "Case manager, Team lead"),
        ("dpo", "agreements:postal_list", "Case manager, Team lead"),
        ("admin_user", "desk:today", "Case manager, Team lead"),
        ("team_lead", "appointments:office_hours", "Case manager"),
        ("case_manager", "retention:overview", "Data protection officer"),
        ("team_lead", "compliance:papers", "Data protection officer"),
        ("case_manager", "accessibility:feedback_list", "Administrator"),
    ],
)
def test_staff_lists_of_another_role_say_who_uses_them(request, fixture, route, roles):
    user = request.getfixturevalue(fixture)
    response = _browser(user).get(reverse(route))

    page = response.content.decode()
    assert response.status_code == 403
    assert f"This page is used by the role{'s' if ',' in roles else ''} {roles}." in page
    assert "please ask an administrator for the role" in page
    assert f'href="{reverse("core:home")}"' in page


@pytest.mark.parametrize(
    "route",
    ["clients:portal_home", "messaging:portal", "documents:portal", "agreements:portal"],
)
def test_a_portal_page_opened_by_staff_says_it_is_the_clients(case_manager, route):
    response = _browser(case_manager).get(reverse(route))

    page = response.content.decode()
    assert response.status_code == 403
    assert "This page is used by the role Client." in page
    assert "Clients open this page in their own portal." in page
    assert "ask an administrator" not in page
    assert f'href="{reverse("core:home")}"' in page


@pytest.fixture
def turkish_client(case_manager):
    from sprechstunde.accounts.models import User
    from sprechstunde.clients.factories import ClientFactory

    account = User.objects.create_user(
        "ayse@example.org", role=Role.CLIENT, preferred_language="tr"
    )
    ClientFactory(case_manager=case_manager, user=account, preferred_language="tr")
    return account


@pytest.mark.parametrize("route", ["desk:today", "audit:list", "agreements:home"])
def test_a_staff_page_opened_by_a_client_leads_back_to_the_portal_in_her_language(
    turkish_client, route
):
    response = _browser(turkish_client).get(reverse(route))

    page = response.content.decode()
    assert response.status_code == 403
    assert [template.name for template in response.templates][:1] == [
        "accounts/other_role_client.html"
    ]
    assert '<html lang="tr"' in page
    for text in (
        "A page for the Jobcenter's staff",
        "This page is used by the staff of the Jobcenter. Everything for you is in your portal.",
        "To my start page",
    ):
        with translation.override("tr"):
            turkish = gettext(text)
        assert turkish != text, f"no Turkish for {text!r}"
        assert escape(turkish) in page
    # The portal's own navigation, and the way back to her start page (core:home → portal).
    assert f'href="{reverse("clients:portal_home")}"' in page
    assert f'href="{reverse("core:home")}"' in page
    # Nothing of the staff page: no role names, no staff navigation.
    with translation.override("tr"):
        assert str(Role.CASE_MANAGER.label) not in page
    assert f'href="{reverse("clients:list")}"' not in page
