"""One failure budget per account for every way of signing in: e-mailed code, password, TOTP.

Failed attempts are counted per account (never per source address, which an attacker rotates)
in the Django cache, the store allauth's own rate limits use: local memory with `make run`,
Redis when scaled out, so every process sees the same count. After LOGIN_FAILURE_BUDGET
failures sign-in pauses; each further pause is LOGIN_PAUSE_FACTOR times longer. The
arithmetic behind the numbers is in docs/login-codes.md and `login_guesses_max` below.

An address without an account has a budget of its own and pauses the same way, so the pause
tells an attacker nothing about which addresses exist. Only a real account is told by mail.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from allauth.core.internal.ratelimit import cache_lock
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record

from .models import User

logger = logging.getLogger(__name__)

# One text for a paused account, a paused unknown address and a busy counter alike.
LOGIN_PAUSED_MESSAGE = _(
    "There were too many failed sign-in attempts for this address, so signing in is paused "
    "for a while. Please try again later."
)

_USER_PREFIX = "user:"


def login_budget_key(*, email: str = "", phone: str = "") -> str:
    """The budget an attempt for `email` (or a mobile number in E.164, `phone`) counts
    against: its account's, or the address's or number's own. An account has one budget
    whichever way its code was asked for."""
    if phone and not email:
        from allauth.account.adapter import get_adapter

        account = get_adapter().get_user_by_phone(phone)
        if account is not None:
            return login_budget_key_for_user(user=account)
        return f"phone:{hashlib.sha256(phone.encode()).hexdigest()}"
    user = User.objects.filter(email__iexact=email.strip()).only("pk").first() if email else None
    if user is not None:
        return login_budget_key_for_user(user=user)
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"address:{digest}"


def login_budget_key_for_user(*, user: Any) -> str:
    return f"{_USER_PREFIX}{user.pk}"


def login_session_tag(request: HttpRequest) -> str:
    """Which browser session made an attempt (a hash, never the session key itself): a later
    success in the same session forgives that session's own mistakes, and no one else's."""
    session_key = getattr(getattr(request, "session", None), "session_key", None) or ""
    return hashlib.sha256(session_key.encode()).hexdigest()[:16] if session_key else ""


def _cache_key(key: str) -> str:
    return f"login-budget:{key}"


def _now() -> float:
    return time.time()


def _load(key: str, now: float) -> dict[str, Any]:
    state: dict[str, Any] = cache.get(_cache_key(key)) or {}
    state.setdefault("failures", [])
    state.setdefault("paused_until", 0.0)
    state.setdefault("level", 0)
    oldest = now - settings.LOGIN_FAILURE_MEMORY
    state["failures"] = [entry for entry in state["failures"] if entry[0] > oldest]
    return state


def _store(key: str, state: dict[str, Any], now: float) -> None:
    # The escalation level is forgotten only after a whole memory period without a failure.
    remaining_pause = max(0.0, state["paused_until"] - now)
    timeout = int(settings.LOGIN_FAILURE_MEMORY + remaining_pause) + 1
    cache.set(_cache_key(key), state, timeout)


def login_pause_length(*, level: int) -> float:
    """How long the pause number `level` (0 for the first) lasts, in seconds."""
    length = settings.LOGIN_PAUSE_FIRST * settings.LOGIN_PAUSE_FACTOR**level
    return float(min(length, settings.LOGIN_PAUSE_MAX))


def _start_pause(key: str, state: dict[str, Any], now: float) -> float:
    until = now + login_pause_length(level=state["level"])
    state["paused_until"] = until
    state["level"] += 1
    state["failures"] = []
    return until


def login_pause_active(*, key: str) -> bool:
    """Whether sign-in for this budget is paused right now."""
    now = _now()
    return bool(_load(key, now)["paused_until"] > now)


@dataclass
class LoginAttempt:
    """One attempt, counted as a failure from the start (so parallel guesses cannot overrun
    the budget) until it is known to have succeeded."""

    key: str
    session_tag: str
    at: float

    def _update(self, change: Any) -> float | None:
        """Apply `change(state, now)` under the budget's lock; returns a new pause's end."""
        with cache_lock(_cache_key(self.key)) as locked:
            if not locked:
                # Nothing changes: the attempt stays counted as a failure, the safe side.
                return None
            now = _now()
            state = _load(self.key, now)
            started = change(state, now)
            _store(self.key, state, now)
            return started

    def succeeded(self) -> None:
        """Forgive the failures made in this session (a client's typos before the right
        code); an attacker's failures from other sessions stay counted."""

        def forgive(state: dict[str, Any], now: float) -> None:
            state["failures"] = [
                entry
                for entry in state["failures"]
                if entry[0] != self.at and not (self.session_tag and entry[1] == self.session_tag)
            ]

        self._update(forgive)

    def cancelled(self) -> None:
        """Nothing was checked (another limit refused first): the attempt does not count."""

        def drop(state: dict[str, Any], now: float) -> None:
            state["failures"] = [entry for entry in state["failures"] if entry[0] != self.at]

        self._update(drop)

    def failed(self) -> None:
        """The attempt stays counted; the budget's last failure starts a pause."""

        def check(state: dict[str, Any], now: float) -> float | None:
            if state["paused_until"] > now:
                return None
            if len(state["failures"]) >= settings.LOGIN_FAILURE_BUDGET:
                return _start_pause(self.key, state, now)
            return None

        until = self._update(check)
        if until is not None:
            _pause_started(key=self.key, until=until)


