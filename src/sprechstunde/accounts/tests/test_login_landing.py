"""The login landing leads clients to the code login and staff to their own page; a failed
password login answers the same for a client's address, an unknown one and staff (ADR 0050)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse
from django.utils import translation

from sprechstunde.accounts.factories import ClientUserFactory

from .conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

LANDING = reverse("account_login")
STAFF_LOGIN = reverse("account_login_staff")
REQUEST_CODE = reverse("account_request_login_code")
FAILED = "E-mail or password wrong."
HINT = "Clients sign in with a code by e-mail:"


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read English msgids, whatever catalogues are compiled."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


class CountingHasher(MD5PasswordHasher):
    """The test settings' hasher, counting how often it hashes: the work a login does."""

    encodings = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.encodings += 1
        return super().encode(password, salt)


def _links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link, text without tags and spaces collapsed."""
    found = re.findall(r'<a\b[^>]*href="([^"]*)"[^>]*>(.*?)</a>', html, flags=re.S)
    return [
        (unescape(href), " ".join(re.sub(r"<[^>]+>", "", text).split())) for href, text in found
    ]


def test_landing_offers_the_code_login_first_and_staff_sign_in_as_a_secondary_link(client):
    html = client.get(LANDING).content.decode()

    main = html[html.index("<main") :]
    links = _links(main)
    code = links.index((REQUEST_CODE, "Sign in with a code by e-mail"))
    staff = links.index((STAFF_LOGIN, "Staff sign-in"))
    assert code < staff
    assert 'data-testid="code-login"' in main and "button--block" in re.search(
        r'<a[^>]*data-testid="code-login"[^>]*>', main
    ).group(0)
    assert "button--link" in re.search(r'<a[^>]*data-testid="staff-login"[^>]*>', main).group(0)
    # No password form on the landing: nobody types an address into the wrong form first.
    assert 'name="password"' not in html


def test_landing_passes_the_page_asked_for_on_to_both_ways_in(client):
    html = client.get(LANDING, {"next": "/termine/meine/"}).content.decode()

    hrefs = [href for href, _text in _links(html)]
    assert f"{REQUEST_CODE}?next=%2Ftermine%2Fmeine%2F" in hrefs
    assert f"{STAFF_LOGIN}?next=%2Ftermine%2Fmeine%2F" in hrefs


def test_staff_page_has_the_password_form_and_logs_staff_in(client, case_manager):
    page = client.get(STAFF_LOGIN).content.decode()
    assert 'name="password"' in page and f'action="{STAFF_LOGIN}"' in page

    response = client.post(STAFF_LOGIN, {"login": case_manager.email, "password": STAFF_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")  # then the second factor


def _normalised(response, typed: str) -> str:
    """The page without what differs by design: the CSRF token and the echoed address."""
    html = response.content.decode().replace(typed, "ADDRESS")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)


@pytest.mark.parametrize("url", [STAFF_LOGIN, LANDING])
def test_failed_password_login_is_the_same_for_client_unknown_and_staff(
    client, case_manager, settings, url
):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    client_user = ClientUserFactory(email="klara@example.org")
    attempts = {
        "client": (client_user.email, "anything"),
        "unknown": ("niemand@example.org", "anything"),
        "staff, wrong password": (case_manager.email, "not the password"),
    }
    responses, pages, hashings = {}, {}, {}
    for who, (email, password) in attempts.items():
        client.cookies.clear()
        CountingHasher.encodings = 0
        responses[who] = client.post(url, {"login": email, "password": password})
        hashings[who] = CountingHasher.encodings
        pages[who] = _normalised(responses[who], email)

    for who, response in responses.items():
        assert response.status_code == 200, who
        assert client.session.get(SESSION_KEY) is None
        html = response.content.decode()
        assert FAILED in html and HINT in html, who
        alert = re.search(r'data-testid="login-failed".*?</div>', html, flags=re.S).group(0)
        assert (REQUEST_CODE, "Sign in with a code by e-mail") in _links(alert), who
    assert pages["client"] == pages["unknown"] == pages["staff, wrong password"]
    assert {who: sorted(r.cookies) for who, r in responses.items()} == dict.fromkeys(
        attempts, sorted(responses["client"].cookies)
    )
    # The same timing class: each answer costs the same number of password hashings (one
    # per authentication backend), whether a password was stored (staff), is unusable
    # (client) or there is no account at all.
    assert hashings["client"] >= 1
    assert hashings == dict.fromkeys(attempts, hashings["client"])


def test_failures_from_the_staff_form_still_spend_the_clients_budget(client, settings):
    """The per-account failure budget (ADR 0039) counts a client's address typed into the
    staff form like any other attempt; the pause then looks like an unknown address's."""
    settings.LOGIN_FAILURE_BUDGET = 2
    client_user = ClientUserFactory(email="klara@example.org")
    pages = {}
    for email in (client_user.email, "niemand@example.org"):
        for _attempt in range(2):
            first = client.post(STAFF_LOGIN, {"login": email, "password": "x"})
            assert FAILED in first.content.decode()
        paused = client.post(STAFF_LOGIN, {"login": email, "password": "x"})
        assert paused.status_code == 200
        pages[email] = _normalised(paused, email)
        assert "signing in is paused" in paused.content.decode()
        assert HINT in paused.content.decode()
    assert pages[client_user.email] == pages["niemand@example.org"]
