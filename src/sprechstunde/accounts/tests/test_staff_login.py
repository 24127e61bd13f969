"""Staff log in with e-mail, password and a second factor; without one they can only set it up."""

from __future__ import annotations

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from sprechstunde.accounts.factories import (
    AdminFactory,
    CaseManagerFactory,
    ClientUserFactory,
    TeamLeadFactory,
)
from sprechstunde.accounts.role_pages import is_other_role_response

from .conftest import STAFF_PASSWORD, rfc6238_code, time_to_spare

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
MFA_AUTHENTICATE = reverse("mfa_authenticate")
MFA_SETUP = reverse("mfa_activate_totp")
PROFILE = reverse("accounts:profile")


def _password_step(client, user, password=STAFF_PASSWORD):
    return client.post(LOGIN, {"login": user.email, "password": password})


def _logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


def test_staff_login_needs_password_and_then_the_authenticator_code(client, case_manager):
    response = _password_step(client, case_manager)

    assert response.status_code == 302
    assert response["Location"] == MFA_AUTHENTICATE
    assert _logged_in_user_id(client) is None  # the password alone does not log in
    assert client.get(PROFILE)["Location"].startswith(LOGIN)

    wrong = client.post(MFA_AUTHENTICATE, {"code": "000000"})
    assert wrong.status_code == 200
    assert _logged_in_user_id(client) is None

    right = client.post(MFA_AUTHENTICATE, {"code": rfc6238_code(case_manager.totp_secret)})
    assert right.status_code == 302
    assert _logged_in_user_id(client) == str(case_manager.pk)
    methods = [record["method"] for record in client.session[AUTHENTICATION_METHODS_SESSION_KEY]]
    assert methods == ["password", "mfa"]
    assert client.get(PROFILE).status_code == 200


def test_wrong_password_never_reaches_the_second_factor(client, case_manager):
    response = _password_step(client, case_manager, password="not the password at all")

    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(MFA_AUTHENTICATE).status_code == 302  # no pending login to complete
    assert _logged_in_user_id(client) is None


def test_a_recovery_code_works_instead_of_the_app(client, case_manager):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(case_manager).generate_codes()
    _password_step(client, case_manager)

    response = client.post(MFA_AUTHENTICATE, {"code": codes[0]})

    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(case_manager.pk)


@pytest.mark.parametrize(
    "path",
    [
        reverse("accounts:profile"),
        reverse("core:home"),
        reverse("accounts:substitution_list"),
        reverse("usersessions_list"),
        reverse("account_change_password"),
    ],
)
def test_staff_without_second_factor_are_sent_to_its_setup_from_every_page(client, team, path):
    user = CaseManagerFactory(team=team, with_totp=False)
    client.force_login(user)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == MFA_SETUP


def test_staff_without_second_factor_can_reach_setup_logout_static_i18n_and_health(client, team):
    user = TeamLeadFactory(team=team, with_totp=False)
    client.force_login(user)

    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("mfa_add_webauthn")).status_code in {200, 302}
    assert client.get(reverse("core:health")).status_code == 200
    assert client.get("/static/css/app.css").status_code == 200
    language = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert language["Location"] == "/"
    logout = client.post(reverse("account_logout"))
    assert logout.status_code == 302
    assert _logged_in_user_id(client) is None


def test_staff_member_sets_up_totp_at_first_login_and_can_then_work(client, team):
    user = CaseManagerFactory(team=team, with_totp=False)
    # No authenticator yet: the password logs in, and every page leads to the setup.
    response = _password_step(client, user)
    assert response.status_code == 302
    assert client.get(PROFILE)["Location"] == MFA_SETUP

    setup = client.get(MFA_SETUP)
    assert setup.status_code == 200
    secret = setup.context["form"].secret
    bad = client.post(MFA_SETUP, {"code": "123456" if rfc6238_code(secret) != "123456" else "1"})
    assert bad.status_code == 200
    assert not Authenticator.objects.filter(user=user).exists()

    done = client.post(MFA_SETUP, {"code": rfc6238_code(secret)})

    assert done.status_code == 302
    assert done["Location"] == reverse("mfa_view_recovery_codes")  # recovery codes come along
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    codes = client.get(done["Location"])  # shown at once, without asking for the password again
    assert codes.status_code == 200
    assert len(codes.context["unused_codes"]) == 10
    assert client.get(PROFILE).status_code == 200


def test_clients_are_not_held_at_the_mfa_setup(client):
    client_user = ClientUserFactory()
    client.force_login(client_user)

    response = client.get(PROFILE)

    # Not held at the MFA setup: a client's account page is her portal settings page.
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:portal_settings")


def test_staff_cannot_remove_their_last_authenticator_app(client, case_manager):
    _password_step(client, case_manager)
    client.post(MFA_AUTHENTICATE, {"code": rfc6238_code(case_manager.totp_secret)})
    # allauth asks for the password again before any change to the second factor.
    assert client.post(reverse("mfa_deactivate_totp"))["Location"].startswith(
        reverse("account_reauthenticate")
    )
    client.post(reverse("account_reauthenticate"), {"password": STAFF_PASSWORD})

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 200
    assert response.context["form"].errors
    assert Authenticator.objects.filter(user=case_manager, type="totp").exists()


