"""NoStoreMiddleware: what it adds, what it keeps, and what it leaves alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.views.decorators.cache import never_cache

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.core.middleware import NoStoreMiddleware


def _directives(response: HttpResponse) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def _answer(
    view: Callable[[HttpRequest], HttpResponse], *, user=None, session_used=False
) -> HttpResponse:
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    if session_used:
        request.session.get("anything")
    return NoStoreMiddleware(view)(request)


def _page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<h1>Hallo</h1>")


def _public_page(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("<h1>Öffnungszeiten</h1>")
    response["Cache-Control"] = "public, max-age=600"
    return response


@pytest.mark.django_db
def test_a_page_for_a_logged_in_user_must_not_be_stored_anywhere():
    response = _answer(_page, user=CaseManagerFactory())

    assert {"no-store", "private"} <= _directives(response)
    assert response["Pragma"] == "no-cache"
    assert "Cookie" in response["Vary"]


@pytest.mark.django_db
def test_a_logged_in_user_gets_no_store_even_where_the_view_asked_for_public_caching():
    response = _answer(_public_page, user=CaseManagerFactory())

    assert {"no-store", "private"} <= _directives(response)
    assert "public" not in _directives(response)


def test_a_page_that_used_the_session_is_personal_too():
    """An interpreter admitted by link has no account, only a session."""
    response = _answer(_public_page, session_used=True)

    assert {"no-store", "private"} <= _directives(response)
    assert "Cookie" in response["Vary"]


def test_a_stricter_header_of_the_view_is_kept_and_merged():
    response = _answer(never_cache(_page), session_used=True)

    assert {"no-store", "no-cache", "must-revalidate", "private", "max-age=0"} <= _directives(
        response
    )


def test_an_anonymous_page_is_not_stored_unless_its_view_chose_otherwise():
    assert {"no-store", "private"} <= _directives(_answer(_page))
    assert _directives(_answer(_public_page)) == {"public", "max-age=600"}
