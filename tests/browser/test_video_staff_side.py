"""The staff side of a call in real browsers: a case manager on the client list (the page
staff land on) learns that the client waits, without reloading, opens the call from the
notice and lets her in; after "end the call for everyone" the client's pages say the call
has ended and offer no join button."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .support.checks import page_problems
from .support.sample_data import build_world
from .test_video_calls import (
    TIMEOUT_MS,
    admit,
    call_path,
    open_more,
    prejoin_and_join,
    video_appointment,
    wait_phase,
)

pytestmark = pytest.mark.browser


def test_case_manager_on_the_client_list_is_told_who_waits_and_ends_the_call(
    new_context, screenshots
):
    world = build_world()
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone = new_context("phone", user=world.client_user).new_page()
    name = world.client_user.get_full_name()

    desk.goto(reverse("clients:list"))
    notice = desk.locator("#video-waiting")
    assert notice.is_hidden()
    desk.evaluate("() => { window.stillTheSamePage = true; }")

    phone.goto(call_path(appointment))
    prejoin_and_join(phone, camera=False, mic=False)
    wait_phase(phone, "waiting")

    # The list page learns it by itself (no reload): a notice with the name and the call.
    notice.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert desk.evaluate("() => window.stillTheSamePage === true")
    assert name in notice.inner_text()
    link = notice.get_by_role("link")
    assert link.get_attribute("href") == call_path(appointment)
    screenshots(desk, "desk-client-list-someone-waits")
    problems = page_problems(desk, touch_targets=False)

    link.click()
    prejoin_and_join(desk, camera=False, mic=False)
    wait_phase(desk, "in-call")
    admit(desk, name)
    wait_phase(phone, "in-call")

    desk.once("dialog", lambda dialog: dialog.accept())
    open_more(desk)  # "end for everyone" sits in the "more" sheet (ADR 0053)
    desk.locator("#ctl-end").click()
    wait_phase(phone, "ended")

    # Afterwards: the call's address says it has ended, the appointment offers no join.
    phone.goto(call_path(appointment))
    assert phone.locator("#call-ended").is_visible()
    screenshots(phone, "phone-call-ended")
    problems += page_problems(phone, touch_targets=True)
    phone.goto(reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}))
    assert phone.locator("#video-join-button").count() == 0
    assert phone.locator("#video-call-ended").is_visible()
    desk.goto(reverse("appointments:detail", kwargs={"pk": appointment.pk}))
    assert desk.locator("#video-join-button").count() == 0
    assert not problems, "\n".join(problems)
