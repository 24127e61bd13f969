"""Administrators create, change, lock and unlock staff accounts, and keep the teams."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from sprechstunde.accounts import services
from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import AdminFactory, CaseManagerFactory, ClientUserFactory
from sprechstunde.accounts.models import Team, User
from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

pytestmark = pytest.mark.django_db


def _actions(target) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def test_staff_create_makes_an_account_without_password_and_mails_a_link(
    admin_user, team, django_capture_on_commit_callbacks, outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.staff_create(
            actor=admin_user,
            email=" Neu.Kollegin@Jobcenter.example ",
            first_name="Nele",
            last_name="Neumann",
            role=Role.CASE_MANAGER,
            team=team,
        )

    user.refresh_from_db()
    assert user.email == "neu.kollegin@jobcenter.example"
    assert (user.role, user.team, user.is_active) == (Role.CASE_MANAGER, team, True)
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser
    assert _actions(user) == ["staff.create"]
    assert [message.to for message in outbox] == [[user.email]]
    link = re.search(r"https?://\S+", outbox[0].body).group(0)
    assert "/accounts/password/reset/key/" in link


def test_the_mailed_link_lets_the_new_colleague_choose_a_password(
    client, admin_user, team, django_capture_on_commit_callbacks, outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.staff_create(
            actor=admin_user,
            email="nele@jobcenter.example",
            first_name="Nele",
            last_name="Neumann",
            role=Role.TEAM_LEAD,
            team=team,
        )
    path = re.search(r"https?://[^/]+(/\S+)", outbox[0].body).group(1)

    form_page = client.get(path, follow=True)
    new_password = "ein sehr langes Passwort 2026!"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"password1": new_password, "password2": new_password},
    )

    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_an_administrator_account_may_open_django_admin_but_is_no_superuser(admin_user):
    user = services.staff_create(
        actor=admin_user,
        email="it@jobcenter.example",
        first_name="",
        last_name="IT",
        role=Role.ADMIN,
    )

    assert user.is_staff and not user.is_superuser


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "fm@jobcenter.example"}, "email"),  # taken by the case_manager fixture
        ({"email": "FM@Jobcenter.Example"}, "email"),  # the same, in other letters
        ({"last_name": "  "}, "last_name"),
        ({"role": Role.CLIENT}, "role"),
        ({"role": Role.CASE_MANAGER, "team": None}, "team"),
        ({"role": Role.TEAM_LEAD, "team": None}, "team"),
    ],
)
def test_staff_create_refuses_bad_input_and_saves_nothing(
    admin_user, team, case_manager, changes, field
):
    data = {
        "email": "neu@jobcenter.example",
        "first_name": "Nele",
        "last_name": "Neumann",
        "role": Role.CASE_MANAGER,
        "team": team,
        **changes,
    }
    before = User.objects.count()

    with pytest.raises(ApplicationError) as raised:
        services.staff_create(actor=admin_user, **data)

    assert raised.value.field == field
    assert User.objects.count() == before
    assert not AuditEntry.objects.filter(action="staff.create").exists()


def test_staff_create_refuses_a_weak_password(admin_user):
    with pytest.raises(ApplicationError) as raised:
        services.staff_create(
            actor=None,
            email="first@jobcenter.example",
            first_name="",
            last_name="Admin",
            role=Role.ADMIN,
            password="12345678",
        )

    assert raised.value.field == "password"


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "dpo", "client"])
def test_only_administrators_manage_staff(request, team, role):
    actor = {
        "case_manager": lambda: CaseManagerFactory(team=team),
        "team_lead": lambda: request.getfixturevalue("team_lead"),
        "dpo": lambda: request.getfixturevalue("dpo"),
        "client": lambda: ClientUserFactory(),
    }[role]()
    victim = CaseManagerFactory(team=team)

    with pytest.raises(PermissionDeniedError):
        services.staff_create(
            actor=actor, email="x@jobcenter.example", first_name="", last_name="X", role="admin"
        )
    with pytest.raises(PermissionDeniedError):
        services.staff_deactivate(actor=actor, user=victim)
    with pytest.raises(PermissionDeniedError):
        services.team_create(actor=actor, name="Team West")
    victim.refresh_from_db()
    assert victim.is_active


def test_deactivating_locks_the_account_ends_its_sessions_and_is_audited(admin_user, case_manager):
    store = SessionStore()
    store.create()
    UserSession.objects.create(
        user=case_manager, session_key=store.session_key, ip="127.0.0.1", user_agent="test"
    )

    services.staff_deactivate(actor=admin_user, user=case_manager)

    case_manager.refresh_from_db()
    assert not case_manager.is_active
    assert not UserSession.objects.filter(user=case_manager).exists()
    assert not SessionStore().exists(store.session_key)
    assert _actions(case_manager) == ["staff.deactivate"]

    services.staff_reactivate(actor=admin_user, user=case_manager)
    case_manager.refresh_from_db()
    assert case_manager.is_active
    assert _actions(case_manager) == ["staff.deactivate", "staff.reactivate"]


def test_a_deactivated_colleague_cannot_log_in(client, admin_user, case_manager):
    services.staff_deactivate(actor=admin_user, user=case_manager)

    client.post(
        reverse("account_login"),
        {"login": case_manager.email, "password": "correct horse battery staple"},
    )

    assert client.get(reverse("accounts:profile")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_administrators_cannot_lock_themselves_out(admin_user):
    with pytest.raises(ApplicationError):
        services.staff_deactivate(actor=admin_user, user=admin_user)
    with pytest.raises(ApplicationError) as raised:
        services.staff_update(
            actor=admin_user,
            user=admin_user,
            first_name="",
            last_name="Admin",
            role=Role.CASE_MANAGER,
            team=Team.objects.create(name="Team X"),
        )
    assert raised.value.field == "role"
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.role == Role.ADMIN


def test_the_last_active_administrator_stays(admin_user):
    other_admin = AdminFactory()
    services.staff_deactivate(actor=other_admin, user=admin_user)

    with pytest.raises(ApplicationError):
        # The system (actor None) cannot remove the last active administrator either.
        services.staff_deactivate(actor=None, user=other_admin)


def test_staff_update_changes_role_and_team_and_is_audited(admin_user, case_manager, other_team):
    services.staff_update(
        actor=admin_user,
        user=case_manager,
        first_name="Frieda",
        last_name="Fallmann",
        role=Role.TEAM_LEAD,
        team=other_team,
    )

    case_manager.refresh_from_db()
    assert (case_manager.role, case_manager.team, case_manager.last_name) == (
        Role.TEAM_LEAD,
        other_team,
        "Fallmann",
    )
    assert _actions(case_manager) == ["staff.update"]


def test_client_accounts_are_out_of_reach_of_staff_management(admin_user):
    client_user = ClientUserFactory()

    with pytest.raises(PermissionDeniedError):
        services.staff_deactivate(actor=admin_user, user=client_user)
    with pytest.raises(PermissionDeniedError):
        services.staff_update(
            actor=admin_user,
            user=client_user,
            first_name="",
            last_name="X",
            role="admin",
            team=None,
        )


def test_resetting_the_second_factor_removes_all_authenticators(admin_user, case_manager):
    assert Authenticator.objects.filter(user=case_manager).exists()

    services.staff_mfa_reset(actor=admin_user, user=case_manager)

    assert not Authenticator.objects.filter(user=case_manager).exists()
    assert _actions(case_manager) == ["staff.mfa_reset"]


def test_a_new_password_link_can_be_sent_again(
    admin_user, case_manager, django_capture_on_commit_callbacks, outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        services.staff_password_link_send(actor=admin_user, user=case_manager)

    assert [message.to for message in outbox] == [[case_manager.email]]
    assert _actions(case_manager) == ["staff.password_link"]


def test_teams_are_created_and_renamed_with_unique_names(admin_user):
    team = services.team_create(actor=admin_user, name="  Team   West ")
    assert team.name == "Team West"
    with pytest.raises(ApplicationError) as raised:
        services.team_create(actor=admin_user, name="team west")
    assert raised.value.field == "name"
    with pytest.raises(ApplicationError):
        services.team_create(actor=admin_user, name="   ")

    services.team_rename(actor=admin_user, team=team, name="Team Ost")

    team.refresh_from_db()
    assert team.name == "Team Ost"
    assert _actions(team) == ["team.create", "team.rename"]
    assert Team.objects.count() == 1


def test_language_preference_accepts_offered_languages_only(case_manager):
    services.user_preferences_update(user=case_manager, preferred_language="en")
    case_manager.refresh_from_db()
    assert case_manager.preferred_language == "en"

    with pytest.raises(ApplicationError):
        services.user_preferences_update(user=case_manager, preferred_language="xx")
    services.user_preferences_update(user=case_manager, preferred_language="")
    case_manager.refresh_from_db()
    assert case_manager.preferred_language == ""
