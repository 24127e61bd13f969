"""Session, cookie and server behaviours that OWASP ASVS asks for (docs/asvs.md names these)."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings
from django.urls import reverse

from sprechstunde.accounts.tests.conftest import rfc6238_code
from sprechstunde.audit.tests.conftest import login_staff

pytestmark = pytest.mark.django_db


def test_logging_in_gives_a_new_session_key(client, case_manager):
    client.get(reverse("account_login"))
    client.session["probe"] = "before login"
    client.session.save()
    before = client.session.session_key

    client.post(
        reverse("account_login_staff"),
        {"login": case_manager.email, "password": "correct horse battery staple"},
    )
    client.post(reverse("mfa_authenticate"), {"code": rfc6238_code(case_manager.totp_secret)})

    assert client.session.get(SESSION_KEY) == str(case_manager.pk)
    assert client.session.session_key != before


def test_session_keys_are_long_random_and_unique():
    keys = {SessionStore()._get_new_session_key() for _ in range(200)}

    assert len(keys) == 200
    assert all(re.fullmatch(r"[a-z0-9]{32}", key) for key in keys)


def test_logging_out_ends_the_session_on_the_server(client, case_manager):
    login_staff(client, case_manager)
    key = client.session.session_key

    client.post(reverse("account_logout"))

    assert not SessionStore().exists(key)
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_every_page_of_a_logged_in_person_offers_the_logout(client, case_manager):
    login_staff(client, case_manager)

    for name in ("accounts:profile", "clients:list", "appointments:today"):
        page = client.get(reverse(name)).content.decode()
        assert f'action="{reverse("account_logout")}"' in page, name


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_session_and_csrf_cookies_are_secure_httponly_and_same_site_under_tls(client, case_manager):
    client.get(reverse("account_login_staff"))
    response = client.post(
        reverse("account_login_staff"),
        {"login": case_manager.email, "password": "correct horse battery staple"},
        secure=True,
    )

    session = response.cookies["sessionid"]
    csrf = client.cookies["csrftoken"]
    for cookie in (session, csrf):
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"


def test_the_trace_method_is_refused(client):
    response = client.generic("TRACE", reverse("account_login"))

    assert response.status_code == 405


def test_static_folders_are_not_listed(client):
    assert client.get("/static/").status_code == 404
    assert client.get("/static/css/").status_code == 404


def test_a_server_error_shows_a_generic_page_without_details(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False

    with mock.patch("sprechstunde.core.views.connection") as connection:
        connection.cursor.side_effect = RuntimeError("secret detail")
        response = client.get(reverse("core:health"))

    assert response.status_code == 500
    assert b"secret detail" not in response.content
    assert b"Traceback" not in response.content
