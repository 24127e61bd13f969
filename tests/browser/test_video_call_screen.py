"""The call screen on phones and desks (issue 12, point 4; ADR 0053), in real Chromium with fake
camera and microphone: the other person fills the screen, the self-view is a small picture in
a corner, every control of the bar is on screen without scrolling, no site navigation, the
verification code on one line; with three people the one speaking is large and a tap swaps;
and the page says it is reconnecting when the other side's media stops.

Screenshots of each size go to docs/screenshots/ (committed, for the docs and for review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import InterpreterKind

from .support.checks import page_problems
from .support.sample_data import build_world
from .test_video_calls import (
    TIMEOUT_MS,
    admit,
    call_path,
    interpreter_joins,
    media_flows,
    participant_id,
    prejoin_and_join,
    sas_codes,
    toggle,
    video_appointment,
    wait_phase,
)

pytestmark = pytest.mark.browser

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# (width, height): the sizes of issue 12, and one phone turned sideways.
SIZES = [(320, 568), (360, 740), (1280, 800), (740, 360)]

GEOMETRY = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height, right: r.right, bottom: r.bottom}; };
  const shown = (el) => el.getClientRects().length > 0 && !el.closest('[hidden]');
  const large = document.querySelector('.tile--main video');
  return {
    viewport: {width: innerWidth, height: innerHeight},
    scroll: {width: document.documentElement.scrollWidth,
             height: document.documentElement.scrollHeight},
    large: large ? box(large) : null,
    self: box(document.getElementById('self-video')),
    controls: [...document.querySelectorAll('.controls button')].filter(shown)
      .map((el) => ({id: el.id, ...box(el)})),
    siteNav: [...document.querySelectorAll('.site-header, .site-nav')].filter(shown).length,
  };
}"""

CODE_LINES = """() => {
  const code = document.querySelector('#codes .code');
  const style = getComputedStyle(code);
  const r = code.getBoundingClientRect();
  return {height: r.height, lineHeight: parseFloat(style.lineHeight), right: r.right,
          width: innerWidth, whiteSpace: style.whiteSpace, text: code.textContent};
}"""


def check_call_screen(page, width: int, height: int) -> None:
    """The layout rules of the call screen on this page at its present viewport size."""
    g = page.evaluate(GEOMETRY)
    vw, vh = g["viewport"]["width"], g["viewport"]["height"]
    assert (vw, vh) == (width, height), g["viewport"]
    assert g["siteNav"] == 0, "the site navigation is shown in the call"
    large = g["large"]
    assert large, "no remote video is shown large"
    # The other person fills the screen (what the control bar leaves of it).
    assert large["width"] >= 0.8 * vw, (large, vw)
    assert large["height"] >= 0.6 * vh, (large, vh)
    # The self-view: small, in the top right corner.
    me = g["self"]
    assert me["width"] * me["height"] <= 0.12 * vw * vh, me
    assert vw - me["right"] <= 16 and me["y"] <= 64, me
    # Every control of the bar is on screen, none needs scrolling.
    ids = {c["id"] for c in g["controls"]}
    assert {"ctl-mic", "ctl-camera", "ctl-audio-only", "ctl-more", "ctl-leave"} <= ids, ids
    # Chromium's fake devices are one camera: nothing to switch between, no button for it.
    assert "ctl-flip" not in ids, ids
    for c in g["controls"]:
        assert c["x"] >= 0 and c["y"] >= 0 and c["right"] <= vw and c["bottom"] <= vh, c
        assert c["width"] >= 44 and c["height"] >= 44, c
    assert g["scroll"]["width"] <= vw and g["scroll"]["height"] <= vh, g["scroll"]


def check_code_on_one_line(page) -> None:
    page.locator("#ctl-more").click()
    page.locator("#codes .code").wait_for(timeout=TIMEOUT_MS)
    code = page.evaluate(CODE_LINES)
    assert code["whiteSpace"] == "nowrap", code
    assert abs(code["height"] - code["lineHeight"]) <= 1, code  # exactly one line
    assert code["right"] <= code["width"], code
    assert len(code["text"].replace(" ", "")) == 6, code


def shoot(page, name: str) -> None:
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOTS / name))


def two_party_call(new_context, world, phone_viewport=(360, 740)):
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    width, height = phone_viewport
    phone = new_context(
        "phone",
        user=world.client_user,
        viewport={"width": width, "height": height},
        screen={"width": width, "height": height},
    ).new_page()
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    prejoin_and_join(phone)
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")
    desk_id, phone_id = participant_id(desk), participant_id(phone)
    media_flows(phone, [desk_id])
    media_flows(desk, [phone_id])
    return desk, phone, desk_id, phone_id


