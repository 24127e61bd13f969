"""Video calls in real browsers: the case manager at a desk, the client on a phone and an
interpreter join through the waiting room, media flows between every pair (fake camera and
microphone), the verification codes match, a peer leaves and comes back, someone is removed."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from sprechstunde.appointments.models import Appointment
from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import InterpreterKind
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import Call, Presence

from .support.checks import page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


def video_appointment(world) -> Appointment:
    return VideoAppointmentFactory(case_manager=world.case_manager, client=world.client)


def call_path(appointment) -> str:
    return reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk})


def prejoin_and_join(page, *, camera=True, mic=True) -> None:
    """The pre-join check starts with both off; switch on what the test needs, then join."""
    page.locator("#prejoin").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#prejoin-camera").get_attribute("aria-pressed") == "false"
    assert page.locator("#prejoin-mic").get_attribute("aria-pressed") == "false"
    if camera:
        page.locator("#prejoin-camera").click()
        page.wait_for_function(
            "() => document.getElementById('prejoin-camera').ariaPressed === 'true'",
            timeout=TIMEOUT_MS,
        )
    if mic:
        page.locator("#prejoin-mic").click()
        page.wait_for_function(
            "() => document.getElementById('mic-level').value > 0", timeout=TIMEOUT_MS
        )
    page.locator("#join-button").click()


def wait_phase(page, phase: str) -> None:
    page.wait_for_function(
        "phase => document.getElementById('call').dataset.phase === phase",
        arg=phase,
        timeout=TIMEOUT_MS,
    )


def admit(host, participant_name: str) -> None:
    row = host.locator("#waiting-list li", has_text=participant_name)
    row.wait_for(timeout=TIMEOUT_MS)
    row.locator("[data-action=admit]").click()


def participant_id(page) -> int:
    return page.evaluate("() => window.sprechstundeCall.me()")


def poll(page, script: str, arg, done, *, timeout: float = TIMEOUT_MS / 1000):
    """Evaluate `script` (it may return a promise) until `done(result)`; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = page.evaluate(script, arg)
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting; last result: {result}")
        page.wait_for_timeout(300)


STATS = "() => window.sprechstundeCall.collectStats()"


def media_flows(page, peer_ids: list[int]) -> dict:
    """Wait until, from this page, every given peer's video frames are decoded and rising
    and audio packets arrive; returns the last stats."""

    def flowing(stats):
        # A peer's entry may come before its first inbound-rtp figures do.
        return all(
            str(i) in stats
            and stats[str(i)].get("framesDecoded", 0) > 0
            and stats[str(i)].get("audioPacketsReceived", 0) > 0
            for i in peer_ids
        )

    first = poll(page, STATS, None, flowing)

    def rising(stats):
        return flowing(stats) and all(
            stats[str(i)]["framesDecoded"] > first[str(i)]["framesDecoded"]
            and stats[str(i)]["audioPacketsReceived"] > first[str(i)]["audioPacketsReceived"]
            for i in peer_ids
        )

    return poll(page, STATS, None, rising)


def sas_codes(page, count: int = 1) -> dict[str, str]:
    return poll(
        page,
        "() => window.sprechstundeCall.sas()",
        None,
        lambda codes: len(codes) >= count and all(codes.values()),
    )


# What this page sends to one peer, per transceiver (read-only, through the test hook).
SENDING = """id => window.sprechstundeCall.peerConnection(id).getTransceivers().map(t => ({
    kind: t.receiver.track.kind,
    direction: t.direction,
    current: t.currentDirection,
    track: t.sender.track ? t.sender.track.readyState : null,
    encodings: t.sender.getParameters().encodings || [],
    settings: t.sender.track ? t.sender.track.getSettings() : null,
}))"""

VIDEO_BYTES_SENT = """async id => {
    const report = await window.sprechstundeCall.peerConnection(id).getStats();
    let sent = 0;
    report.forEach(s => {
        if (s.type === "outbound-rtp" && s.kind === "video") sent += s.bytesSent;
    });
    return sent;
}"""


def sending(page, peer_id: int, kind: str) -> dict:
    [transceiver] = [t for t in page.evaluate(SENDING, peer_id) if t["kind"] == kind]
    return transceiver


