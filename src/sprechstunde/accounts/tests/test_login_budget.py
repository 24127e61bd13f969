"""One failure budget per account, whatever the source address: codes, passwords and TOTP.

An attacker rotates addresses and browser sessions, so every guess here comes from a new
test client with its own REMOTE_ADDR. allauth's short-term limits (code requests per address
and minute, password failures per 5 minutes) are lifted where they would stop the attacker
before the budget does; they are tested in test_login_code.py.
"""

from __future__ import annotations

import io
import math
import re
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from sprechstunde.accounts import login_budget
from sprechstunde.accounts.factories import ClientUserFactory
from sprechstunde.audit.models import AuditEntry

from .conftest import STAFF_PASSWORD, codes_in_mail, rfc6238_code

pytestmark = pytest.mark.django_db

REQUEST_CODE = reverse("account_request_login_code")
CONFIRM_CODE = reverse("account_confirm_login_code")
LOGIN = reverse("account_login")
MFA_AUTHENTICATE = reverse("mfa_authenticate")
REPO = Path(__file__).resolve().parents[4]
# As configured, before the fixture below lifts it for the other tests.
REQUEST_CODE_LIMIT = django_settings.ACCOUNT_RATE_LIMITS["request_login_code"]


@pytest.fixture(autouse=True)
def _short_term_limits_lifted(settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "request_login_code": "1000/m/ip,1000/m/key",
        "login_failed": "1000/m/ip,1000/m/key",
    }
    settings.MFA_RATE_LIMITS = {}


@pytest.fixture
def client_user(db):
    return ClientUserFactory(email="klara.klient@example.org", preferred_language="en")


def _paused_text() -> str:
    return str(login_budget.LOGIN_PAUSED_MESSAGE)


_counter = iter(range(1, 1_000_000))


def _attacker() -> Client:
    """A fresh browser session from a fresh source address."""
    number = next(_counter)
    return Client(REMOTE_ADDR=f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}")


def _latest_code(outbox) -> str:
    for message in reversed(outbox):
        found = codes_in_mail(message.body)
        if found:
            return found[0]
    return "000000"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _code_guess(email: str, outbox) -> str:
    """One attacker asks for a code for `email` and guesses once; returns the page text."""
    attacker = _attacker()
    attacker.post(REQUEST_CODE, {"email": email})
    response = attacker.post(CONFIRM_CODE, {"code": _wrong(_latest_code(outbox))})
    return response.content.decode()


def _notices(outbox, user) -> list:
    with translation.override(user.preferred_language or "de"):
        subject = gettext("Sign-in paused")
    return [m for m in outbox if m.subject == subject and m.to == [user.email]]


def _clock(offset: float) -> SimpleNamespace:
    real = time.time
    return SimpleNamespace(time=lambda: real() + offset, monotonic=time.monotonic, sleep=time.sleep)


def test_wrong_codes_from_many_addresses_count_together_and_pause_code_login(client_user, outbox):
    budget = django_settings.LOGIN_FAILURE_BUDGET
    for _ in range(budget):
        page = _code_guess(client_user.email, outbox)
        assert _paused_text() not in page
    mails_before = len(outbox)

    refused = _code_guess(client_user.email, outbox)

    assert _paused_text() in refused
    # Asking for a code during the pause mails nothing: no code, and no second notice.
    assert len(outbox) == mails_before


def test_the_right_code_is_refused_during_a_pause(client, client_user, outbox):
    client.post(REQUEST_CODE, {"email": client_user.email})
    right_code = codes_in_mail(outbox[-1].body)[0]
    for _ in range(django_settings.LOGIN_FAILURE_BUDGET):
        _code_guess(client_user.email, outbox)

    response = client.post(CONFIRM_CODE, {"code": right_code})

    assert _paused_text() in response.content.decode()
    assert client.session.get(SESSION_KEY) is None


def test_the_pause_notice_goes_out_once_and_holds_no_code(client_user, outbox):
    for _ in range(django_settings.LOGIN_FAILURE_BUDGET + 5):
        _code_guess(client_user.email, outbox)

    notices = _notices(outbox, client_user)

    assert len(notices) == 1
    assert codes_in_mail(notices[0].body) == []
    assert "http" not in notices[0].body
    with translation.override("en"):
        assert gettext("If it was not you") in notices[0].body


def test_the_pause_notice_is_in_the_clients_language(outbox):
    german = ClientUserFactory(email="kemal@example.org", preferred_language="de")
    for _ in range(django_settings.LOGIN_FAILURE_BUDGET):
        _code_guess(german.email, outbox)

    [notice] = _notices(outbox, german)

    with translation.override("de"):
        assert notice.subject == gettext("Sign-in paused")


def test_the_pause_ends_and_the_next_one_is_longer(client_user, outbox):
    budget = django_settings.LOGIN_FAILURE_BUDGET
    first = django_settings.LOGIN_PAUSE_FIRST
    second = first * django_settings.LOGIN_PAUSE_FACTOR
    for _ in range(budget):
        _code_guess(client_user.email, outbox)
    assert _paused_text() in _code_guess(client_user.email, outbox)

    with mock.patch.object(login_budget, "time", _clock(first + 1)):
        # The first pause is over: guesses are checked (and count) again ...
        for _ in range(budget):
            assert _paused_text() not in _code_guess(client_user.email, outbox)
        # ... and the budget spent again starts the second pause.
        assert _paused_text() in _code_guess(client_user.email, outbox)
    with mock.patch.object(login_budget, "time", _clock(first + 1 + first + 1)):
        assert _paused_text() in _code_guess(client_user.email, outbox)
    with mock.patch.object(login_budget, "time", _clock(first + 1 + second + 1)):
        assert _paused_text() not in _code_guess(client_user.email, outbox)
    assert len(_notices(outbox, client_user)) == 2