def test_call_screen_at_phone_and_desk_sizes(new_context):
    world = build_world()
    desk, phone, _desk_id, _phone_id = two_party_call(new_context, world)
    sas_codes(phone)
    for width, height in SIZES:
        phone.set_viewport_size({"width": width, "height": height})
        phone.wait_for_function(
            "([w, h]) => innerWidth === w && innerHeight === h", arg=[width, height]
        )
        kind = "landscape" if width > height and width < 1000 else "portrait"
        shoot(phone, f"call-{width}x{height}-{kind if width < 1000 else 'desk'}.png")
        check_call_screen(phone, width, height)
    phone.set_viewport_size({"width": 360, "height": 740})
    problems = page_problems(phone, touch_targets=True)
    # The "more" sheet: the code on one line at the narrowest phone; chat and codes pass axe.
    phone.set_viewport_size({"width": 320, "height": 568})
    check_code_on_one_line(phone)
    shoot(phone, "call-320x568-more.png")
    problems += page_problems(phone, touch_targets=True)
    # The case manager's desk: the call beside the waiting room panel, no site navigation.
    g = desk.evaluate(GEOMETRY)
    assert g["siteNav"] == 0
    assert g["large"]["width"] >= 0.7 * g["viewport"]["width"], g
    assert desk.locator("#waiting-list").is_visible()
    shoot(desk, "call-1280x800-case-manager.png")
    problems += page_problems(desk, touch_targets=False)
    assert not problems, "\n".join(problems)


LARGE = "() => Number(document.getElementById('tiles').dataset.large)"


def wait_large(page, peer_id: int) -> None:
    page.wait_for_function(
        "id => Number(document.getElementById('tiles').dataset.large) === id",
        arg=peer_id,
        timeout=TIMEOUT_MS,
    )


def test_three_people_the_speaker_is_large_the_others_in_a_strip_and_a_tap_swaps(new_context):
    world = build_world()
    appointment = video_appointment(world)
    _invitation, token = services.interpreter_invite(
        actor=world.case_manager, appointment=appointment, kind=InterpreterKind.SIGN
    )
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone = new_context("phone", user=world.client_user).new_page()
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    prejoin_and_join(phone)
    interpreter = interpreter_joins(new_context, token, "Ina Gebärde")
    wait_phase(interpreter, "waiting")
    desk.locator("#waiting-list li[data-state=waiting]").nth(1).wait_for(timeout=TIMEOUT_MS)
    desk.locator("#admit-all").click()
    wait_phase(phone, "in-call")
    desk_id, interpreter_id = participant_id(desk), participant_id(interpreter)
    media_flows(phone, [desk_id, interpreter_id])

    # Only the interpreter speaks (the case manager's microphone off): they are large.
    toggle(desk, "#ctl-mic", on=False)
    wait_large(phone, interpreter_id)
    # Then only the case manager: the large picture moves to them.
    toggle(desk, "#ctl-mic", on=True)
    toggle(interpreter, "#ctl-mic", on=False)
    wait_large(phone, desk_id)
    check_call_screen(phone, 360, 740)
    strip = phone.locator(f".tile[data-peer='{interpreter_id}']")
    assert "tile--strip" in (strip.get_attribute("class") or "")
    box = strip.bounding_box()
    assert box and box["width"] <= 0.4 * 360 and box["y"] + box["height"] <= 740, box
    shoot(phone, "call-360x740-three-people.png")

    # A tap on the small picture makes it the large one (and keeps it there).
    strip.locator(".tile__pick").click()
    wait_large(phone, interpreter_id)
    desk_tile = phone.locator(f".tile[data-peer='{desk_id}']")
    assert "tile--strip" in (desk_tile.get_attribute("class") or "")
    phone.wait_for_timeout(1500)  # the case manager goes on speaking: the pin holds
    assert phone.evaluate(LARGE) == interpreter_id
    problems = page_problems(phone, touch_targets=True)
    assert not problems, "\n".join(problems)


def test_the_page_says_reconnecting_when_the_other_side_media_stops(new_context):
    """The media from the case manager stops (their connection to the client is closed, no
    goodbye over the websocket): the client's page no longer says it is in the call but that
    it is reconnecting."""
    from django.utils.translation import gettext, override

    world = build_world()
    desk, phone, desk_id, phone_id = two_party_call(new_context, world)
    with override("de"):
        in_call, reconnecting = (
            gettext("You are in the call."),
            gettext("Connection lost. Reconnecting …"),
        )
    assert phone.locator("#call-status").inner_text() == in_call
    desk.evaluate("id => window.sprechstundeCall.peerConnection(id).close()", phone_id)
    phone.wait_for_function(
        "() => document.getElementById('call').dataset.media === 'down'", timeout=TIMEOUT_MS
    )
    assert phone.locator("#call-status").inner_text() == reconnecting
    assert phone.locator("#call-status").is_visible()
    assert phone.locator(f".tile[data-peer='{desk_id}'] .tile__state").inner_text() == reconnecting
    shoot(phone, "call-360x740-reconnecting.png")