def sender_track(page, peer_id: int, kind: str, want: str | None) -> None:
    """Wait until the page's sender of `kind` to the peer carries a live track / none."""
    poll(
        page,
        SENDING,
        peer_id,
        lambda ts: [t["track"] for t in ts if t["kind"] == kind] == [want],
    )


def received(page, peer_id: int) -> dict:
    return page.evaluate(STATS)[str(peer_id)]


def rises(page, peer_id: int, key: str) -> None:
    """`key` of what this page receives from the peer goes on rising."""
    before = received(page, peer_id)[key]
    poll(page, STATS, None, lambda stats: stats[str(peer_id)][key] > before)


def open_more(page) -> None:
    """Opens the call screen's "more" sheet (screen sharing, codes, chat) if it is closed."""
    if page.locator("#more-sheet").is_hidden():
        page.locator("#ctl-more").click()
    page.locator("#more-sheet").wait_for(timeout=TIMEOUT_MS)


def toggle(page, button: str, on: bool) -> None:
    if button == "#ctl-screen":
        open_more(page)
    page.locator(button).click()
    page.wait_for_function(
        "([id, want]) => document.getElementById(id).getAttribute('aria-pressed') === want",
        arg=[button.lstrip("#"), "true" if on else "false"],
        timeout=TIMEOUT_MS,
    )


def check_phone_friendly_start(desk, phone, desk_id: int, phone_id: int) -> None:
    """Both encoders start at 320x240, at most 15 fps and 250 kbit/s (adaptation may only
    lower them)."""
    for page, peer in ((desk, phone_id), (phone, desk_id)):
        video = sending(page, peer, "video")
        assert video["encodings"], video
        for encoding in video["encodings"]:
            assert 0 < encoding["maxBitrate"] <= 250_000, encoding
            assert encoding.get("maxFramerate", 15) <= 15, encoding
        settings = video["settings"]
        assert settings["width"] <= 320 and settings["height"] <= 240, settings
        assert settings["frameRate"] <= 15, settings


def check_quality_indicator(page, peer_id: int) -> None:
    qualities = ("good", "fair", "poor")
    page.wait_for_function(
        "qs => qs.includes(document.getElementById('quality').dataset.quality)",
        arg=list(qualities),
        timeout=TIMEOUT_MS,
    )
    assert page.locator("#quality").inner_text().strip()
    tile = page.locator(f".tile[data-peer='{peer_id}'] .tile__quality")
    assert tile.get_attribute("data-quality") in qualities
    assert tile.inner_text().strip()


def check_mute_camera_and_audio_only(desk, phone, desk_id: int, phone_id: int) -> None:
    """The phone mutes and unmutes, turns its camera off and on, and goes audio only with
    one tap: no video is sent any more while the audio goes on."""
    desk_tile = desk.locator(f".tile[data-peer='{phone_id}']")

    toggle(phone, "#ctl-mic", on=False)
    sender_track(phone, desk_id, "audio", None)
    desk.wait_for_function(
        "el => el.dataset.audio === 'off'", arg=desk_tile.element_handle(), timeout=TIMEOUT_MS
    )
    toggle(phone, "#ctl-mic", on=True)
    sender_track(phone, desk_id, "audio", "live")
    desk.wait_for_function(
        "el => el.dataset.audio === 'on'", arg=desk_tile.element_handle(), timeout=TIMEOUT_MS
    )
    rises(desk, phone_id, "audioPacketsReceived")

    toggle(phone, "#ctl-camera", on=False)
    sender_track(phone, desk_id, "video", None)
    desk.wait_for_function(
        "el => el.dataset.video === 'off'", arg=desk_tile.element_handle(), timeout=TIMEOUT_MS
    )
    toggle(phone, "#ctl-camera", on=True)
    desk.wait_for_function(
        "el => el.dataset.video === 'on'", arg=desk_tile.element_handle(), timeout=TIMEOUT_MS
    )
    rises(desk, phone_id, "framesDecoded")

    # Audio only, one tap: the camera is released, the video transceiver negotiated to
    # inactive, no video bytes leave the phone; audio keeps arriving at the desk.
    toggle(phone, "#ctl-audio-only", on=True)
    poll(
        phone,
        SENDING,
        desk_id,
        lambda ts: all(t["current"] == "inactive" for t in ts if t["kind"] == "video"),
    )
    video = sending(phone, desk_id, "video")
    assert video["track"] is None and video["direction"] == "inactive"
    assert phone.locator("#ctl-camera").get_attribute("aria-pressed") == "false"
    sent = phone.evaluate(VIDEO_BYTES_SENT, desk_id)
    rises(desk, phone_id, "audioPacketsReceived")
    rises(desk, phone_id, "audioPacketsReceived")
    assert phone.evaluate(VIDEO_BYTES_SENT, desk_id) == sent
    desk.wait_for_function(
        "el => el.dataset.video === 'off'", arg=desk_tile.element_handle(), timeout=TIMEOUT_MS
    )

    # Back to video: audio only off, camera on, frames arrive again.
    toggle(phone, "#ctl-audio-only", on=False)
    toggle(phone, "#ctl-camera", on=True)
    rises(desk, phone_id, "framesDecoded")


