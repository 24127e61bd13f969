"""Self-booking on a 360 x 740 phone in German (issue 12, point 10): once through "the next
free time" and once through a picked day, each ending in the confirmation step. With as many
office hours as the demo has (40+ free slots), no step is longer than three screens, and each
passes axe-core, the keyboard walk and the 44 px touch targets.

Elements are found by data attributes, never by their German text.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.accounts.models import User
from sprechstunde.appointments.choices import AppointmentStatus, Channel, Weekday
from sprechstunde.appointments.factories import OfficeHoursFactory
from sprechstunde.appointments.models import Appointment
from sprechstunde.appointments.selectors import office_hours_slots_for_client
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent, ConsentText

from .support.checks import page_problems

pytestmark = pytest.mark.browser

SCREEN_HEIGHT = 740
MAX_HEIGHT = 3 * SCREEN_HEIGHT
ALL_CHANNELS = [Channel.VIDEO, Channel.PHONE, Channel.ON_SITE]


def _office_hours(case_manager) -> None:
    """The demo's kind of week, plus one long day of short slots (the worst day to show)."""
    OfficeHoursFactory(case_manager=case_manager, weekday=Weekday.TUESDAY, channels=ALL_CHANNELS)
    OfficeHoursFactory(
        case_manager=case_manager,
        weekday=Weekday.THURSDAY,
        start_time=datetime.time(13),
        end_time=datetime.time(16),
        channels=ALL_CHANNELS,
    )
    OfficeHoursFactory(
        case_manager=case_manager,
        weekday=Weekday.WEDNESDAY,
        start_time=datetime.time(8),
        end_time=datetime.time(16),
        slot_minutes=15,
        channels=ALL_CHANNELS,
    )


def _give_video_consent(client) -> None:
    text = ConsentText.objects.filter(purpose=ConsentPurpose.VIDEO, language="de").first()
    if text is None:
        text = ConsentText.objects.create(
            purpose=ConsentPurpose.VIDEO,
            language="de",
            version=1,
            title="Video",
            body="Text",
            published_at=timezone.now(),
        )
    Consent.objects.create(
        client=client,
        purpose=ConsentPurpose.VIDEO,
        text=text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
    )


def test_booking_via_next_free_time_and_via_a_picked_day_fits_a_phone(
    live_app, new_context, screenshots
):
    case_manager = CaseManagerFactory(email="fm@jobcenter.example")
    account = User.objects.create_user("amira@example.org", role=Role.CLIENT)
    client = ClientFactory(
        case_manager=case_manager, user=account, email="amira@example.org", preferred_language="de"
    )
    _give_video_consent(client)
    _office_hours(case_manager)
    slots = office_hours_slots_for_client(client=client)
    assert len(slots) >= 37

    phone = new_context("phone", user=account).new_page()
    problems: list[str] = []
    heights: dict[str, int] = {}

    def step(name: str) -> None:
        assert phone.evaluate("document.documentElement.lang") == "de"
        heights[name] = phone.evaluate("document.documentElement.scrollHeight")
        screenshots(phone, name)
        problems.extend(
            f"{name}: {problem}" for problem in page_problems(phone, touch_targets=True)
        )

    # 1. "The next free time": one tap on its channel, then the confirmation.
    phone.goto(reverse("appointments:portal_book"))
    step("overview")
    next_video = phone.locator("[data-next-slot] a[href*='channel=video']")
    next_video.click()
    phone.wait_for_url(re.compile(r"/termine/meine/buchen/bestaetigen/\?"))
    step("confirm-next")
    assert Appointment.objects.count() == 0  # nothing booked before "Book"
    phone.locator("[data-book]").click()
    phone.wait_for_url(re.compile(r"/termine/meine/\d+/$"))
    step("booked-next")
    first = Appointment.objects.get()
    assert first.starts_at == slots[0].starts_at
    assert (first.channel, first.status) == (Channel.VIDEO, AppointmentStatus.BOOKED)

    # 2. A picked day (the long Wednesday), on site, its third time.
    phone.goto(reverse("appointments:portal_book"))
    wednesday = next(slot.day for slot in slots if slot.day.weekday() == Weekday.WEDNESDAY)
    phone.locator(f"[data-day-picker] a[href$='day={wednesday.isoformat()}']").click()
    phone.wait_for_url(re.compile(r"\?day="))
    step("day")
    phone.locator("[data-channel-switch] a[href$='channel=on_site']").click()
    phone.wait_for_url(re.compile(r"channel=on_site"))
    step("day-on-site")
    times = phone.locator("[data-times] a")
    assert times.count() >= 30
    times.nth(2).click()
    phone.wait_for_url(re.compile(r"/bestaetigen/\?"))
    step("confirm-day")
    # "Back" returns to that day's picker; nothing is booked by looking.
    phone.locator("form a[href*='day=']").click()
    phone.wait_for_url(re.compile(r"\?day="))
    assert Appointment.objects.count() == 1
    phone.locator("[data-times] a").nth(2).click()
    phone.wait_for_url(re.compile(r"/bestaetigen/\?"))
    phone.locator("[data-book]").click()
    phone.wait_for_url(re.compile(r"/termine/meine/\d+/$"))
    second = Appointment.objects.exclude(pk=first.pk).get()
    assert second.channel == Channel.ON_SITE
    assert timezone.localtime(second.starts_at).date() == wednesday

    too_long = {name: height for name, height in heights.items() if height > MAX_HEIGHT}
    assert not too_long, f"pages longer than three screens at 360 px: {too_long}"
    assert problems == []
