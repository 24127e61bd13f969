"""The crawler's map of the URL configuration (no browser needed)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .support.crawler import (
    KWARGS_RULES,
    NOT_CRAWLED,
    Skip,
    discover_routes,
    is_crawlable_link,
    normalise,
    plan_crawl,
)
from .support.sample_data import build_world


def test_every_route_with_parameters_has_a_crawl_rule():
    """A new detail page must get a rule in support/crawler.py (or a Skip with a reason),
    otherwise the page-by-page checks would silently leave it out."""
    plan = plan_crawl(None)

    assert plan.unknown == [], "routes with parameters but no rule in KWARGS_RULES:\n" + "\n".join(
        f"  {route.label}: {route.pattern} {route.params}" for route in plan.unknown
    )


def test_discovery_lists_the_apps_routes_with_their_parameters_and_leaves_out_admin():
    routes = {route.name: route for route in discover_routes() if route.name}

    assert routes["core:home"].params == ()
    assert routes["core:outbox_detail"].params == ("pk",)
    assert routes["account_reset_password_from_key"].params == ("uidb36", "key")
    assert routes["core:outbox_detail"].pattern == reverse("core:outbox_detail", args=[1]).replace(
        "1", "<int:pk>"
    )
    plan = plan_crawl(None)
    assert reverse("core:home") in plan.seeds
    assert reverse("account_login") in plan.seeds
    assert not any(path.startswith("/verwaltung/") for path in plan.seeds)
    assert set(NOT_CRAWLED) <= set(plan.skipped)


def test_rules_name_only_routes_that_exist():
    names = {route.name for route in discover_routes()}

    assert set(KWARGS_RULES) - names == set(), "stale rules for routes that no longer exist"
    assert set(NOT_CRAWLED) - names == set()


@pytest.mark.django_db
def test_rules_fill_in_sample_objects():
    world = build_world()

    plan = plan_crawl(world)

    assert plan.broken == {}
    outbox_detail = reverse("core:outbox_detail", kwargs={"pk": world.outbox_message.pk})
    assert plan.seeds[outbox_detail] == "core:outbox_detail"
    skipped_by_rule = {name for name, rule in KWARGS_RULES.items() if isinstance(rule, Skip)}
    assert skipped_by_rule <= set(plan.skipped)


def test_links_are_normalised_and_logout_and_admin_are_not_followed():
    assert normalise("http://127.0.0.1:1/a/?next=/b/&page=2#top") == "/a/?page=2"
    assert normalise("http://127.0.0.1:1/a/?b=2&a=1") == "/a/?a=1&b=2"
    assert not is_crawlable_link(reverse("account_logout"))
    assert not is_crawlable_link("/verwaltung/")
    assert not is_crawlable_link("/static/css/app.css")
    assert is_crawlable_link(reverse("account_login"))
