"""Logging in through the real pages, as the helpers do for the journeys, and checking the
pages that only exist in the middle of a login (TOTP step, code entry) like every other page."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_login_landing_on_a_phone_shows_the_code_login_as_the_main_action(
    live_app, new_context, screenshots
):
    """A client opening the login page on a phone sees "sign in with a code" first, big, on
    the first screen; staff sign-in is a plain link below it."""
    page = new_context("phone").new_page()
    page.goto(live_app.url_for(reverse("account_login")))
    screenshots(page, "login-landing")
    problems = page_problems(page, touch_targets=True)

    viewport = page.viewport_size
    assert viewport is not None
    first_action = page.locator("main a.button, main button").first
    assert first_action.get_attribute("data-testid") == "code-login"
    assert first_action.get_attribute("href") == reverse("account_request_login_code")
    code_box = first_action.bounding_box()
    assert code_box is not None
    assert code_box["y"] + code_box["height"] <= viewport["height"]  # on the first screen
    assert code_box["height"] >= 44 and code_box["width"] >= viewport["width"] * 0.7
    staff = page.get_by_test_id("staff-login")
    staff_box = staff.bounding_box()
    assert staff_box is not None and staff_box["y"] > code_box["y"] + code_box["height"]
    assert "button--link" in (staff.get_attribute("class") or "")
    assert page.locator("input[name=password]").count() == 0
    assert not problems, problems

    first_action.click()
    page.wait_for_url(re.compile(re.escape(reverse("account_request_login_code"))))
    assert page.locator("input[name=email]").is_visible()


def test_client_downloads_the_appointments_calendar_file_on_a_phone(
    live_app, new_context, screenshots
):
    import icalendar

    from sprechstunde.appointments.ical import appointment_uid
    from sprechstunde.video_calls.factories import VideoAppointmentFactory

    world = build_world()
    appointment = VideoAppointmentFactory(case_manager=world.case_manager, client=world.client)
    page = new_context("phone", user=world.client_user).new_page()
    page.goto(
        live_app.url_for(reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}))
    )
    screenshots(page, "appointment")
    problems = page_problems(page, touch_targets=True)

    with page.expect_download() as info:
        page.get_by_test_id("ics-download").click()
    download = info.value

    assert download.suggested_filename.endswith(".ics")
    data = Path(download.path()).read_bytes()
    events = list(icalendar.Calendar.from_ical(data).walk("VEVENT"))
    assert len(events) == 1
    assert str(events[0]["UID"]) == appointment_uid(appointment)
    call_path = reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk})
    assert str(events[0]["LOCATION"]).endswith(call_path)
    assert str(events[0]["URL"]).endswith(call_path)
    assert not problems, problems


def test_a_clients_address_in_the_staff_form_gets_the_way_to_the_code_login(
    live_app, new_context, screenshots
):
    world = build_world()
    page = new_context("phone").new_page()
    page.goto(live_app.url_for(reverse("account_login")))
    page.get_by_test_id("staff-login").click()
    page.wait_for_url(re.compile(re.escape(reverse("account_login_staff"))))
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=login]").fill(world.client_user.email)
    form.locator("input[name=password]").fill("irgendwas")
    form.locator("[type=submit]").first.click()
    alert = page.get_by_test_id("login-failed")
    alert.wait_for()
    screenshots(page, "failed")
    problems = page_problems(page, touch_targets=True)

    hint = alert.locator("a")
    assert hint.get_attribute("href") == reverse("account_request_login_code")
    box = hint.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] + box["height"] <= viewport["height"]
    assert not problems, problems
    hint.click()
    page.wait_for_url(re.compile(re.escape(reverse("account_request_login_code"))))
