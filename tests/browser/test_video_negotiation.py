"""The two rare ways a first peer connection is negotiated (ADR 0033), in real browsers.

Normally the page that joined later offers. Here its first offer is lost, so the earlier
page must offer by itself after its wait; or both pages offer at once (glare), and exactly
one of the two connections must survive. The signalling socket of each page is routed
through Playwright (`page.route_web_socket`), which passes every frame on except the ones a
test drops or holds back, and records the signal frames in both directions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import ParticipantRole
from sprechstunde.video_calls.factories import VideoAppointmentFactory

from .support.sample_data import build_world
from .test_video_calls import (
    SENDING,
    STATS,
    TIMEOUT_MS,
    admit,
    call_path,
    media_flows,
    participant_id,
    poll,
    prejoin_and_join,
    rises,
    wait_phase,
)

pytestmark = pytest.mark.browser

SIGNALLING = re.compile(r"/ws/video/\d+/")

# What a page's connection to one peer was negotiated from (read-only, through the hook):
# the type of its current descriptions and the ICE username fragment of each side.
DESCRIPTIONS = """id => {
    const pc = window.sprechstundeCall.peerConnection(id);
    if (!pc) return null;
    const ufrag = d => d ? (d.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1] || null : null;
    return {
        peers: window.sprechstundeCall.peerIds(),
        connection: pc.connectionState,
        local: pc.currentLocalDescription && pc.currentLocalDescription.type,
        remote: pc.currentRemoteDescription && pc.currentRemoteDescription.type,
        localUfrag: ufrag(pc.currentLocalDescription),
        remoteUfrag: ufrag(pc.currentRemoteDescription),
    };
}"""


def ufrag(sdp: str) -> str:
    found = re.search(r"a=ice-ufrag:(\S+)", sdp)
    assert found, sdp
    return found.group(1)


def origin(sdp: str) -> str:
    found = re.search(r"^o=.*$", sdp, re.MULTILINE)
    assert found, sdp
    return found.group(0).strip()


def is_offer(frame: dict[str, Any]) -> bool:
    return frame.get("type") == "signal" and (frame.get("description") or {}).get("type") == (
        "offer"
    )


@dataclass
class SignalTap:
    """Routes one page's signalling socket: frames pass through unless `on_offer` (called
    with each outgoing offer and a function that sends it on) keeps them; signal frames are
    recorded as ("out" | "in", frame)."""

    on_offer: Callable[[dict[str, Any], Callable[[], None]], None] | None = None
    frames: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.route_web_socket(SIGNALLING, self._route)

    def _route(self, ws: Any) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = _signal(message)
            if frame is not None:
                self.frames.append(("out", frame))
                if is_offer(frame) and self.on_offer is not None:
                    self.on_offer(frame, lambda: server.send(message))
                    return
            server.send(message)

        def from_server(message: str | bytes) -> None:
            frame = _signal(message)
            if frame is not None:
                self.frames.append(("in", frame))
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    def descriptions(self, direction: str, kind: str) -> list[dict[str, Any]]:
        return [
            frame
            for way, frame in self.frames
            if way == direction and (frame.get("description") or {}).get("type") == kind
        ]


def _signal(message: str | bytes) -> dict[str, Any] | None:
    if not isinstance(message, str):
        return None
    try:
        frame = json.loads(message)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) and frame.get("type") == "signal" else None


def two_party_call(new_context, *, newcomer_first_in_ids: bool):
    """A case manager's desk page that is in the call first and a client's phone page that
    joins later (the newcomer, who makes the first offer). `newcomer_first_in_ids` decides
    whose participant row is older, that is who is the impolite page (the lower id)."""
    world = build_world()
    appointment = VideoAppointmentFactory(case_manager=world.case_manager, client=world.client)
    call = services.call_get_or_create(appointment=appointment)
    people = [
        (world.case_manager, ParticipantRole.STAFF),
        (world.client_user, ParticipantRole.CLIENT),
    ]
    if newcomer_first_in_ids:
        people.reverse()
    for user, role in people:
        services.participant_for_user(call=call, user=user, role=role)
    desk = new_context("desktop", user=world.case_manager).new_page()
    phone = new_context("phone", user=world.client_user).new_page()
    return world, appointment, desk, phone


def connect(world, appointment, desk, phone) -> tuple[int, int]:
    """The desk joins first; the phone joins, waits, is admitted. Both ids."""
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    prejoin_and_join(phone)
    wait_phase(phone, "waiting")
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")
    return participant_id(desk), participant_id(phone)


def settled(page, peer_id: int) -> dict[str, Any]:
    """The page's one connection to the peer once it is connected and stable."""
    return poll(
        page,
        DESCRIPTIONS,
        peer_id,
        lambda d: d is not None and d["connection"] == "connected" and d["local"] and d["remote"],
    )


