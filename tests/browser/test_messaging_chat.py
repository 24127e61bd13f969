"""Messages in a real browser: a client on a phone and a case manager at a desk chat live
through chat.js (websocket, ack, read receipts), the phone comes back after losing the
connection without losing a word, and the same pages work with JavaScript switched off."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sprechstunde.messaging.models import Message

from .support.checks import page_problems, set_offline
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

PORTAL = "/nachrichten/portal/"
TIMEOUT_MS = 10_000


def staff_page_path(world) -> str:
    return reverse("messaging:client_conversation", kwargs={"client_pk": world.client.pk})


def wait_connected(page) -> None:
    online = page.locator("#chat").get_attribute("data-text-online")
    page.locator("#chat-status", has_text=online).wait_for(timeout=TIMEOUT_MS)


def write(page, text: str) -> None:
    page.locator("#chat-form textarea").fill(text)
    page.locator("#chat-form [type=submit]").click()


def confirmed(page, text: str):
    """The message as shown once the server has numbered it (not the pending copy)."""
    return page.locator(".chat__message[data-sequence]", has_text=text)


def test_client_and_case_manager_chat_live_with_read_receipts(new_context, screenshots):
    world = build_world()
    phone = new_context("phone", user=world.client_user).new_page()
    desk = new_context("desktop", user=world.case_manager).new_page()

    desk.goto(staff_page_path(world))
    phone.goto(PORTAL)
    wait_connected(desk)
    wait_connected(phone)
    problems = page_problems(phone, touch_targets=True) + page_problems(desk, touch_targets=False)
    screenshots(phone, "phone-empty")

    write(desk, "Guten Tag, bitte schicken Sie die Lohnabrechnung.")
    confirmed(phone, "bitte schicken Sie die Lohnabrechnung").wait_for(timeout=TIMEOUT_MS)
    confirmed(desk, "bitte schicken Sie die Lohnabrechnung").wait_for(timeout=TIMEOUT_MS)
    write(phone, "Mache ich morgen früh.")
    mine = confirmed(phone, "Mache ich morgen früh.")
    mine.wait_for(timeout=TIMEOUT_MS)
    confirmed(desk, "Mache ich morgen früh.").wait_for(timeout=TIMEOUT_MS)
    # The case manager's page is open and visible, so the reply counts as read at once.
    read_text = phone.locator("#chat").get_attribute("data-text-read")
    mine.locator(".chat__receipt", has_text=read_text).wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-chat")
    screenshots(desk, "desk-chat")
    problems += page_problems(phone, touch_targets=True)

    assert list(Message.objects.order_by("sequence").values_list("sequence", "sender_side")) == [
        (1, "staff"),
        (2, "client"),
    ]
    assert phone.locator(".chat__message").count() == 2
    assert desk.locator(".chat__message").count() == 2
    assert phone.locator(".chat__message--pending").count() == 0
    assert not problems, "\n".join(problems)


def test_a_phone_that_loses_the_connection_sends_later_and_catches_up(new_context, screenshots):
    world = build_world()
    phone_context = new_context("phone", user=world.client_user)
    phone = phone_context.new_page()
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone.goto(PORTAL)
    desk.goto(staff_page_path(world))
    wait_connected(phone)
    wait_connected(desk)

    # The phone goes into a tunnel: its socket is cut and nothing gets through.
    set_offline(phone_context, True)
    offline = phone.locator("#chat").get_attribute("data-text-offline")
    phone.locator("#chat-status", has_text=offline).wait_for(timeout=TIMEOUT_MS)
    write(phone, "Ich bin im Zug, die Verbindung ist schlecht.")
    write(desk, "Kein Problem, melden Sie sich später.")
    confirmed(desk, "Kein Problem").wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-offline")
    assert Message.objects.count() == 1

    set_offline(phone_context, False)
    wait_connected(phone)
    confirmed(phone, "Ich bin im Zug").wait_for(timeout=TIMEOUT_MS)
    confirmed(phone, "Kein Problem").wait_for(timeout=TIMEOUT_MS)
    confirmed(desk, "Ich bin im Zug").wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-back-online")

    assert Message.objects.count() == 2
    sequences = phone.locator(".chat__message").evaluate_all(
        "items => items.map(item => item.dataset.sequence)"
    )
    assert sequences == ["1", "2"]


def test_without_javascript_the_form_sends_and_the_page_shows_the_message(new_context, screenshots):
    world = build_world()
    phone = new_context("phone", user=world.client_user, java_script_enabled=False).new_page()

    phone.goto(PORTAL)
    write(phone, "Ohne JavaScript geschrieben.")
    phone.wait_for_url(re.compile(re.escape(PORTAL)))
    screenshots(phone, "phone-no-js")

    assert confirmed(phone, "Ohne JavaScript geschrieben.").count() == 1
    assert Message.objects.get().body == "Ohne JavaScript geschrieben."
