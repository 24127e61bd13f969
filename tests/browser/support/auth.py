"""Logging people in: through the real pages (staff: password + TOTP; clients: e-mailed code),
or by creating the session directly when a test is not about login.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.sessions.backends.base import SessionBase
from django.test import RequestFactory
from django.urls import reverse

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from .live_server import LiveApp

# Called at each step of a login with the page and a step name: take a screenshot, run checks.
Step = Callable[[Any, str], None]

STAFF_PASSWORD = "correct horse battery staple"  # what accounts.factories.UserFactory sets
_CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


# --- TOTP --------------------------------------------------------------------------------------


def totp_enable(user: Any) -> str:
    """Gives a staff user a TOTP authenticator (as if set up in the app); returns its secret."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        from allauth.mfa.utils import decrypt

        return str(decrypt(existing.data["secret"]))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


_last_counter: dict[str, int] = {}  # secret -> the time step whose code was used last


def totp_code(user: Any, secret: str) -> str:
    """The current TOTP code, waiting for a fresh 30 s window when this user's code was used
    already (allauth refuses a code twice) or when the window is about to end."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = app_settings.TOTP_PERIOD
    while True:
        now = time.time()
        counter = int(now // period)
        remaining = period - (now % period)
        if _last_counter.get(secret) != counter and remaining > 3:
            break
        time.sleep(remaining + 0.05)
    _last_counter[secret] = counter
    return format_hotp_value(hotp_value(secret, counter))


# --- Sessions created directly -----------------------------------------------------------------


def _session_store() -> SessionBase:
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore()
    return store


def session_create(user: Any) -> str:
    """A logged-in session for `user`, as the real login would leave it; returns the key.

    Staff get a TOTP authenticator and the session records password + MFA (what allauth
    records after a full login); clients' sessions record a login by e-mailed code.
    """
    from allauth.account.internal.flows.login import record_authentication

    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT="browser-test")
    request.session = _session_store()
    django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if getattr(user, "is_client", False):
        record_authentication(request, user, method="code", email=user.email)
    else:
        from allauth.mfa.models import Authenticator

        totp_enable(user)
        authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        record_authentication(request, user, method="password", email=user.email)
        record_authentication(request, user, method="mfa", type="totp", id=authenticator.pk)
    request.session.save()
    key = request.session.session_key
    assert key
    return key


def context_log_in(context: BrowserContext, live_app: LiveApp, user: Any) -> None:
    """Puts a session cookie for `user` into the browser context."""
    key = session_create(user)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": key,
                "url": live_app.url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )


# --- Through the real pages --------------------------------------------------------------------


def login_staff_with_totp(
    page: Page,
    live_app: LiveApp,
    user: Any,
    *,
    password: str = STAFF_PASSWORD,
    on_step: Step | None = None,
) -> None:
    """Logs a staff user in through the login page and the TOTP step."""
    secret = totp_enable(user)
    page.goto(live_app.url_for(reverse("account_login")))
    if on_step:
        on_step(page, "login-landing")
    # Staff take the secondary link from the landing to their own sign-in page.
    page.get_by_test_id("staff-login").click()
    page.wait_for_url(re.compile(re.escape(reverse("account_login_staff"))))
    if on_step:
        on_step(page, "login-form")
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=login]").fill(user.email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").first.click()
    page.wait_for_url(re.compile(re.escape(reverse("mfa_authenticate"))))
    if on_step:
        on_step(page, "totp-form")
    code_form = page.locator("form:has(input[name=code])")
    code_form.locator("input[name=code]").fill(totp_code(user, secret))
    code_form.locator("[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/" not in url)
    if on_step:
        on_step(page, "logged-in")


def _bodies_to(email: str) -> list[str]:
    """Bodies of the mails to `email`, newest first: from django.core.mail.outbox (the test
    settings' locmem backend), else from the dev outbox (a test may switch to that backend)."""
    from django.core import mail

    from sprechstunde.core.models import OutboxMessage

    address = email.lower()
    bodies = [
        str(message.body)
        for message in reversed(getattr(mail, "outbox", []))
        if address in (to.lower() for to in message.to)
    ]
    if not bodies:
        bodies = list(
            OutboxMessage.objects.filter(to__icontains=address)
            .order_by("-created_at", "-id")
            .values_list("body", flat=True)
        )
    return bodies


def latest_code_for(email: str, *, timeout: float = 5.0) -> str:
    """The 6-digit code from the newest mail to `email` that has one."""
    deadline = time.monotonic() + timeout
    while True:
        for body in _bodies_to(email):
            match = _CODE_RE.search(body)
            if match:
                return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail with a 6-digit code to {email} in the outbox")
        time.sleep(0.05)


def login_client_by_code(
    page: Page, live_app: LiveApp, email: str, *, on_step: Step | None = None
) -> None:
    """Logs a client in: asks for a code, reads it from the outbox, enters it."""
    page.goto(live_app.url_for(reverse("account_request_login_code")))
    if on_step:
        on_step(page, "request-code")
    form = page.locator("form:has(input[name=email])")
    form.locator("input[name=email]").fill(email)
    form.locator("[type=submit]").first.click()
    page.wait_for_url(re.compile(re.escape(reverse("account_confirm_login_code"))))
    # The mail is sent before the code page is answered, so the newest one is this login's.
    code = latest_code_for(email)
    if on_step:
        on_step(page, "enter-code")
    code_form = page.locator("form:has(input[name=code])")
    code_form.locator("input[name=code]").fill(code)
    code_form.locator("[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/" not in url)
    if on_step:
        on_step(page, "logged-in")
