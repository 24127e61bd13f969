"""Session, cookie and server behaviours that OWASP ASVS asks for (docs/asvs.md names these)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, override_settings
from django.urls import reverse

from sprechstunde.accounts.tests.conftest import rfc6238_code
from sprechstunde.audit.tests.conftest import login_staff

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[4]


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


def _cookie_names_of_the_settings(**environment: str) -> dict[str, str]:
    """The cookie names `config.settings.base` gives in a fresh process with this environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"USE_TLS", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "PYTHONPATH": str(REPO / "src"),
            "SECRET_KEY": "cookie-test-only",
            **environment,
        }
    )
    program = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({n: getattr(s, n) for n in "
        "('SESSION_COOKIE_NAME', 'CSRF_COOKIE_NAME', 'LANGUAGE_COOKIE_NAME', "
        "'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_DOMAIN', 'SESSION_COOKIE_PATH', "
        "'CSRF_COOKIE_DOMAIN', 'CSRF_COOKIE_PATH')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_production_settings_give_the_cookies_the_host_prefix_and_plain_http_does_not():
    production = _cookie_names_of_the_settings(DEBUG="false")
    plain_http = _cookie_names_of_the_settings(DEBUG="false", USE_TLS="false")

    assert production["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert production["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert production["LANGUAGE_COOKIE_NAME"] == "__Host-django_language"
    # What browsers demand of a __Host- cookie: Secure, Path=/, no Domain.
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_DOMAIN"] is None
    assert production["CSRF_COOKIE_DOMAIN"] is None
    assert production["SESSION_COOKIE_PATH"] == production["CSRF_COOKIE_PATH"] == "/"
    # Browsers drop __Host- cookies that are not Secure, so plain HTTP keeps the plain names.
    assert plain_http["SESSION_COOKIE_NAME"] == "sessionid"
    assert plain_http["CSRF_COOKIE_NAME"] == "csrftoken"


@override_settings(
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SESSION_COOKIE_NAME="__Host-sessionid",
    CSRF_COOKIE_NAME="__Host-csrftoken",
)
def test_host_prefixed_cookies_are_set_as_browsers_require_and_csrf_still_works(case_manager):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("account_login_staff"), secure=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    referer = "https://testserver" + reverse("account_login_staff")

    forged = Client(enforce_csrf_checks=True).post(
        reverse("account_login_staff"),
        {"login": case_manager.email, "password": "correct horse battery staple"},
        secure=True,
        HTTP_REFERER=referer,
    )
    response = browser.post(
        reverse("account_login_staff"),
        {
            "login": case_manager.email,
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": token.group(1),
        },
        secure=True,
        HTTP_REFERER=referer,
    )

    assert forged.status_code == 403
    assert response.status_code == 302
    assert "sessionid" not in response.cookies and "csrftoken" not in browser.cookies
    for cookie in (response.cookies["__Host-sessionid"], browser.cookies["__Host-csrftoken"]):
        header = cookie.OutputString()
        assert cookie["secure"] is True
        assert cookie["path"] == "/"
        assert "Domain=" not in header


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
