"""A photo in a message, in real browsers with the real clamd: the client on a 360 x 740 phone
(German UI) first picks a broken file and is told why it was refused, then attaches a
camera photo to a message and sends it; the case manager at a desk,
with the conversation open, sees the message arrive, sees the attachment turn from "being
checked" into a thumbnail once the documents pipeline is done, and opens it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sprechstunde.documents.choices import DocumentStatus, ScanStatus
from sprechstunde.documents.models import Document, UploadSession
from sprechstunde.documents.testing import photo_jpeg
from sprechstunde.messaging.models import Message

from .support.checks import monitor_of, page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
CHAT_PORTAL = "/nachrichten/portal/"


def wait_connected(page) -> None:
    online = page.locator("#chat").get_attribute("data-text-online")
    page.locator("#chat-status", has_text=online).wait_for(timeout=TIMEOUT_MS)


def test_the_client_sends_a_photo_in_a_message_and_the_case_manager_opens_it(
    new_context, screenshots, documents_configured
):
    documents_configured.DOCUMENT_UPLOAD_CHUNK_BYTES = 64 * 1024  # several chunks
    world = build_world()
    desk = new_context("desktop", user=world.case_manager).new_page()
    desk.goto(reverse("messaging:client_conversation", kwargs={"client_pk": world.client.pk}))
    wait_connected(desk)

    phone = new_context("phone", user=world.client_user).new_page()
    phone.goto(CHAT_PORTAL)
    wait_connected(phone)
    attach_button = phone.get_by_text("Foto oder PDF anhängen")
    assert attach_button.is_visible()
    box = attach_button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    camera = phone.locator("#chat-attach-camera")
    assert camera.get_attribute("capture") == "environment"
    assert phone.locator("#chat-attach-files").get_attribute("accept") == (
        "image/*,application/pdf"
    )

    # A file that is no PDF at all: refused with its name and the reason, in German; nothing
    # is stored, and the text and the file stay for another try.
    phone.locator("#chat-attach-files").set_input_files(
        {"name": "kaputt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 broken"}
    )
    phone.locator("[data-attach-item]", has_text="kaputt.pdf").wait_for(timeout=TIMEOUT_MS)
    phone.locator("#chat-form textarea").fill("Hier ist mein Widerspruch.")
    phone.locator("#chat-form [type=submit]").click()
    error = phone.locator("#chat-attach-error")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "Der Anhang „kaputt.pdf“ wurde nicht angenommen" in error.inner_text()
    screenshots(phone, "phone-file-refused")
    assert not Message.objects.exists() and not Document.objects.exists()
    assert phone.locator("#chat-form textarea").input_value() == "Hier ist mein Widerspruch."
    phone.get_by_role("button", name="Entfernen: kaputt.pdf").click()
    assert phone.locator("[data-attach-item]").count() == 0
    # The refusal is the 400 answer itself; anything else still fails the test.
    monitor = monitor_of(phone)
    monitor.failed_resources[:] = [f for f in monitor.failed_resources if not f.startswith("400 ")]
    monitor.console_errors[:] = [e for e in monitor.console_errors if "400" not in e]

    shot = photo_jpeg(size=(900, 1200), band=(200, 30, 30), grain=0.1)
    assert len(shot) > 2 * 64 * 1024
    camera.set_input_files({"name": "widerspruch.jpg", "mimeType": "image/jpeg", "buffer": shot})
    phone.locator("[data-attach-item]", has_text="widerspruch.jpg").wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-photo-chosen")
    problems = page_problems(phone, touch_targets=True)
    phone.locator("#chat-form [type=submit]").click()

    # The phone shows its message with the attachment; the chosen list is empty again.
    mine = phone.locator(".chat__message[data-sequence]", has_text="Hier ist mein Widerspruch.")
    mine.wait_for(timeout=TIMEOUT_MS)
    mine.locator("[data-attachment-state=ready]").wait_for(timeout=TIMEOUT_MS)
    assert phone.locator("[data-attach-item]").count() == 0
    assert phone.locator("#chat-form textarea").input_value() == ""
    screenshots(phone, "phone-photo-sent")
    problems += page_problems(phone, touch_targets=True)

    # The desk sees it live, and the attachment becomes a thumbnail when checked.
    theirs = desk.locator(".chat__message[data-sequence]", has_text="Hier ist mein Widerspruch.")
    theirs.wait_for(timeout=TIMEOUT_MS)
    ready = theirs.locator("[data-attachment-state=ready]")
    ready.wait_for(timeout=TIMEOUT_MS)
    thumb = ready.locator("img.chat-attachment__thumb")
    thumb.wait_for(timeout=TIMEOUT_MS)
    assert desk.evaluate("(img) => img.complete && img.naturalWidth > 0", thumb.element_handle()), (
        "the thumbnail did not load"
    )
    screenshots(desk, "desk-photo-received")
    problems += page_problems(desk, touch_targets=False)

    message = Message.objects.get()
    document = Document.objects.get()
    assert message.attachments.get().document == document
    assert (document.status, document.scan_status) == (DocumentStatus.READY, ScanStatus.CLEAN)
    assert document.client == world.client and document.original_name == "widerspruch.jpg"
    assert not UploadSession.objects.exists()

    # The case manager opens it: the document page with its page image.
    ready.locator("a.chat-attachment__link").click()
    desk.wait_for_url(re.compile(rf"/dokumente/{document.pk}/$"), timeout=TIMEOUT_MS)
    desk.locator("#document-pages img").first.wait_for(timeout=TIMEOUT_MS)
    assert not problems, "\n".join(problems)