@pytest.mark.parametrize(
    "newcomer_first_in_ids", [False, True], ids=["newcomer-polite", "newcomer-impolite"]
)
def test_earlier_page_offers_when_the_newcomers_offer_is_lost(new_context, newcomer_first_in_ids):
    world, appointment, desk, phone = two_party_call(
        new_context, newcomer_first_in_ids=newcomer_first_in_ids
    )
    dropped: list[dict[str, Any]] = []

    def drop_first(frame: dict[str, Any], send_on: Callable[[], None]) -> None:
        if dropped:
            send_on()
        else:
            dropped.append(frame)

    phone_tap = SignalTap(on_offer=drop_first)
    phone_tap.attach(phone)
    desk_tap = SignalTap()
    desk_tap.attach(desk)
    desk_id, phone_id = connect(world, appointment, desk, phone)

    media_flows(desk, [phone_id])
    media_flows(phone, [desk_id])

    # What was dropped was the phone's first offer, to the desk; the desk never saw it.
    assert len(dropped) == 1
    lost = dropped[0]
    assert lost["to"] == desk_id and lost["description"]["type"] == "offer"
    assert desk_tap.descriptions("in", "offer")[:1] != [lost]
    # Having waited for it in vain, the desk offered by itself.
    [desk_offer] = desk_tap.descriptions("out", "offer")
    assert desk_offer["to"] == phone_id and desk_offer["cid"] != lost["cid"]
    assert [f["cid"] for f in phone_tap.descriptions("in", "offer")] == [desk_offer["cid"]]
    if newcomer_first_in_ids:
        # The phone is the impolite page: it keeps its own connection and sends its offer
        # again, which the desk (polite) takes; the call runs on the phone's offer.
        offerer, answerer, offerer_id, answerer_id = phone, desk, phone_id, desk_id
        offerer_tap, answerer_tap, cid = phone_tap, desk_tap, lost["cid"]
    else:
        # The phone is the polite page: it takes the desk's offer; the call runs on it.
        offerer, answerer, offerer_id, answerer_id = desk, phone, desk_id, phone_id
        offerer_tap, answerer_tap, cid = desk_tap, phone_tap, desk_offer["cid"]
    [offer] = [f for f in offerer_tap.descriptions("out", "offer") if f["cid"] == cid][-1:]
    assert [f["cid"] for f in answerer_tap.descriptions("out", "answer")] == [cid]
    assert not offerer_tap.descriptions("out", "answer")
    offerer_side, answerer_side = settled(offerer, answerer_id), settled(answerer, offerer_id)
    assert offerer_side["peers"] == [answerer_id] and answerer_side["peers"] == [offerer_id]
    assert (offerer_side["local"], offerer_side["remote"]) == ("offer", "answer"), offerer_side
    assert (answerer_side["local"], answerer_side["remote"]) == ("answer", "offer")
    assert offerer_side["localUfrag"] == ufrag(offer["description"]["sdp"])
    assert answerer_side["remoteUfrag"] == offerer_side["localUfrag"]
    assert offerer_side["remoteUfrag"] == answerer_side["localUfrag"]


@pytest.mark.parametrize(
    "newcomer_first_in_ids", [False, True], ids=["newcomer-polite", "newcomer-impolite"]
)
def test_both_pages_offer_at_once_and_one_connection_survives(new_context, newcomer_first_in_ids):
    """The phone's first offer is held back until the desk, having waited for it in vain,
    offers too; then both offers go at once and cross on the way (glare)."""
    world, appointment, desk, phone = two_party_call(
        new_context, newcomer_first_in_ids=newcomer_first_in_ids
    )
    held: list[tuple[dict[str, Any], Callable[[], None]]] = []
    released: list[str] = []

    def hold_phone_offer(frame: dict[str, Any], send_on: Callable[[], None]) -> None:
        if released or held:
            send_on()
        else:
            held.append((frame, send_on))

    def release_both(frame: dict[str, Any], send_on: Callable[[], None]) -> None:
        if not held or released:
            send_on()
            return
        # Both offers now exist; each goes to the server before either can be answered.
        released.append(frame["cid"])
        held[0][1]()
        send_on()

    phone_tap = SignalTap(on_offer=hold_phone_offer)
    phone_tap.attach(phone)
    desk_tap = SignalTap(on_offer=release_both)
    desk_tap.attach(desk)
    desk_id, phone_id = connect(world, appointment, desk, phone)

    media_flows(desk, [phone_id])
    media_flows(phone, [desk_id])

    # Both pages really offered a first connection, and each offer reached the other page.
    assert len(held) == 1 and len(released) == 1
    phone_offer, desk_cid = held[0][0], released[0]
    assert phone_offer["to"] == desk_id and phone_offer["cid"] != desk_cid
    assert [f["cid"] for f in desk_tap.descriptions("in", "offer")][:1] == [phone_offer["cid"]]
    assert [f["cid"] for f in phone_tap.descriptions("in", "offer")][:1] == [desk_cid]
    # Exactly one connection per pair survives: the impolite page's (the lower id).
    impolite, polite = (phone, desk) if phone_id < desk_id else (desk, phone)
    impolite_id, polite_id = min(desk_id, phone_id), max(desk_id, phone_id)
    kept_cid = phone_offer["cid"] if impolite is phone else desk_cid
    impolite_tap, polite_tap = (phone_tap, desk_tap) if impolite is phone else (desk_tap, phone_tap)
    kept_offer = [f for f in impolite_tap.descriptions("out", "offer") if f["cid"] == kept_cid]
    # The impolite page ignored the polite one's offer once and sent its own again (it
    # cannot tell glare from a lost offer); the polite page answered the repeat no more.
    assert len(kept_offer) == 2
    assert len({origin(f["description"]["sdp"]) for f in kept_offer}) == 1
    assert [f["cid"] for f in polite_tap.descriptions("out", "answer")] == [kept_cid]
    assert not impolite_tap.descriptions("out", "answer")
    impolite_side, polite_side = settled(impolite, polite_id), settled(polite, impolite_id)
    assert impolite_side["peers"] == [polite_id] and polite_side["peers"] == [impolite_id]
    assert (impolite_side["local"], impolite_side["remote"]) == ("offer", "answer")
    assert (polite_side["local"], polite_side["remote"]) == ("answer", "offer")
    assert impolite_side["localUfrag"] == ufrag(kept_offer[0]["description"]["sdp"])
    assert polite_side["remoteUfrag"] == impolite_side["localUfrag"]
    assert impolite_side["remoteUfrag"] == polite_side["localUfrag"]
    # Media keeps flowing on the surviving connection.
    media_flows(impolite, [polite_id])


