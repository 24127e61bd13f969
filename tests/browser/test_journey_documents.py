"""Documents in a real browser, through the whole pipeline: a client on a phone photographs three
pages with the camera input (JPEGs with different EXIF orientations), puts them in order and
sends them; the real clamd passes them; the case manager at a desk sees readable page images
in the client's order and answers in the chat; the phone shows the answer live. And an upload
whose connection breaks mid-file continues from where the server stands.

Each page is told apart by the colour of the band across its top: the test reads the colour
back from the page images the browser shows, so both the order and the upright turn of every
page are checked where the reader sees them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.urls import reverse

from sprechstunde.documents.choices import DocumentStatus, ScanStatus
from sprechstunde.documents.models import Document, UploadSession
from sprechstunde.documents.testing import PAPER, photo_jpeg
from sprechstunde.messaging.models import Message

from .support.checks import monitor_of, page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
CHAT_PORTAL = "/nachrichten/portal/"
RED, GREEN, BLUE = (200, 30, 30), (30, 150, 40), (30, 60, 200)

# Reads, for every page image in #document-pages, its natural size and the colour of a pixel
# near its top and near its bottom (drawn onto a canvas: what the browser decoded).
_READ_PAGES_JS = """
async (list) => {
  const images = [...list.querySelectorAll("img")];
  const found = [];
  for (const image of images) {
    image.loading = "eager";
    if (!image.complete || !image.naturalWidth) {
      await new Promise((done, fail) => {
        image.addEventListener("load", done, { once: true });
        image.addEventListener("error", () => fail(new Error("image failed")), { once: true });
      });
    }
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const at = (y) => Array.from(context.getImageData(canvas.width >> 1, y, 1, 1).data.slice(0, 3));
    found.push({
      width: image.naturalWidth,
      height: image.naturalHeight,
      top: at(Math.floor(canvas.height * 0.1)),
      bottom: at(Math.floor(canvas.height * 0.9)),
    });
  }
  return found;
}
"""

# Records what the progress bar shows while the upload runs (its value attribute reflects
# `bar.value`) and whether it was ever visible, in sessionStorage: the page moves on to the
# document afterwards.
_WATCH_PROGRESS_JS = """
() => {
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-progress-bar");
  const seen = { shown: false, values: [] };
  const keep = () => sessionStorage.setItem("progress", JSON.stringify(seen));
  new MutationObserver(() => { seen.shown = seen.shown || !box.hidden; keep(); })
    .observe(box, { attributes: true, attributeFilter: ["hidden"] });
  new MutationObserver(() => { seen.values.push(Number(bar.value)); keep(); })
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
}
"""


def close_to(colour: list[int], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(got - want) <= tolerance for got, want in zip(colour, expected, strict=True))


def photo(name: str, band: tuple[int, int, int], orientation: int) -> dict[str, Any]:
    data = photo_jpeg(size=(900, 1200), band=band, orientation=orientation, grain=0.1)
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def take_photos(page: Any, photos: list[dict[str, Any]]) -> None:
    """One camera shot after another, as on a phone (the camera input takes one photo)."""
    for number, shot in enumerate(photos, start=1):
        page.locator("#id_camera").set_input_files(shot)
        page.locator("[data-upload-item]").nth(number - 1).wait_for(timeout=TIMEOUT_MS)


def page_names(page: Any) -> list[str]:
    """The file names in the page list, in the order shown."""
    labels = page.locator("[data-upload-item] .upload-page__label").all_inner_texts()
    return [label.rpartition(": ")[2] for label in labels]


def move(page: Any, position: int, action: str) -> None:
    """Press "up" or "down" on the page at `position` (0-based) of the list."""
    page.locator("[data-upload-item]").nth(position).locator(
        f"button[data-action={action}]"
    ).click()


def wait_connected(page: Any) -> None:
    online = page.locator("#chat").get_attribute("data-text-online")
    page.locator("#chat-status", has_text=online).wait_for(timeout=TIMEOUT_MS)


def document_path(page: Any) -> int:
    page.wait_for_url(re.compile(r"/dokumente/\d+/$"), timeout=TIMEOUT_MS)
    return int(page.url.rstrip("/").rpartition("/")[2])


def test_client_photographs_reorders_and_sends_pages_and_the_case_manager_answers(
    new_context, screenshots, documents_configured
):
    documents_configured.DOCUMENT_UPLOAD_CHUNK_BYTES = 64 * 1024  # several chunks per photo
    world = build_world()
    shots = [
        photo("seite-rot.jpg", RED, orientation=1),
        photo("seite-gruen.jpg", GREEN, orientation=6),  # taken with the phone sideways
        photo("seite-blau.jpg", BLUE, orientation=3),  # taken upside down
    ]
    phone_context = new_context("phone", user=world.client_user)
    phone = phone_context.new_page()

    # (1) The client photographs three pages, puts the last one first and the first one last.
    phone.goto(reverse("documents:upload"))
    take_photos(phone, shots)
    assert page_names(phone) == ["seite-rot.jpg", "seite-gruen.jpg", "seite-blau.jpg"]
    move(phone, 2, "up")
    move(phone, 1, "up")
    move(phone, 1, "down")
    assert page_names(phone) == ["seite-blau.jpg", "seite-gruen.jpg", "seite-rot.jpg"]
    screenshots(phone, "phone-pages-reordered")
    problems = page_problems(phone, touch_targets=True)
    phone.locator("#id_title").fill("Kontoauszüge")
    phone.evaluate(_WATCH_PROGRESS_JS)
    phone.locator("#upload-submit").click()

    # (2) Sent; the real clamd checked the bytes and the pipeline made a PDF with previews.
    document_id = document_path(phone)
    phone.locator("[data-document-status=ready]").wait_for(timeout=TIMEOUT_MS)
    progress = phone.evaluate("() => JSON.parse(sessionStorage.getItem('progress'))")
    screenshots(phone, "phone-sent")
    document = Document.objects.get(pk=document_id)
    in_order = [shots[2]["buffer"], shots[1]["buffer"], shots[0]["buffer"]]
    assert progress["shown"] and progress["values"], progress
    assert any(0 < value < 100 for value in progress["values"]), progress
    assert max(progress["values"]) == 100
    assert (document.status, document.scan_status, document.page_count) == (
        DocumentStatus.READY,
        ScanStatus.CLEAN,
        3,
    )
    assert document.title == "Kontoauszüge"
    assert document.sha256 == hashlib.sha256(b"".join(in_order)).hexdigest()
    assert not UploadSession.objects.exists()

    # The client keeps the chat open on the phone meanwhile.
    phone.goto(CHAT_PORTAL)
    wait_connected(phone)

    # (3) The case manager reads the pages: large enough, upright, in the client's order.
    desk = new_context("desktop", user=world.case_manager).new_page()
    desk.goto(reverse("documents:detail", kwargs={"pk": document_id}))
    pages = desk.locator("#document-pages")
    pages.wait_for(timeout=TIMEOUT_MS)
    shown = pages.evaluate(_READ_PAGES_JS)
    desk.locator("#document-download").wait_for(timeout=TIMEOUT_MS)
    desk.locator("[data-scan-status=clean]").wait_for(timeout=TIMEOUT_MS)
    screenshots(desk, "desk-previews")
    problems += page_problems(desk, touch_targets=False)

    assert len(shown) == 3
    for number, (image, band) in enumerate(zip(shown, [BLUE, GREEN, RED], strict=True), 1):
        assert image["width"] >= 700, f"page {number} is too small to read: {image}"
        assert image["height"] > image["width"], f"page {number} is not upright: {image}"
        assert close_to(image["top"], band), f"page {number} top is {image['top']}, not {band}"
        assert close_to(image["bottom"], PAPER), f"page {number} bottom: {image['bottom']}"

    desk.goto(reverse("messaging:client_conversation", kwargs={"client_pk": world.client.pk}))
    wait_connected(desk)
    answer = "Danke, die Kontoauszüge sind vollständig angekommen."
    desk.locator("#chat-form textarea").fill(answer)
    desk.locator("#chat-form [type=submit]").click()

    # (4) The phone shows the answer without a reload.
    phone.locator(".chat__message[data-sequence]", has_text=answer).wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-answer-live")
    assert phone.url.endswith(CHAT_PORTAL)
    assert Message.objects.get().body == answer
    assert not problems, "\n".join(problems)


def test_an_upload_cut_off_mid_file_continues_from_the_servers_offset(
    new_context, screenshots, documents_configured
):
    chunk = 64 * 1024
    documents_configured.DOCUMENT_UPLOAD_CHUNK_BYTES = chunk
    world = build_world()
    shots = [photo("seite-1.jpg", RED, orientation=1), photo("seite-2.jpg", GREEN, orientation=8)]
    assert len(shots[0]["buffer"]) > 3 * chunk
    phone = new_context("phone", user=world.client_user).new_page()
    offsets: list[int] = []
    cut: list[str] = []

    def on_chunk(route: Any) -> None:
        request = route.request
        if request.method != "PUT":
            route.continue_()
            return
        offset = int(request.headers["upload-offset"])
        offsets.append(offset)
        if offset == 2 * chunk and not cut:
            # The server receives and stores the chunk, but the answer never reaches the
            # phone (the mobile connection drops): the page must ask where the upload stands.
            delivered = route.fetch()
            assert delivered.status == 200
            cut.append(request.url)
            route.abort("connectionreset")
            return
        route.continue_()

    phone.route(re.compile(r".*/dokumente/uploads/[^/]+/$"), on_chunk)
    phone.goto(reverse("documents:upload"))
    take_photos(phone, shots)
    phone.locator("#upload-submit").click()
    document_id = document_path(phone)
    phone.locator("[data-document-status=ready]").wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-resumed-and-sent")

    document = Document.objects.get(pk=document_id)
    first_file = offsets[: offsets.index(0, 1)]
    assert cut, "the connection was never cut"
    # No chunk went twice: after the cut the page continued at the server's offset (3 chunks),
    # not at the chunk whose answer it lost, and not from the start.
    assert first_file[:4] == [0, chunk, 2 * chunk, 3 * chunk], offsets
    assert len(first_file) == len(set(first_file))
    assert (document.status, document.page_count) == (DocumentStatus.READY, 2)
    expected = hashlib.sha256(shots[0]["buffer"] + shots[1]["buffer"]).hexdigest()
    assert document.sha256 == expected
    # The one failed request is the cut on purpose; anything else still fails the test.
    monitor = monitor_of(phone)
    assert any(cut[0] in failure for failure in monitor.failed_resources)
    monitor.failed_resources[:] = [f for f in monitor.failed_resources if cut[0] not in f]


def test_past_the_upload_cap_the_page_shows_the_servers_message(
    new_context, screenshots, documents_configured
):
    """A client who already holds the allowed unfinished uploads (other tabs, say) is told
    why the next one cannot start, in the page's language; nothing is sent or created."""
    from django.utils import translation

    from sprechstunde.documents import services

    documents_configured.DOCUMENT_MAX_OPEN_UPLOADS = 2
    world = build_world()
    client_record = world.client_user.client_profile
    for _ in range(2):
        services.upload_session_create(
            owner=world.client_user,
            client=client_record,
            original_name="anderer-tab.jpg",
            expected_size=1000,
        )
    phone = new_context("phone", user=world.client_user).new_page()
    phone.goto(reverse("documents:upload"))
    take_photos(phone, [photo("seite-1.jpg", RED, orientation=1)])
    phone.locator("#upload-submit").click()

    error = phone.locator("#upload-error")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    with translation.override("de"):
        expected = translation.gettext(
            "You have too many unfinished uploads. Please send or remove the files you have "
            "already chosen, then try again."
        )
    assert error.inner_text().strip() == expected
    screenshots(phone, "phone-upload-cap")
    assert UploadSession.objects.filter(owner=world.client_user).count() == 2
    assert not Document.objects.exists()
    # The refusal is the 429 answer itself; anything else still fails the test.
    monitor = monitor_of(phone)
    monitor.failed_resources[:] = [f for f in monitor.failed_resources if not f.startswith("429 ")]
    monitor.console_errors[:] = [e for e in monitor.console_errors if "429" not in e]
