"""From the 1-hour reminder into the waiting room, logged out, on a 360 x 640 phone: tap the
join link in the mail, tap "join with camera" on the first screen, and wait (ADR 0049)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments.choices import ReminderChannel
from sprechstunde.appointments.models import Reminder
from sprechstunde.appointments.reminders import reminder_deliver
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import JoinLink, Participant

from .support.checks import page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
FIRST_SCREEN = {"width": 360, "height": 640}


def test_two_taps_from_the_reminder_mail_into_the_waiting_room(new_context, screenshots):
    world = build_world()
    appointment = VideoAppointmentFactory(case_manager=world.case_manager, client=world.client)
    reminder = Reminder.objects.create(
        appointment=appointment,
        sequence=appointment.sequence,
        step_minutes=60,
        channel=ReminderChannel.EMAIL,
        due_at=timezone.now(),
    )
    mail.outbox.clear()
    assert reminder_deliver(reminder_id=reminder.pk) == "sent"
    (message,) = [m for m in mail.outbox if m.to == [world.client.email]]
    join_path = reverse("video_calls:join_link", kwargs={"token": "TOKEN"}).replace("TOKEN/", "")
    (link,) = [
        url for url in re.findall(r"https?://\S+", message.body) if join_path in urlsplit(url).path
    ]

    # A logged-out phone (no session at all), German UI, the first screen of a small phone.
    phone = new_context("phone", viewport=FIRST_SCREEN, screen=FIRST_SCREEN).new_page()
    taps = 0

    # Tap 1: the link in the mail app opens the browser.
    taps += 1
    phone.goto(urlsplit(link).path)
    phone.locator("#prejoin").wait_for(timeout=TIMEOUT_MS)
    assert phone.evaluate("() => document.documentElement.lang") == "de"
    main = phone.locator("#join-camera")
    sound_only = phone.locator("#join-audio")
    for button in (main, sound_only):
        box = button.bounding_box()
        assert box is not None and box["y"] >= 0
        assert box["y"] + box["height"] <= FIRST_SCREEN["height"], box  # no scrolling
        assert box["height"] >= 44 and box["width"] >= 44
    assert phone.evaluate("() => window.scrollY") == 0
    screenshots(phone, "prejoin-first-screen")
    problems = page_problems(phone, touch_targets=True)

    # Tap 2: camera and microphone on, and in.
    taps += 1
    main.tap()
    phone.wait_for_function(
        "() => document.getElementById('call').dataset.phase === 'waiting'", timeout=TIMEOUT_MS
    )
    assert phone.locator("#waiting-room").is_visible()
    assert not phone.locator("#prejoin").is_visible()
    # The same tap turned both devices on; the join does not wait for them (ADR 0074).
    phone.wait_for_function(
        "() => ['prejoin-camera', 'prejoin-mic'].every("
        "id => document.getElementById(id).ariaPressed === 'true')",
        timeout=TIMEOUT_MS,
    )
    screenshots(phone, "waiting-room")
    assert taps <= 2

    # The server agrees: the client waits in that call, and the link is bound to this phone.
    participant = Participant.objects.get(call__appointment=appointment)
    assert participant.user == world.client_user and participant.state == "waiting"
    assert JoinLink.objects.get(appointment=appointment).device_hash
    # Still logged out: the portal asks for the code login.
    phone.goto(reverse("clients:portal_home"))
    assert "/accounts/login" in phone.url

    # The same link on a second phone: a clear page, the code login, the other ways to us.
    other = new_context("phone").new_page()
    other.goto(urlsplit(link).path)
    refusal = other.locator("#join-link-refusal")
    refusal.wait_for(timeout=TIMEOUT_MS)
    assert refusal.get_attribute("data-reason") == "used"
    assert other.locator("#contact-title").is_visible()
    assert other.locator(f"a[href='{reverse('account_request_login_code')}']").is_visible()
    screenshots(other, "second-device-refused")
    problems += page_problems(other, touch_targets=True)
    assert problems == []
