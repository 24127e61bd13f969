"""Error pages are pages too: a client who follows an old link sees the 404 page on a phone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from .support.checks import page_problems

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_not_found_page_passes_the_checks(kind, live_app, new_context, screenshots):
    page = new_context(kind).new_page()

    response = page.goto("/gibt-es-nicht/")
    screenshots(page, f"{kind}-404")

    assert response is not None and response.status == 404
    assert page.locator("h1").count() == 1
    assert page.locator("main a.button").get_attribute("href") == reverse("core:home")
    assert page_problems(page, touch_targets=True) == []


@pytest.mark.parametrize("template", ["400.html", "403.html", "500.html", "503.html"])
def test_other_error_pages_pass_the_checks(template, live_app, phone_page, screenshots):
    request = RequestFactory().get("/irgendwo/")
    request.user = AnonymousUser()
    # 500.html and 503.html are rendered without a request; the others with one.
    bare = template in {"500.html", "503.html"}
    html = render_to_string(template, request=None if bare else request)
    csp = phone_page.request.get(live_app.url_for(reverse("account_login"))).headers[
        "content-security-policy"
    ]
    phone_page.route(
        "**/__error_page__/",
        lambda route: route.fulfill(
            status=200,
            body=html,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": csp},
        ),
    )

    phone_page.goto("/__error_page__/")
    screenshots(phone_page, template)

    assert phone_page.locator("h1").count() == 1
    assert page_problems(phone_page, touch_targets=True) == []
