"""Every page Django answers carries `Cache-Control: no-store`, for every role.

The routes come from the browser crawler's map of the URL configuration
(tests/browser/support/crawler.py: every route of config.urls, detail routes filled in from
sample objects), so a new route is checked here without being listed; a route with parameters
the crawler cannot fill in already fails tests/browser/test_route_discovery.py, and fails here
too. Each role asks for every route with the test client; every answer (pages, redirects,
refusals, files) must forbid storing it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client as WebClient
from django.test import override_settings
from django.urls import reverse

from sprechstunde.video_calls.views import SESSION_KEY as INTERPRETER_SESSION_KEY

from .browser.support.auth import session_create
from .browser.support.crawler import plan_crawl
from .browser.support.sample_data import ROLES, World, build_world

INTERPRETER = "interpreter"


def _browser_for(role: str, world: World) -> WebClient:
    """A test client as `role`: logged in, anonymous, or an interpreter admitted by link."""
    browser = WebClient()
    if role == INTERPRETER:
        link = reverse(
            "video_calls:interpreter", kwargs={"token": world.sample("interpreter_token")}
        )
        joined = browser.post(link, {"display_name": "Ivana Dolmetsch"})
        assert joined.status_code == 302, "the interpreter could not join by link"
        assert INTERPRETER_SESSION_KEY in browser.session
        return browser
    user = world.user_for(role)
    if user is not None:
        browser.cookies[settings.SESSION_COOKIE_NAME] = session_create(user)
    return browser


def _cache_problems(browser: WebClient, seeds: dict[str, str]) -> list[str]:
    problems = []
    for path, label in sorted(seeds.items()):
        response: Any = browser.get(path, HTTP_ACCEPT="text/html")
        cache_control = response.get("Cache-Control", "")
        directives = {part.strip().split("=")[0] for part in cache_control.split(",")}
        if not {"no-store", "private"} <= directives:
            problems.append(
                f"{label} {path}: {response.status_code} {response.get('Content-Type', '')} "
                f"with Cache-Control {cache_control!r}"
            )
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("role", [*ROLES, INTERPRETER])
def test_no_page_of_any_route_may_be_stored_by_a_cache(role):
    world = build_world()
    plan = plan_crawl(world)
    assert plan.unknown == [] and plan.broken == {}, (plan.unknown, plan.broken)
    assert len(plan.seeds) > 50  # the walk found the app's routes, not an empty URLconf
    browser = _browser_for(role, world)

    problems = _cache_problems(browser, plan.seeds)

    assert not problems, f"answers to {role} that a cache may store:\n  " + "\n  ".join(problems)


@pytest.mark.django_db
def test_a_route_that_bypasses_the_middleware_is_reported():
    """The check itself can fail: without the middleware, the pages are reported."""
    world = build_world()
    seeds = {reverse("core:home"): "core:home", reverse("account_login"): "account_login"}
    middleware = [m for m in settings.MIDDLEWARE if not m.endswith(".NoStoreMiddleware")]

    with override_settings(MIDDLEWARE=middleware):
        problems = _cache_problems(_browser_for("case_manager", world), seeds)

    assert any(line.startswith("core:home") for line in problems), problems