def media_section(sdp: str, kind: str) -> str:
    [section] = [part for part in sdp.split("\r\nm=")[1:] if part.startswith(kind + " ")]
    return section


def msid_track(section: str) -> str:
    found = re.search(r"^a=msid:\S+ (\S+)", section, re.MULTILINE)
    assert found, section
    return found.group(1)


AUDIO_SENDER_TRACK = """id => window.sprechstundeCall.peerConnection(id).getTransceivers()
    .filter(t => t.receiver.track.kind === "audio")
    .map(t => t.sender.track && t.sender.track.id)[0]"""


def test_an_offer_made_before_the_devices_were_on_carries_what_was_chosen_after_it(new_context):
    """The newcomer's first offer is made while the pre-join check is still shown, before
    anything is switched on (ADR 0033). The microphone switched on and "audio only" chosen
    after it still hold in the call: the microphone's track replaces the empty one in that
    first connection, with no further offer, and the video is negotiated to inactive right
    after it. Audio reaches the desk, no video leaves the phone."""
    world, appointment, desk, phone = two_party_call(new_context, newcomer_first_in_ids=False)
    tap = SignalTap()
    tap.attach(phone)
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    # The spare connection and its offer exist before the devices are on (a spare is not made
    # while a getUserMedia is under way, ADR 0055, so wait for it as a slower person would).
    phone.wait_for_function("() => window.sprechstundeCall.spareReady()", timeout=TIMEOUT_MS)
    phone.locator("#audio-only").check()
    prejoin_and_join(phone, camera=False, mic=True)
    wait_phase(phone, "waiting")
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")
    desk_id, phone_id = participant_id(desk), participant_id(phone)

    # Video negotiated to inactive, audio flowing to the desk.
    poll(
        phone,
        SENDING,
        desk_id,
        lambda ts: [t["current"] for t in ts if t["kind"] == "video"] == ["inactive"],
    )
    poll(
        desk,
        STATS,
        None,
        lambda stats: stats.get(str(phone_id), {}).get("audioPacketsReceived", 0) > 0,
    )
    rises(desk, phone_id, "audioPacketsReceived")

    offers = [f["description"]["sdp"] for f in tap.descriptions("out", "offer")]
    assert len(offers) == 2, offers
    first, second = offers
    # The first offer was made before the microphone was on: its audio sender had no track
    # then (Chromium names such a sender's track itself), and it offered video both ways.
    mic = phone.evaluate(AUDIO_SENDER_TRACK, desk_id)
    assert mic and msid_track(media_section(first, "audio")) != mic
    assert "a=sendrecv" in media_section(first, "video")
    # The second one, on the same connection, turns the video off; the audio stays.
    assert origin(second).split()[1] == origin(first).split()[1]
    assert "a=inactive" in media_section(second, "video")
    assert "a=sendrecv" in media_section(second, "audio")
    assert not phone.evaluate(
        """id => window.sprechstundeCall.peerConnection(id).getTransceivers()
            .some(t => t.receiver.track.kind === "video" && t.sender.track)""",
        desk_id,
    )