INBOUND_VIDEO_SIZE = """async id => {
    const report = await window.sprechstundeCall.peerConnection(id).getStats();
    let size = null;
    report.forEach(s => {
        if (s.type === "inbound-rtp" && s.kind === "video" && s.frameWidth)
            size = {width: s.frameWidth, height: s.frameHeight, frames: s.framesDecoded};
    });
    return size;
}"""


def aspect(size: dict | None) -> float:
    return size["width"] / size["height"] if size else 0.0


def check_screen_share(desk, phone, desk_id: int, phone_id: int) -> None:
    """The desk shares its screen (Chromium's fake 16:9 display capture) in place of its
    4:3 camera; the phone receives the wider picture, and the camera again when sharing
    stops. Phones get no share button (no screen capture in mobile browsers)."""
    assert phone.locator("#ctl-screen").is_hidden()
    assert aspect(poll(phone, INBOUND_VIDEO_SIZE, desk_id, aspect)) < 1.5  # the camera

    toggle(desk, "#ctl-screen", on=True)
    poll(
        desk,
        SENDING,
        phone_id,
        lambda ts: any(
            t["kind"] == "video" and (t["settings"] or {}).get("displaySurface") for t in ts
        ),
    )
    shared = poll(phone, INBOUND_VIDEO_SIZE, desk_id, lambda size: aspect(size) > 1.7)
    rises(phone, desk_id, "framesDecoded")
    assert desk.locator("#ctl-camera").get_attribute("aria-pressed") == "true"

    toggle(desk, "#ctl-screen", on=False)
    poll(
        desk,
        SENDING,
        phone_id,
        lambda ts: any(
            t["kind"] == "video"
            and t["track"] == "live"
            and not (t["settings"] or {}).get("displaySurface")
            for t in ts
        ),
    )
    camera = poll(phone, INBOUND_VIDEO_SIZE, desk_id, lambda size: 0 < aspect(size) < 1.5)
    assert camera["frames"] > shared["frames"]


