"""Right to left (issue 13, point 3): the client journey in Arabic and in Persian on a 360 px
phone. Invitation, consent, code login, home, booking, messages, upload and the video call.

On every page: `<html dir="rtl" lang=..>`, axe-core without a violation, 44 px touch targets,
no horizontal scrolling at 360 px, and a screenshot of the first screen in docs/screenshots/
(rtl-<lang>-<page>.png). Numbers, dates and phone numbers must read as they are written: the
test measures where the browser draws each character of a phone number and of a time, so a
number that the bidi algorithm turns around ("23456789 151 49+") or breaks fails. In the call,
the picture the other side sees is never mirrored: no remote video (nor anything around it)
carries a transform, and the track that is sent is the camera's own.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory, OfficeHoursFactory
from sprechstunde.appointments.models import Appointment
from sprechstunde.appointments.selectors import office_hours_slots_for_client
from sprechstunde.clients import services as client_services
from sprechstunde.clients.models import Client
from sprechstunde.documents.testing import photo_jpeg
from sprechstunde.video_calls.factories import VideoAppointmentFactory

from .support.auth import latest_code_for
from .support.checks import axe_violations, format_axe, monitor_of, small_touch_targets
from .test_video_calls import call_path, participant_id, prejoin_and_join, wait_phase

pytestmark = pytest.mark.browser

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 20_000
PHONE_WIDTH = 360
JOBCENTER_PHONE = "+49 751 12345-0"
CLIENT_MOBILE = "+49 151 23456789"

# Where the browser draws each character of `needle` inside `selector` (the first text node
# run that holds it): one box per character, or null when the text is not there.
_CHARACTER_BOXES_JS = """
([selector, needle]) => {
  const root = document.querySelector(selector);
  if (!root) { return null; }
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = '';
  while (walker.nextNode()) {
    nodes.push([walker.currentNode, text.length]);
    text += walker.currentNode.data;
  }
  const start = text.indexOf(needle);
  if (start < 0) { return null; }
  const boxes = [];
  for (let i = start; i < start + needle.length; i++) {
    const [node, offset] = nodes.filter(([, at]) => at <= i).pop();
    const range = document.createRange();
    range.setStart(node, i - offset);
    range.setEnd(node, i - offset + 1);
    const rect = range.getBoundingClientRect();
    boxes.push({ch: needle[i - start], x: rect.left, y: rect.top, w: rect.width, h: rect.height});
  }
  return boxes;
}
"""

# Every video that shows someone else, with the transforms on it and on everything around it.
_REMOTE_TRANSFORMS_JS = """
() => [...document.querySelectorAll('#tiles video')]
  .filter((video) => video.id !== 'self-video')
  .map((video) => {
    const found = [];
    for (let el = video; el; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (style.transform !== 'none') { found.push(el.tagName + ' transform ' + style.transform); }
      if (style.scale !== 'none') { found.push(el.tagName + ' scale ' + style.scale); }
      if (style.rotate !== 'none') { found.push(el.tagName + ' rotate ' + style.rotate); }
    }
    return {label: video.getAttribute('aria-label'), playing: video.videoWidth > 0, found};
  })
