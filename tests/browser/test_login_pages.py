"""Logging in through the real pages, as the helpers do for the journeys, and checking the
pages that only exist in the middle of a login (TOTP step, code entry) like every other page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .support.auth import login_client_by_code, login_staff_with_totp
from .support.checks import page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser


def _checker(screenshots, *, touch_targets):
    problems: dict[str, list[str]] = {}

    def on_step(page, name):
        screenshots(page, name)
        found = page_problems(page, touch_targets=touch_targets)
        if found:
            problems[f"{name} ({page.url})"] = found

    return on_step, problems


def _report(problems):
    return "\n".join(
        f"{step}\n" + "\n".join(f"    - {p}" for p in found) for step, found in problems.items()
    )


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_staff_member_logs_in_with_password_and_totp(kind, live_app, new_context, screenshots):
    world = build_world()
    page = new_context(kind).new_page()
    on_step, problems = _checker(screenshots, touch_targets=kind == "phone")

    login_staff_with_totp(page, live_app, world.case_manager, on_step=on_step)

    response = page.goto(reverse("accounts:profile"))
    assert response is not None and response.status == 200
    assert reverse("account_login") not in page.url
    assert not problems, _report(problems)


def test_client_logs_in_on_a_phone_with_the_code_from_the_mail(live_app, new_context, screenshots):
    world = build_world()
    page = new_context("phone").new_page()
    on_step, problems = _checker(screenshots, touch_targets=True)

    login_client_by_code(page, live_app, world.client_user.email, on_step=on_step)

    response = page.goto(reverse("core:home"))
    assert response is not None and response.status == 200
    assert page.url.startswith(live_app.url_for(reverse("clients:portal_home")))
    assert not problems, _report(problems)