def test_password_login_of_staff_is_allowed_but_code_and_passkey_alone_are_refused(rf, team):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    from sprechstunde.accounts.adapters import AccountAdapter

    user = CaseManagerFactory(team=team)
    adapter = AccountAdapter()

    def attempt(records):
        request = rf.post(LOGIN)
        request.session = SessionStore()
        request.session[AUTHENTICATION_METHODS_SESSION_KEY] = records
        request.session["account_authentication_methods_user"] = str(user.pk)
        request._messages = FallbackStorage(request)
        return adapter.pre_login(
            request,
            user,
            email_verification="none",
            signal_kwargs=None,
            email=user.email,
            signup=False,
            redirect_url=None,
        )

    assert attempt([{"method": "password"}]) is None
    refused_code = attempt([{"method": "code", "email": user.email}])
    refused_passkey = attempt([{"method": "mfa", "type": "webauthn", "passwordless": True}])
    # Sent to the staff sign-in page, where the message says how staff log in.
    staff_login = reverse("account_login_staff")
    assert refused_code is not None and refused_code["Location"] == staff_login
    assert refused_passkey is not None and refused_passkey["Location"] == staff_login


def test_django_admin_sends_anonymous_visitors_to_the_allauth_login(client):
    response = client.get("/verwaltung/")

    assert response.status_code == 302
    assert response["Location"].startswith("/verwaltung/login/")
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"].startswith(LOGIN)


def test_django_admin_is_closed_to_an_admin_without_completed_second_factor(client):
    admin = AdminFactory(with_totp=False)
    _password_step(client, admin)  # password right, but no second factor set up

    response = client.get("/verwaltung/")

    assert response.status_code == 302
    assert response["Location"] == MFA_SETUP


def test_django_admin_is_closed_while_the_second_factor_is_pending(client):
    admin = AdminFactory()
    _password_step(client, admin)  # waiting for the TOTP code

    response = client.get("/verwaltung/", follow=True)

    # The login page resumes the pending login: it asks for the code, the admin stays closed.
    assert response.redirect_chain[-1][0] == MFA_AUTHENTICATE
    assert _logged_in_user_id(client) is None


def test_django_admin_opens_after_password_and_second_factor(client):
    admin = AdminFactory()
    _password_step(client, admin)
    client.post(MFA_AUTHENTICATE, {"code": rfc6238_code(admin.totp_secret)})

    response = client.get("/verwaltung/")

    assert response.status_code == 200


def test_django_admin_stays_closed_to_case_managers(client, case_manager):
    _password_step(client, case_manager)
    client.post(MFA_AUTHENTICATE, {"code": rfc6238_code(case_manager.totp_secret)})

    response = client.get("/verwaltung/", follow=True)

    assert response.status_code == 403


def test_an_authenticator_code_cannot_be_used_twice(client, case_manager):
    from django.test import Client

    # Both logins within one 30 s window: the replay must fail as a replay, not as an old code.
    time_to_spare(25)
    code = rfc6238_code(case_manager.totp_secret)
    _password_step(client, case_manager)
    client.post(MFA_AUTHENTICATE, {"code": code})
    assert _logged_in_user_id(client) == str(case_manager.pk)

    attacker = Client()
    _password_step(attacker, case_manager)
    replay = attacker.post(MFA_AUTHENTICATE, {"code": code})

    assert replay.status_code == 200
    assert _logged_in_user_id(attacker) is None


def test_first_setup_later_than_five_minutes_after_login_asks_for_the_password_again(client, team):
    from types import SimpleNamespace
    from unittest import mock

    from sprechstunde.accounts import adapters

    user = CaseManagerFactory(team=team, with_totp=False)
    _password_step(client, user)
    real = adapters.time.time

    with mock.patch.object(adapters, "time", SimpleNamespace(time=lambda: real() + 301)):
        response = client.get(MFA_SETUP)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_the_security_key_option_is_offered_only_to_those_who_have_a_key(client, team):
    from unittest import mock

    from allauth.mfa.webauthn.internal.flows import auth as webauthn_auth

    user = CaseManagerFactory(team=team)
    _password_step(client, user)
    assert 'id="mfa_webauthn_authenticate"' not in client.get(MFA_AUTHENTICATE).content.decode()

    # What allauth offers the browser for a user with one registered key.
    with_key = {
        "publicKey": {
            "challenge": "abc",
            "rpId": "testserver",
            "allowCredentials": [{"type": "public-key", "id": "AAAA"}],
        }
    }
    with mock.patch.object(webauthn_auth, "begin_authentication", return_value=with_key):
        page = client.get(MFA_AUTHENTICATE)

    assert page.status_code == 200
    assert 'id="mfa_webauthn_authenticate"' in page.content.decode()


@pytest.mark.parametrize("name", ["account_set_password", "account_change_password"])
def test_clients_cannot_open_the_password_pages(client, name):
    from sprechstunde.accounts.factories import ClientUserFactory

    user = ClientUserFactory()
    client.force_login(user)
    assert is_other_role_response(client.get(reverse(name)))
    assert (
        client.post(reverse(name), {"password1": "x" * 20, "password2": "x" * 20}).status_code
        == 404
    )
    user.refresh_from_db()
    assert not user.has_usable_password()