def test_a_client_who_then_gets_the_code_right_is_forgiven_their_own_typos_only(
    client, client_user, outbox
):
    budget = django_settings.LOGIN_FAILURE_BUDGET
    for _ in range(budget - 3):
        _code_guess(client_user.email, outbox)
    client.post(REQUEST_CODE, {"email": client_user.email})
    code = codes_in_mail(outbox[-1].body)[0]
    for _ in range(2):
        client.post(CONFIRM_CODE, {"code": _wrong(code)})

    client.post(CONFIRM_CODE, {"code": code})

    assert client.session.get(SESSION_KEY) == str(client_user.pk)
    # The client's two typos are gone, the attacker's failures stay: three more guesses fit.
    for _ in range(3):
        assert _paused_text() not in _code_guess(client_user.email, outbox)
    assert _paused_text() in _code_guess(client_user.email, outbox)


def test_an_unknown_address_pauses_exactly_like_an_account(client_user, outbox):
    """The pause must not tell an attacker which addresses have accounts."""
    budget = django_settings.LOGIN_FAILURE_BUDGET
    known, unknown = [], []
    for _ in range(budget + 1):
        known.append(_paused_text() in _code_guess(client_user.email, outbox))
        unknown.append(_paused_text() in _code_guess("nobody@example.org", outbox))

    assert known == unknown == [False] * budget + [True]
    assert all("nobody@example.org" not in m.to for m in outbox)


def test_an_administrator_can_end_a_pause_early_and_the_level_stays(client_user, outbox):
    budget = django_settings.LOGIN_FAILURE_BUDGET
    for _ in range(budget):
        _code_guess(client_user.email, outbox)
    out = io.StringIO()

    call_command("login_pause_lift", email=client_user.email, stdout=out)

    assert "ended" in out.getvalue()
    assert AuditEntry.objects.filter(action="login_pause_lifted").count() == 1
    for _ in range(budget):
        assert _paused_text() not in _code_guess(client_user.email, outbox)
    assert _paused_text() in _code_guess(client_user.email, outbox)
    # The second pause is the longer one: still on after the first pause's length.
    first = django_settings.LOGIN_PAUSE_FIRST
    with mock.patch.object(login_budget, "time", _clock(first + 1)):
        assert _paused_text() in _code_guess(client_user.email, outbox)


def _password_guess(user, password: str = "not the password at all") -> str:  # noqa: S107
    response = _attacker().post(LOGIN, {"login": user.email, "password": password})
    return response.content.decode()


def test_staff_passwords_totp_and_codes_share_one_budget(case_manager, outbox):
    budget = django_settings.LOGIN_FAILURE_BUDGET
    for _ in range(4):
        assert _paused_text() not in _password_guess(case_manager)
    # A code cannot log staff in, but guessing one at a staff address still counts.
    assert _paused_text() not in _code_guess(case_manager.email, outbox)
    thief = _attacker()  # knows the password, not the authenticator app
    thief.post(LOGIN, {"login": case_manager.email, "password": STAFF_PASSWORD})
    for _ in range(budget - 5):
        wrong = thief.post(MFA_AUTHENTICATE, {"code": "000000"})
        assert _paused_text() not in wrong.content.decode()

    refused = thief.post(MFA_AUTHENTICATE, {"code": rfc6238_code(case_manager.totp_secret)})

    assert _paused_text() in refused.content.decode()
    assert thief.session.get(SESSION_KEY) is None
    assert _paused_text() in _password_guess(case_manager, password=STAFF_PASSWORD)
    assert len(_notices(outbox, case_manager)) == 1


def test_code_mails_for_one_address_are_limited_per_ten_minutes_and_per_day(
    settings, client_user, outbox
):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "request_login_code": REQUEST_CODE_LIMIT,
    }
    from allauth.core.internal import ratelimit

    sent = []
    for window in range(5):
        with mock.patch.object(ratelimit, "time", _clock(window * 11 * 60)):
            for _ in range(4):
                before = len(outbox)
                _attacker().post(REQUEST_CODE, {"email": client_user.email})
                sent.append(len(outbox) - before)

    assert sent[:4] == [1, 1, 1, 0]  # three in ten minutes
    assert sum(sent) == 10  # ten a day


def test_the_documented_bound_follows_from_the_settings():
    """docs/login-codes.md shows the arithmetic; the same figures, from the real settings."""
    code_format = django_settings.ACCOUNT_LOGIN_BY_CODE_FORMAT
    assert code_format["numeric"] is True
    codes = 10 ** code_format["length"]
    guesses = login_budget.login_guesses_max(days=30)
    chance = guesses / codes  # union bound: each guess hits with at most 1 / codes

    assert django_settings.LOGIN_FAILURE_MEMORY >= 30 * 24 * 3600
    assert chance < 1 / 10_000
    doc = (REPO / "docs" / "login-codes.md").read_text(encoding="utf-8")
    assert f"**{guesses} wrong guesses**" in doc
    assert f"{codes:,}".replace(",", " ") in doc
    assert f"1 in {math.floor(codes / guesses):,}".replace(",", " ") in doc
    for name in (
        "LOGIN_FAILURE_BUDGET",
        "LOGIN_PAUSE_FIRST",
        "LOGIN_PAUSE_FACTOR",
        "LOGIN_PAUSE_MAX",
        "ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS",
    ):
        value = getattr(django_settings, name)
        assert re.search(rf"`{name}`[^|\n]*\|\s*{value}\b", doc), name