"""

# The video track each peer connection sends is the camera track itself (the one the self
# view shows), not a drawn or processed copy that could be mirrored.
_SENT_IS_CAMERA_JS = """
() => {
  const call = window.sprechstundeCall;
  const self = document.getElementById('self-video').srcObject;
  const camera = self ? self.getVideoTracks().map((track) => track.label) : [];
  return call.peerIds().map((id) => {
    const sender = call.peerConnection(id).getSenders()
        .find((s) => s.track && s.track.kind === 'video');
    return {peer: id, sent: sender ? sender.track.label : null, camera};
  });
}
"""


def local(moment: datetime.datetime, pattern: str) -> str:
    return timezone.localtime(moment).strftime(pattern)


def reads_left_to_right(page, selector: str, needle: str, *, one_line: bool = True) -> list[str]:
    """Problems if `needle` inside `selector` is not drawn as written: on one line (unless
    `one_line` is off), each character to the right of the one before on its line (digits,
    phone numbers and addresses run left to right in Arabic and Persian text too)."""
    boxes = page.evaluate(_CHARACTER_BOXES_JS, [selector, needle])
    if boxes is None:
        return [f"{needle!r} is not in {selector}"]
    drawn = [box for box in boxes if box["w"] > 0]
    lines = {round(box["y"]) for box in drawn}
    problems = []
    if one_line and len(lines) > 1:
        problems.append(f"{needle!r} in {selector} is broken over {len(lines)} lines")
    # Line by line, top to bottom; within a line, left to right.
    by_line = [[box["x"] for box in drawn if round(box["y"]) == y] for y in sorted(lines)]
    if any(xs != sorted(xs) for xs in by_line):
        order = "".join(box["ch"] for box in sorted(drawn, key=lambda box: box["x"]))
        problems.append(f"{needle!r} in {selector} is drawn as {order!r}")
    return problems


class RtlPages:
    """Checks each page of one language's journey and keeps the problems found."""

    def __init__(self, language: str, screenshots) -> None:
        self.language = language
        self.screenshots = screenshots
        self.problems: list[str] = []
        self.seen: list[str] = []

    def check(self, page, name: str, *, touch_targets: bool = True) -> None:
        page.wait_for_load_state()
        html = page.evaluate(
            "() => ({dir: document.documentElement.dir, lang: document.documentElement.lang,"
            " width: document.documentElement.scrollWidth, view: window.innerWidth,"
            " bodyWidth: document.body.scrollWidth})"
        )
        found = []
        if (html["dir"], html["lang"]) != ("rtl", self.language):
            found.append(f"<html dir={html['dir']!r} lang={html['lang']!r}>")
        if max(html["width"], html["bodyWidth"]) > html["view"]:
            found.append(f"scrolls sideways: {html['width']} px wide at {html['view']} px")
        found += format_axe(axe_violations(page))
        if touch_targets:
            found += small_touch_targets(page)
        monitor = monitor_of(page)
        monitor.collect_csp_events(page)
        found += monitor.problems()
        monitor.reset()
        self.problems += [f"{self.language} {name}: {problem}" for problem in found]
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(DOCS_SCREENSHOTS / f"rtl-{self.language}-{name}.png"),
            animations="disabled",
            scale="css",
        )
        self.screenshots(page, name)
        self.seen.append(name)

    def text(self, page, selector: str, needle: str, name: str, *, one_line: bool = True) -> None:
        self.problems += [
            f"{self.language} {name}: {problem}"
            for problem in reads_left_to_right(page, selector, needle, one_line=one_line)
        ]


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_client_journey_right_to_left_on_a_phone(
    language, live_app, new_context, screenshots, settings
):
    settings.JOBCENTER_PHONE = JOBCENTER_PHONE
    case_manager = CaseManagerFactory(
        team=TeamFactory(), email="fm@jobcenter.example", first_name="Frieda", last_name="Maier"
    )
    email = f"client-{language}@example.org"
    client = client_services.client_create(
        actor=case_manager,
        first_name="Amira",
        last_name="Haddad",
        email=email,
        mobile_number=CLIENT_MOBILE,
        preferred_language=language,
    )
    token = client_services.invitation_send(client=client, actor=case_manager).token
    OfficeHoursFactory(case_manager=case_manager, channels=[Channel.PHONE, Channel.VIDEO])
    phone_call = AppointmentFactory(client=client, case_manager=case_manager)
    starts = local(phone_call.starts_at, "%H:%M")
    mail.outbox.clear()
    pages = RtlPages(language, screenshots)
    accept = {"locale": language, "extra_http_headers": {"Accept-Language": language}}
    phone = new_context("phone", **accept).new_page()

    # Invitation and consent, in the client's language from the first page.
    phone.goto(reverse("clients:invitation_accept", args=[token]))
    pages.check(phone, "invitation")
    pages.text(phone, "#main", JOBCENTER_PHONE, "invitation")
    phone.check("input[name=consent_portal]")
    phone.check("input[name=consent_video]")
    phone.locator("[data-main-action]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:invitation_accepted"))))
    pages.check(phone, "accepted")
    pages.text(phone, "#main", email, "accepted")

    # Code login: the code comes by mail, the page asks for it.
    phone.locator("[data-main-action]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("account_confirm_login_code"))))
    pages.check(phone, "code")
    # allauth keeps its flash messages as plain text: isolated by control characters, the
    # address may wrap at its hyphen there, but each part reads as written.
    pages.text(phone, ".messages", email, "code", one_line=False)
    pages.text(phone, "#main h1 + p", email, "code")
    phone.fill("input[name=code]", latest_code_for(email))
    phone.locator("form:has(input[name=code]) [type=submit]").first.click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:portal_home"))))

    # Home: the phone appointment's date and time, the number she is called at.
    phone.locator(f"#next-appointment[data-appointment='{phone_call.pk}']").wait_for()
    pages.check(phone, "home")
    pages.text(phone, "#next-appointment", starts, "home")
    pages.text(phone, "#next-appointment", local(phone_call.starts_at, "%d.%m.%Y"), "home")
    pages.text(phone, "#next-appointment-phone", client.mobile_number, "home")
    pages.text(phone, "#next-appointment", JOBCENTER_PHONE, "home")

    # Booking: the next free time, the confirmation, the booked appointment.
    phone.goto(reverse("appointments:portal_book"))
    pages.check(phone, "booking")
    next_day = local(office_hours_slots_for_client(client=client)[0].starts_at, "%d.%m.")
    pages.text(phone, ".booking__when", next_day, "booking")
    pages.text(phone, "[data-day-picker] li", next_day, "booking")
    phone.locator("[data-next-slot] a[href*='channel=phone']").click()
    phone.wait_for_url(re.compile(r"/bestaetigen/\?"))
    pages.check(phone, "booking-confirm")
    phone.locator("[data-book]").click()
    phone.wait_for_url(re.compile(r"/termine/meine/\d+/$"))
    booked = Appointment.objects.exclude(pk=phone_call.pk).get(client=client)
    pages.check(phone, "booked")
    pages.text(phone, "#main", local(booked.starts_at, "%H:%M"), "booked")

    # Messages: she writes, the message comes back confirmed.
    phone.goto(reverse("messaging:portal"))
    online = phone.locator("#chat").get_attribute("data-text-online")
    phone.locator("#chat-status", has_text=online).wait_for(timeout=TIMEOUT_MS)
    phone.locator("#chat-form textarea").fill("مرحبا، موعدي الساعة 10:00، شكرا")
    phone.locator("#chat-form [type=submit]").click()
    message = phone.locator(".chat__message[data-sequence]").first
    message.wait_for(timeout=TIMEOUT_MS)
    pages.check(phone, "messages")
    pages.text(phone, ".chat__message[data-sequence]", "10:00", "messages")

    # Upload: two photos taken, in order, ready to send.
    phone.goto(reverse("documents:upload"))
    pages.check(phone, "upload")
    for number in (1, 2):
        shot = photo_jpeg(size=(600, 800), band=(200, 30, 30), orientation=1)
        phone.locator("#id_camera").set_input_files(
            {"name": f"seite-{number}.jpg", "mimeType": "image/jpeg", "buffer": shot}
        )
        phone.locator("[data-upload-item]").nth(number - 1).wait_for(timeout=TIMEOUT_MS)
    pages.check(phone, "upload-pages")

    # The call: the pre-join check, then in the call with the case manager.
    appointment = VideoAppointmentFactory(case_manager=case_manager, client=client)
    desk = new_context("desktop", user=case_manager).new_page()
    desk.set_default_timeout(TIMEOUT_MS)
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    phone.locator("#prejoin").wait_for(timeout=TIMEOUT_MS)
    pages.check(phone, "call-prejoin")
    # Date and time are two numbers: each reads left to right; in Arabic the date comes
    # first, on the right.
    for part in ("%d.%m.%Y", "%H:%M"):
        pages.text(phone, "#call-heading", local(appointment.starts_at, part), "call-prejoin")
    phone.locator("#join-camera").tap()
    wait_phase(phone, "waiting")
    desk.locator("#waiting-list li [data-action=admit]").first.click(timeout=TIMEOUT_MS)
    wait_phase(phone, "in-call")
    phone_id, desk_id = participant_id(phone), participant_id(desk)
    for page, other in ((phone, desk_id), (desk, phone_id)):
        page.wait_for_function(
            "() => [...document.querySelectorAll('#tiles video')]"
            ".some((v) => v.id !== 'self-video' && v.videoWidth > 0)",
            timeout=TIMEOUT_MS,
        )
        remote = page.evaluate(_REMOTE_TRANSFORMS_JS)
        assert remote and all(video["playing"] for video in remote), remote
        assert [video["found"] for video in remote] == [[]] * len(remote), remote
        sent = page.evaluate(_SENT_IS_CAMERA_JS)
        assert [s["peer"] for s in sent] == [other], sent
        assert all(s["sent"] and s["sent"] in s["camera"] for s in sent), sent
    pages.check(phone, "call", touch_targets=True)

    client.refresh_from_db()
    assert client.preferred_language == language
    assert Client.objects.get(pk=client.pk).user.preferred_language == language
    assert pages.seen == [
        "invitation",
        "accepted",
        "code",
        "home",
        "booking",
        "booking-confirm",
        "booked",
        "messages",
        "upload",
        "upload-pages",
        "call-prejoin",
        "call",
    ]
    assert not pages.problems, "\n".join(pages.problems)