def login_attempt_begin(*, key: str, session_tag: str) -> LoginAttempt | None:
    """Reserve one attempt from the budget, or None while sign-in is paused (or the counter
    cannot be locked: then nothing is checked, which is the safe side too)."""
    until = None
    with cache_lock(_cache_key(key)) as locked:
        if not locked:
            return None
        now = _now()
        state = _load(key, now)
        if state["paused_until"] > now:
            return None
        if len(state["failures"]) >= settings.LOGIN_FAILURE_BUDGET:
            # The budget is spent by attempts still running (or whose end was never recorded).
            until = _start_pause(key, state, now)
            _store(key, state, now)
        else:
            # Two attempts in the same instant must stay two entries.
            while any(entry[0] == now for entry in state["failures"]):
                now += 1e-6
            state["failures"].append([now, session_tag])
            _store(key, state, now)
            return LoginAttempt(key=key, session_tag=session_tag, at=now)
    _pause_started(key=key, until=until)
    return None


def login_pause_lift(*, email: str) -> bool:
    """End a pause early (an administrator, after checking the person by phone or in person);
    True if one was running. The escalation level stays: if the attack goes on, the next
    pause is longer still. Every lift gives an attacker one more budget (docs/login-codes.md)."""
    key = login_budget_key(email=email)
    with cache_lock(_cache_key(key)) as locked:
        if not locked:
            return False
        now = _now()
        state = _load(key, now)
        was_paused = bool(state["paused_until"] > now)
        state["paused_until"] = 0.0
        state["failures"] = []
        _store(key, state, now)
    if was_paused and key.startswith(_USER_PREFIX):
        user = User.objects.filter(pk=int(key.removeprefix(_USER_PREFIX))).first()
        audit_record(actor=None, action="login_pause_lifted", target=user)
    return was_paused


def _pause_started(*, key: str, until: float) -> None:
    """Record the pause in the audit trail and tell the account holder, once per pause."""
    if not key.startswith(_USER_PREFIX):
        return
    user = User.objects.filter(pk=int(key.removeprefix(_USER_PREFIX))).first()
    if user is None:
        return
    logger.warning("Sign-in paused for user %s after repeated failures", user.pk)
    audit_record(actor=None, action="login_paused", target=user)
    if user.is_active and user.email:
        # At once, not on commit: the pause is already in force (it lives in the cache), and
        # a refused login's request may end in a rolled-back transaction.
        _send_pause_notice(user=user, until=until)
    elif user.is_active:
        _send_pause_sms(user=user, until=until)


def _send_pause_sms(*, user: User, until: float) -> None:
    """The pause notice by SMS for a client who logs in with codes sent to her mobile number
    (no e-mail): like the mail, without a code or a link."""
    from sprechstunde.core.sms import sms_queue, sms_render

    profile = getattr(user, "client_profile", None)
    number = getattr(profile, "mobile_number", "")
    if not number:
        return
    language = user.preferred_language or settings.LANGUAGE_CODE
    ends_at = timezone.localtime(datetime.datetime.fromtimestamp(until, tz=datetime.UTC))
    with translation.override(language):
        when = formats.date_format(ends_at, "SHORT_DATETIME_FORMAT")
    text = sms_render(kind="login_paused", context={"until": when}, language=language)
    sms_queue(to=number, kind="login_paused", text=text)


def _send_pause_notice(*, user: User, until: float) -> None:
    """A short notice in the account holder's language. It holds no code and no link: it
    must be useless to whoever made the failed attempts."""
    language = user.preferred_language or settings.LANGUAGE_CODE
    ends_at = timezone.localtime(datetime.datetime.fromtimestamp(until, tz=datetime.UTC))
    with translation.override(language):
        subject = gettext("Sign-in paused")
        body = gettext(
            "Someone tried several times to sign in to your account with a wrong code or "
            "password. To protect your account, signing in is paused until %(ends_at)s.\n\n"
            "If it was you, please wait until then and try again.\n"
            "If it was not you, you do not need to do anything: nobody has signed in. If this "
            "happens again, please tell your Jobcenter."
        ) % {"ends_at": formats.date_format(ends_at, "DATETIME_FORMAT")}
    send_mail(subject, body, None, [user.email or ""])


def login_guesses_max(*, days: float) -> int:
    """The most wrong guesses one budget allows within `days`, starting from a fresh budget:
    a whole budget at once, then after each pause another whole budget (the worst case, as
    if guessing took no time). Failures older than the memory period are forgotten, so the
    bound holds only for periods no longer than LOGIN_FAILURE_MEMORY (checked by a test)."""
    horizon = days * 24 * 3600
    elapsed = 0.0
    level = 0
    guesses = 0
    while elapsed <= horizon:
        guesses += settings.LOGIN_FAILURE_BUDGET
        elapsed += login_pause_length(level=level)
        level += 1
    return guesses
