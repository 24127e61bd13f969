"""The pages: "My account", sessions, staff and teams (administrators only)."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.urls import reverse

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import CaseManagerFactory, ClientUserFactory
from sprechstunde.accounts.models import Team, User
from sprechstunde.audit.models import AuditEntry

from .conftest import STAFF_PASSWORD, rfc6238_code

pytestmark = pytest.mark.django_db


def _full_login(client, user, *, user_agent="pytest-browser", code=None):
    """Password and second factor through the real pages (so allauth records a user session).
    A TOTP code is accepted once only, so a second login in the same half minute needs
    another code (a recovery code)."""
    client.defaults["HTTP_USER_AGENT"] = user_agent
    client.post(reverse("account_login"), {"login": user.email, "password": STAFF_PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": code or rfc6238_code(user.totp_secret)})
    assert client.session.get("_auth_user_id") == str(user.pk)


# --- My account ------------------------------------------------------------------------------


def test_profile_shows_name_role_team_and_the_ways_to_security_settings(client, case_manager):
    client.force_login(case_manager)

    response = client.get(reverse("accounts:profile"))

    html = response.content.decode()
    assert response.status_code == 200
    for expected in (
        case_manager.get_full_name(),
        case_manager.email,
        str(case_manager.team),
        reverse("mfa_index"),
        reverse("usersessions_list"),
        reverse("account_change_password"),
        reverse("accounts:substitution_list"),
    ):
        assert expected in html
    assert reverse("accounts:staff_list") not in html


def test_saving_the_language_switches_the_pages_to_it(client, case_manager):
    client.force_login(case_manager)

    response = client.post(reverse("accounts:profile"), {"preferred_language": "en"}, follow=True)

    case_manager.refresh_from_db()
    assert case_manager.preferred_language == "en"
    assert response.status_code == 200
    assert '<html lang="en"' in response.content.decode()
    # The browser asks for German, but the saved preference wins.
    page = client.get(reverse("accounts:profile"), HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="en"' in page.content.decode()


def test_an_unknown_language_is_a_form_error(client, case_manager):
    client.force_login(case_manager)

    response = client.post(reverse("accounts:profile"), {"preferred_language": "tlh"})

    assert response.status_code == 200
    assert response.context["form"].errors["preferred_language"]
    case_manager.refresh_from_db()
    assert case_manager.preferred_language == ""


def test_every_post_needs_a_csrf_token(case_manager, admin_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(case_manager)
    assert strict.post(reverse("accounts:profile"), {"preferred_language": "en"}).status_code == 403
    strict.force_login(admin_user)
    assert strict.post(reverse("accounts:team_list"), {"name": "Team X"}).status_code == 403
    assert not Team.objects.filter(name="Team X").exists()


def test_the_email_page_of_allauth_is_switched_off(client, case_manager):
    client.force_login(case_manager)

    response = client.post(reverse("account_email"), {"action_add": "", "email": "x@example.org"})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    case_manager.refresh_from_db()
    assert case_manager.email == "fm@jobcenter.example"


# --- Sessions --------------------------------------------------------------------------------


def test_sessions_are_listed_and_another_device_can_be_logged_out(client, case_manager):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from django.test import Client

    recovery_code = RecoveryCodes.activate(case_manager).generate_codes()[0]
    other_device = Client()
    _full_login(other_device, case_manager, user_agent="Other phone")
    _full_login(client, case_manager, user_agent="This laptop", code=recovery_code)

    listing = client.get(reverse("usersessions_list"))
    html = listing.content.decode()
    assert "Other phone" in html and "This laptop" in html
    other = UserSession.objects.get(user=case_manager, user_agent="Other phone")

    response = client.post(reverse("accounts:session_end", args=[other.pk]))

    assert response.status_code == 302
    assert not UserSession.objects.filter(pk=other.pk).exists()
    assert other_device.get(reverse("accounts:profile")).status_code == 302  # logged out there
    assert client.get(reverse("accounts:profile")).status_code == 200  # still in here


def test_ending_the_current_session_logs_out(client, case_manager):
    _full_login(client, case_manager)
    current = UserSession.objects.get(user=case_manager)

    response = client.post(reverse("accounts:session_end", args=[current.pk]))

    assert response["Location"] == reverse("account_login")
    assert "_auth_user_id" not in client.session


def test_someone_elses_session_answers_404_and_stays(client, case_manager, other_case_manager):
    from django.test import Client

    _full_login(Client(), other_case_manager)
    foreign = UserSession.objects.get(user=other_case_manager)
    _full_login(client, case_manager)

    response = client.post(reverse("accounts:session_end", args=[foreign.pk]))

    assert response.status_code == 404
    assert UserSession.objects.filter(pk=foreign.pk).exists()
    assert AuditEntry.objects.filter(action="session.access_denied").exists()


# --- Staff and teams -------------------------------------------------------------------------

ADMIN_PAGES = [
    ("accounts:staff_list", False),
    ("accounts:staff_create", False),
    ("accounts:staff_update", True),
    ("accounts:team_list", False),
    ("accounts:team_update", True),
]


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "dpo", "client"])
@pytest.mark.parametrize(("name", "needs_pk"), ADMIN_PAGES)
def test_staff_and_team_pages_are_for_admins_only(client, request, role, name, needs_pk, team):
    user = ClientUserFactory() if role == "client" else request.getfixturevalue(role)
    kwargs = {"pk": user.pk if name == "accounts:staff_update" else team.pk} if needs_pk else {}
    client.force_login(user)

    response = client.get(reverse(name, kwargs=kwargs))

    # A page naming an object stays 404; a list or form page names the role that uses it.
    assert response.status_code == (404 if needs_pk else 403)
    assert ('id="other-role"' in response.content.decode()) is not needs_pk
    assert client.post(reverse(name, kwargs=kwargs)).status_code == 404
    assert AuditEntry.objects.filter(actor_id=user.pk, action__endswith="access_denied").exists()


def test_an_admin_lists_staff_but_never_clients(client, admin_user, case_manager, team_lead):
    client_user = ClientUserFactory(first_name="Klara", last_name="Klientin")
    client.force_login(admin_user)

    html = client.get(reverse("accounts:staff_list")).content.decode()

    assert case_manager.email in html and team_lead.email in html
    assert "Klientin" not in html and client_user.email not in html
    assert client.get(reverse("accounts:staff_update", args=[client_user.pk])).status_code == 404
    action = reverse("accounts:staff_action", args=[client_user.pk])
    assert client.post(action, {"action": "deactivate"}).status_code == 404
    client_user.refresh_from_db()
    assert client_user.is_active


def test_an_admin_creates_a_staff_account_on_the_page(
    client, admin_user, team, django_capture_on_commit_callbacks, outbox
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:staff_create"),
            {
                "email": "neu@jobcenter.example",
                "first_name": "Nele",
                "last_name": "Neumann",
                "role": Role.CASE_MANAGER,
                "team": team.pk,
            },
        )

    assert response.status_code == 302
    user = User.objects.get(email="neu@jobcenter.example")
    assert (user.role, user.team) == (Role.CASE_MANAGER, team)
    assert [message.to for message in outbox] == [["neu@jobcenter.example"]]


def test_a_case_manager_without_team_is_a_form_error_and_nothing_is_created(
    client, admin_user, outbox
):
    client.force_login(admin_user)

    response = client.post(
        reverse("accounts:staff_create"),
        {"email": "neu@jobcenter.example", "last_name": "Neumann", "role": Role.CASE_MANAGER},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["team"]
    assert not User.objects.filter(email="neu@jobcenter.example").exists()
    assert outbox == []


def test_a_duplicate_address_is_reported_clearly(client, admin_user, case_manager):
    client.force_login(admin_user)

    response = client.post(
        reverse("accounts:staff_create"),
        {"email": case_manager.email.upper(), "last_name": "Zwei", "role": Role.ADMIN},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert User.objects.filter(email__iexact=case_manager.email).count() == 1


def test_an_admin_changes_deactivates_and_reactivates_a_colleague(
    client, admin_user, case_manager, other_team
):
    client.force_login(admin_user)
    edit = reverse("accounts:staff_update", args=[case_manager.pk])
    action = reverse("accounts:staff_action", args=[case_manager.pk])

    assert client.get(edit).status_code == 200
    client.post(
        edit,
        {"first_name": "F", "last_name": "Neu", "role": Role.TEAM_LEAD, "team": other_team.pk},
    )
    client.post(action, {"action": "deactivate"})
    case_manager.refresh_from_db()
    assert (case_manager.role, case_manager.team, case_manager.is_active) == (
        Role.TEAM_LEAD,
        other_team,
        False,
    )

    client.post(action, {"action": "reactivate"})
    case_manager.refresh_from_db()
    assert case_manager.is_active


def test_an_unknown_staff_action_changes_nothing(client, admin_user, case_manager):
    client.force_login(admin_user)

    response = client.post(
        reverse("accounts:staff_action", args=[case_manager.pk]), {"action": "delete"}
    )

    assert response.status_code == 302
    assert User.objects.filter(pk=case_manager.pk, is_active=True).exists()


def test_an_admin_creates_and_renames_teams(client, admin_user, team):
    client.force_login(admin_user)

    client.post(reverse("accounts:team_list"), {"name": "Team West"})
    duplicate = client.post(reverse("accounts:team_list"), {"name": "team nord"})
    west = Team.objects.get(name="Team West")
    client.post(reverse("accounts:team_update", args=[west.pk]), {"name": "Team Ost"})

    assert duplicate.status_code == 200 and duplicate.context["form"].errors["name"]
    assert sorted(Team.objects.values_list("name", flat=True)) == ["Team Nord", "Team Ost"]


def test_the_staff_list_needs_the_same_number_of_queries_for_more_staff(client, admin_user, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("accounts:staff_list")).status_code == 200
        return len(queries)

    count()
    before = count()
    for _ in range(5):
        CaseManagerFactory(team=team)
    assert count() == before