def test_case_manager_admits_client_and_they_see_and_hear_each_other(new_context, screenshots):
    world = build_world()
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone = new_context("phone", user=world.client_user).new_page()

    # The client comes from the appointment page in the portal: the join button is there.
    phone.goto(reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}))
    phone.locator("#video-join-button").click()
    prejoin_and_join(phone)
    wait_phase(phone, "waiting")
    screenshots(phone, "phone-waiting")

    # The case manager sees "someone is waiting" on the appointment page before opening the call.
    desk.goto(reverse("appointments:detail", kwargs={"pk": appointment.pk}))
    notice = desk.locator("#video-waiting")
    notice.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert world.client_user.get_full_name() in notice.inner_text()
    problems = page_problems(desk, touch_targets=False)
    desk.locator("#video-join-button").click()
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")

    desk_id, phone_id = participant_id(desk), participant_id(phone)
    desk_stats = media_flows(desk, [phone_id])
    phone_stats = media_flows(phone, [desk_id])
    assert desk_stats[str(phone_id)]["framesDecoded"] > 0
    assert phone_stats[str(desk_id)]["audioPacketsReceived"] > 0
    # Both ends of the pair show the same verification code.
    assert sas_codes(desk)[str(phone_id)] == sas_codes(phone)[str(desk_id)]
    open_more(desk)
    assert (
        desk.locator(f"#codes [data-peer='{phone_id}'] .code").inner_text()
        == sas_codes(desk)[str(phone_id)]
    )

    # The controls V1 built: phone-friendly encoder start, quality indicator, toggles.
    check_phone_friendly_start(desk, phone, desk_id, phone_id)
    check_quality_indicator(desk, phone_id)
    check_quality_indicator(phone, desk_id)
    check_mute_camera_and_audio_only(desk, phone, desk_id, phone_id)
    check_screen_share(desk, phone, desk_id, phone_id)

    # Chat, both ways.
    open_more(phone)
    phone.locator("#chat-text").fill("Ich höre Sie gut.")
    phone.locator("#chat-form button").click()
    desk.locator("#chat-log li", has_text="Ich höre Sie gut.").wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-in-call")
    screenshots(desk, "desk-in-call")
    problems += page_problems(phone, touch_targets=True) + page_problems(desk, touch_targets=False)

    # Ending the call for everyone records it and marks the appointment held.
    desk.once("dialog", lambda dialog: dialog.accept())
    open_more(desk)
    desk.locator("#ctl-end").click()
    wait_phase(phone, "ended")
    wait_phase(desk, "ended")
    call = Call.objects.get(appointment=appointment)
    assert call.closed_at is not None and call.started_at is not None
    assert not Presence.objects.filter(participant__call=call, left_at__isnull=True).exists()
    appointment.refresh_from_db()
    assert appointment.status == "booked"  # it starts in 5 minutes: attendance comes later
    assert not problems, "\n".join(problems)


def interpreter_joins(new_context, token: str, name: str):
    page = new_context("desktop").new_page()
    page.goto(reverse("video_calls:interpreter", kwargs={"token": token}))
    page.locator("#id_display_name").fill(name)
    page.locator("#interpreter-form [type=submit]").click()
    prejoin_and_join(page)
    return page


def test_three_way_call_with_interpreter_leave_rejoin_and_removal(new_context, screenshots):
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
    wait_phase(phone, "waiting")
    wait_phase(interpreter, "waiting")
    desk.locator("#waiting-list li[data-state=waiting]").nth(1).wait_for(timeout=TIMEOUT_MS)
    desk.locator("#admit-all").click()
    wait_phase(phone, "in-call")
    wait_phase(interpreter, "in-call")

    pages = {participant_id(p): p for p in (desk, phone, interpreter)}
    for me, page in pages.items():
        others = [other for other in pages if other != me]
        media_flows(page, others)
    codes = {me: sas_codes(page, count=2) for me, page in pages.items()}
    for a in pages:
        for b in pages:
            if a != b:
                assert codes[a][str(b)] == codes[b][str(a)], (a, b)
    assert len({codes[a][str(b)] for a in pages for b in pages if a < b}) == 3
    screenshots(desk, "desk-three")
    screenshots(phone, "phone-three")

    # The interpreter leaves and comes back: straight into the call, media flows again.
    interpreter_id = participant_id(interpreter)
    interpreter.locator("#ctl-leave").click()
    wait_phase(interpreter, "left")
    desk.wait_for_function(
        "id => !window.sprechstundeCall.peerIds().includes(id)",
        arg=interpreter_id,
        timeout=TIMEOUT_MS,
    )
    interpreter.locator("#rejoin-button").click()
    prejoin_and_join(interpreter)
    wait_phase(interpreter, "in-call")
    media_flows(interpreter, [participant_id(desk), participant_id(phone)])
    media_flows(desk, [interpreter_id])
    media_flows(phone, [interpreter_id])

    # The case manager removes the interpreter: their page is told so and cannot rejoin.
    desk.locator(
        f"#participant-list li[data-participant='{interpreter_id}'] [data-action=remove]"
    ).click()
    wait_phase(interpreter, "refused")
    phone.wait_for_function(
        "id => !window.sprechstundeCall.peerIds().includes(id)",
        arg=interpreter_id,
        timeout=TIMEOUT_MS,
    )
    interpreter.reload()
    assert interpreter.locator("#refusal").is_visible()


