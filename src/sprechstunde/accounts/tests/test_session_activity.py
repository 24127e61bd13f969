"""The list of active sessions is kept up to date without a write on every request (ADR 0092):
a session's row is written on its first request, again at once when the address or the
browser changes, and otherwise at most once per USERSESSIONS_ACTIVITY_INTERVAL."""

from __future__ import annotations

import datetime

import pytest
from allauth.usersessions.models import UserSession
from allauth.usersessions.signals import session_client_changed
from django.core.cache import cache
from django.db import connection
from django.test import Client as BrowserClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=3)


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def device():
    """A client's phone, logged in (no session row yet: force_login skips allauth's flow)."""
    phone = BrowserClient(headers={"accept-language": "en"}, HTTP_USER_AGENT="Phone A")
    phone.force_login(UserFactory())
    return phone


def _page(device, **extra):
    return device.get(reverse("accounts:profile"), **extra)


def _row(device) -> UserSession:
    return UserSession.objects.get(session_key=device.session.session_key)


def _age_the_row(device) -> None:
    UserSession.objects.filter(session_key=device.session.session_key).update(last_seen_at=LONG_AGO)


def test_the_first_request_records_the_session(device):
    _page(device)
    row = _row(device)
    assert (row.ip, row.user_agent) == ("127.0.0.1", "Phone A")
    assert timezone.now() - row.last_seen_at < datetime.timedelta(minutes=1)


def test_within_the_interval_a_request_writes_nothing(device):
    _page(device)
    _age_the_row(device)
    with CaptureQueriesContext(connection) as queries:
        _page(device)
    assert _row(device).last_seen_at == LONG_AGO
    assert not [q for q in queries.captured_queries if "usersessions_usersession" in q["sql"]]


def test_a_new_address_is_recorded_at_once_and_announced(device):
    _page(device)
    _age_the_row(device)
    seen = []

    def note(sender, from_session, to_session, **kwargs):
        seen.append((from_session.ip, to_session.ip))

    session_client_changed.connect(note)
    try:
        _page(device, REMOTE_ADDR="10.1.2.3")
    finally:
        session_client_changed.disconnect(note)
    row = _row(device)
    assert row.ip == "10.1.2.3"
    assert row.last_seen_at > LONG_AGO
    assert seen == [("127.0.0.1", "10.1.2.3")]


def test_a_new_browser_is_recorded_at_once(device):
    _page(device)
    _page(device, HTTP_USER_AGENT="Laptop B")
    assert _row(device).user_agent == "Laptop B"


def test_once_the_interval_is_over_the_activity_is_written_again(device):
    _page(device)
    _age_the_row(device)
    cache.clear()  # what the end of the interval does: the remembered entry expires
    _page(device)
    assert _row(device).last_seen_at > LONG_AGO


def test_interval_zero_writes_on_every_request(device, settings):
    settings.USERSESSIONS_ACTIVITY_INTERVAL = 0
    _page(device)
    _age_the_row(device)
    _page(device)
    assert _row(device).last_seen_at > LONG_AGO


def test_a_session_whose_row_was_removed_gets_it_back_after_the_interval(device):
    _page(device)
    UserSession.objects.filter(session_key=device.session.session_key).delete()
    cache.clear()
    _page(device)
    assert _row(device).user_agent == "Phone A"


def test_the_cache_holds_no_session_key(device, settings):
    # A local-memory cache, whatever the run uses, so that every stored name can be read.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _page(device)
    key = device.session.session_key
    assert cache.get("usersessions:seen:" + key) is None
    stored = getattr(cache, "_cache", {})
    assert stored and not any(key in str(name) for name in stored)
