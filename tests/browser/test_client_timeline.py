"""The client's whole story in a real browser (issue 14): the case manager opens a client with
a history, filters it by kind and pages back by keyboard alone. axe-core finds nothing at
1280 px and at 1920 px; landmarks and headings give a screen reader the structure."""

from __future__ import annotations

import datetime

import pytest
from bench.story_data import StorySize, client_story_make
from django.urls import reverse

from .support.checks import page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000


def test_the_timeline_works_by_keyboard_and_passes_axe_at_desk_widths(new_context, screenshots):
    world = build_world()
    client_story_make(client=world.client, size=StorySize(weeks=6))
    page = new_context("desktop", user=world.case_manager).new_page()
    # A page of 25 entries from eleven sources: on the shared CI machine under load the first
    # render can take longer than the default 10 s navigation timeout.
    page.set_default_navigation_timeout(60_000)
    path = reverse("clients:detail", kwargs={"pk": world.client.pk})
    page.goto(path)
    problems = page_problems(page, touch_targets=False)
    screenshots(page, "timeline-1280")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(path)
    problems += page_problems(page, touch_targets=False)
    screenshots(page, "timeline-1920")

    # Structure for a screen reader: the story is a labelled section with a heading, the
    # filter and the pager are named navigation landmarks, each entry has a heading.
    # (Names read from the page, so the test holds in German and in English.)
    assert page.locator("main h1").count() == 1
    heading = page.locator("#timeline-heading").inner_text()
    assert page.get_by_role("region", name=heading).count() == 1
    filter_name = page.locator("nav:has(#timeline-filter)").get_attribute("aria-label")
    assert filter_name
    assert page.get_by_role("navigation", name=filter_name).count() == 1
    entries = page.locator("#timeline > li")
    assert entries.count() == 25
    assert page.locator("#timeline > li h3").count() == 25

    # Filter by keyboard: focus the "Messages" chip and press Enter.
    page.locator('#timeline-filter a[href="?art=message#verlauf"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**art=message**", timeout=TIMEOUT_MS)
    kinds = set(page.locator("#timeline > li").evaluate_all("els => els.map(e => e.dataset.kind)"))
    assert kinds == {"message"}
    current = page.locator("#timeline-filter [aria-current=page]")
    assert current.get_attribute("href") == "?art=message#verlauf"

    # Older entries by keyboard: the next page continues where the first ended.
    last_on_first = page.locator("#timeline > li time").last.get_attribute("datetime")
    page.locator("#timeline-older").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**vor=**", timeout=TIMEOUT_MS)
    first_on_second = page.locator("#timeline > li time").first.get_attribute("datetime")
    assert first_on_second is not None and last_on_first is not None
    assert datetime.datetime.fromisoformat(first_on_second) <= datetime.datetime.fromisoformat(
        last_on_first
    )
    # Without the "#verlauf" fragment, so that the keyboard walk starts at the top of the page.
    page.goto(page.url.split("#", 1)[0])
    problems += page_problems(page, touch_targets=False)

    assert not problems, "\n".join(problems)