def relay_only_coturn(settings, **options):
    """Our coturn on loopback (options go to start_coturn), the app set to relay-only ICE."""
    from sprechstunde.video_calls.tests.coturn import start_coturn

    server = start_coturn(**options)
    settings.TURN_URLS = [server.url]
    settings.TURN_SHARED_SECRET = server.secret
    settings.TURN_RELAY_ONLY = True
    yield server
    server.stop()


@pytest.fixture
def coturn_for_calls(settings):
    yield from relay_only_coturn(settings)


def test_media_goes_through_our_coturn_when_relay_is_forced(new_context, coturn_for_calls):
    world = build_world()
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone = new_context("phone", user=world.client_user).new_page()
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    prejoin_and_join(phone)
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")
    desk_id, phone_id = participant_id(desk), participant_id(phone)
    desk_stats = media_flows(desk, [phone_id])
    phone_stats = media_flows(phone, [desk_id])
    assert desk_stats[str(phone_id)]["localCandidateType"] == "relay"
    assert phone_stats[str(desk_id)]["localCandidateType"] == "relay"
    # The browser was given only our TURN server, with a per-participant credential.
    config = desk.evaluate(
        "id => window.sprechstundeCall.peerConnection(id).getConfiguration()", phone_id
    )
    assert config["iceTransportPolicy"] == "relay"
    assert [server["urls"] for server in config["iceServers"]] == [[coturn_for_calls.url]]
    assert config["iceServers"][0]["username"].endswith(f":{desk_id}")


@pytest.fixture
def coturn_with_small_quota(settings):
    yield from relay_only_coturn(settings, user_quota=3)


def test_a_call_page_left_gives_its_turn_allocations_back(new_context, coturn_with_small_quota):
    """coturn lets one participant hold 3 allocations here (docs/operations.md: 12), counted
    across their page loads. The client is in the call three times in a row, each time
    closing the page (a reload, a closed tab). Allocations left behind by a closed page would
    stay until they expire (10 min) and use up the quota: with relay-only ICE, the third
    call would have no media at all."""
    world = build_world()
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone_context = new_context("phone", user=world.client_user)
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    desk_id = participant_id(desk)
    for attempt in range(3):
        phone = phone_context.new_page()
        phone.goto(call_path(appointment))
        prejoin_and_join(phone)
        if attempt == 0:
            admit(desk, world.client_user.get_full_name())
        wait_phase(phone, "in-call")
        phone_id = participant_id(phone)
        stats = media_flows(phone, [desk_id])
        assert stats[str(desk_id)]["localCandidateType"] == "relay"
        time.sleep(1.5)  # the page's next spare connection has made its allocation too
        phone.close()
        desk.wait_for_function(
            "id => !window.sprechstundeCall.peerIds().includes(id)",
            arg=phone_id,
            timeout=TIMEOUT_MS,
        )


def test_codes_differ_when_the_server_rewrites_a_fingerprint(new_context, settings):
    world = build_world()
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone = new_context("phone", user=world.client_user).new_page()
    desk.goto(call_path(appointment))
    prejoin_and_join(desk, camera=False, mic=False)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    prejoin_and_join(phone, camera=False, mic=False)
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")
    desk_id, phone_id = participant_id(desk), participant_id(phone)
    honest = (sas_codes(desk)[str(phone_id)], sas_codes(phone)[str(desk_id)])
    assert honest[0] == honest[1]

    # A "compromised server" from now on: both leave, the pages are opened again.
    settings.VIDEO_TEST_REWRITE_FINGERPRINTS = True
    for page in (desk, phone):
        page.locator("#ctl-leave").click()
        wait_phase(page, "left")
    for page in (desk, phone):
        page.reload()
        prejoin_and_join(page, camera=False, mic=False)
        wait_phase(page, "in-call")
    tampered = (sas_codes(desk)[str(phone_id)], sas_codes(phone)[str(desk_id)])
    assert tampered[0] != tampered[1]
