"""A database outage answers 503 "briefly unavailable" in the person's language (or JSON);
other exceptions keep the generic 500 page (core.error_pages, ADR 0085)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.urls import reverse

from sprechstunde.core.error_pages import database_outage

pytestmark = pytest.mark.django_db

GERMAN = "Wir sind kurz nicht erreichbar. Bitte versuchen Sie es in einer Minute noch einmal."
UKRAINIAN = "Ми ненадовго недоступні. Будь ласка, спробуйте ще раз за хвилину."


@pytest.fixture
def server(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    # A phone with a session: the first thing that needs the database is loading it.
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32
    return client


def _database_away():
    refused = OperationalError('connection failed: connection to server at "10.0.0.5" refused')
    return mock.patch.object(SessionStore, "load", side_effect=refused)


def test_a_database_outage_shows_a_clear_page_in_german_by_default(server):
    with _database_away():
        response = server.get(reverse("clients:portal_home"))

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert GERMAN in page
    assert "Kurz nicht erreichbar" in page
    # No detail of the failure, no stack trace.
    assert "10.0.0.5" not in page
    assert "Traceback" not in page
    assert "OperationalError" not in page


def test_the_page_is_in_the_browsers_language_and_right_to_left_for_persian(server):
    with _database_away():
        ukrainian = server.get(reverse("clients:portal_home"), HTTP_ACCEPT_LANGUAGE="uk")
        persian = server.get(reverse("clients:portal_home"), HTTP_ACCEPT_LANGUAGE="fa")

    assert ukrainian.status_code == 503
    assert UKRAINIAN in ukrainian.content.decode()
    assert ukrainian["Content-Language"] == "uk"
    assert persian.status_code == 503
    assert 'dir="rtl"' in persian.content.decode()
    assert GERMAN not in persian.content.decode()


def test_the_language_cookie_wins_over_the_browser(server):
    server.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    with _database_away():
        response = server.get(reverse("clients:portal_home"), HTTP_ACCEPT_LANGUAGE="de")

    assert UKRAINIAN in response.content.decode()


def test_json_callers_get_json(server):
    with _database_away():
        response = server.get(
            reverse("clients:portal_home"),
            HTTP_ACCEPT="application/json",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "60"
    assert json.loads(response.content) == {
        "error": "unavailable",
        "message": "We are briefly unavailable. Please try again in a minute.",
        "retry_after": 60,
    }


def test_a_connection_lost_in_a_view_is_an_outage_too(server):
    with mock.patch("sprechstunde.core.views.connection") as connection:
        connection.cursor.side_effect = InterfaceError("connection already closed")
        response = server.get(reverse("core:health"), HTTP_ACCEPT="text/html")

    assert response.status_code == 503
    assert GERMAN in response.content.decode()


def test_any_other_error_keeps_the_generic_500_page(server):
    with mock.patch("sprechstunde.core.views.connection") as connection:
        connection.cursor.side_effect = RuntimeError("secret detail")
        response = server.get(reverse("core:health"), HTTP_ACCEPT="text/html")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert b"secret detail" not in response.content
    assert GERMAN.encode() not in response.content


def test_an_outage_is_found_behind_the_exception_it_caused():
    try:
        try:
            raise OperationalError("terminating connection due to administrator command")
        except OperationalError as error:
            raise RuntimeError("while loading the page") from error
    except RuntimeError as outer:
        assert database_outage(outer)
    assert not database_outage(RuntimeError("other"))
    assert not database_outage(None)


def test_the_pools_timeout_raised_outside_djangos_wrapper_is_an_outage_too():
    psycopg_pool = pytest.importorskip("psycopg_pool")

    assert database_outage(psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"))
