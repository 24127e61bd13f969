"""The call's chat loses nothing typed while the page has no websocket (chat.js): the line
shows at once, marked "not sent yet", the box is cleared, and the line goes out in order once
the socket is back; a line sent again after a reconnect is shown once on the other side; and a
line that cannot go out before the call is over stays on the closing card, marked "not sent".

The phone's websocket runs through Playwright's route_web_socket, which lets the test cut it
(both ends closed, reconnects refused for a while) and swallow what the server sends back."""

from __future__ import annotations

import json
import re

import pytest

from .support.sample_data import build_world
from .test_video_calls import (
    TIMEOUT_MS,
    admit,
    call_path,
    open_more,
    prejoin_and_join,
    video_appointment,
    wait_phase,
)

pytestmark = pytest.mark.browser

TEXTS = "() => JSON.parse(document.getElementById('call-config').textContent).texts"


class PhoneLink:
    """The phone's signalling socket, routed: `cut()` closes it and refuses new ones until
    `restore()`; with `swallow_echo` the server's frames stop once the page has sent a chat
    line (the line gets through, the page never hears so)."""

    def __init__(self) -> None:
        self.blocked = False
        self.swallow_echo = False
        self.routes: list = []

    def handle(self, ws) -> None:
        if self.blocked:
            ws.close()
            return
        server = ws.connect_to_server()
        self.routes.append((ws, server))
        deaf = {"on": False}

        def up(message) -> None:
            server.send(message)
            if self.swallow_echo and '"chat"' in str(message):
                deaf["on"] = True

        def down(message) -> None:
            if not deaf["on"]:
                ws.send(message)

        ws.on_message(up)
        server.on_message(down)

    def cut(self) -> None:
        self.blocked = True
        for ws, server in self.routes:
            ws.close()
            server.close()
        self.routes = []

    def restore(self) -> None:
        self.blocked = False


def chat_frames(sink: list[dict]):
    def on_socket(socket) -> None:
        def on_frame(payload) -> None:
            frame = json.loads(payload)
            if frame.get("type") == "chat":
                sink.append(frame)

        socket.on("framereceived", on_frame)

    return on_socket


def send_line(page, text: str) -> None:
    page.locator("#chat-text").fill(text)
    page.locator("#chat-form button[type=submit]").click()


def own_line(page, text: str):
    return page.locator("#chat-log li.call-chat__line--own", has_text=text)


def test_a_line_typed_without_a_socket_waits_then_goes_once_in_order(new_context):
    world = build_world()
    appointment = video_appointment(world)
    desk = new_context("desktop", user=world.case_manager).new_page()
    desk_chats: list[dict] = []
    desk.on("websocket", chat_frames(desk_chats))
    phone = new_context("phone", user=world.client_user).new_page()
    link = PhoneLink()
    phone.route_web_socket(re.compile(r"/ws/video/"), link.handle)

    desk.goto(call_path(appointment))
    prejoin_and_join(desk, camera=False, mic=False)
    wait_phase(desk, "in-call")
    phone.goto(call_path(appointment))
    prejoin_and_join(phone, camera=False, mic=False)
    admit(desk, world.client_user.get_full_name())
    wait_phase(phone, "in-call")
    open_more(phone)
    open_more(desk)
    texts = phone.evaluate(TEXTS)
    assert texts["pending"] and texts["unsent"] != texts["pending"]

    # The socket is gone; she types two lines.
    link.cut()
    phone.wait_for_function(
        "t => document.getElementById('call-status').textContent === t",
        arg=texts["reconnecting"],
        timeout=TIMEOUT_MS,
    )
    send_line(phone, "Erste Zeile ohne Netz")
    send_line(phone, "Zweite Zeile ohne Netz")
    for text in ("Erste Zeile ohne Netz", "Zweite Zeile ohne Netz"):
        line = own_line(phone, text)
        assert line.get_attribute("data-sent") == "no"
        assert line.locator("em").inner_text() == f" ({texts['pending']})"
    assert phone.locator("#chat-text").input_value() == ""

    # Back: both go out, in order, and show once on the desk.
    link.restore()
    own_line(phone, "Zweite Zeile ohne Netz").and_(phone.locator("[data-sent=yes]")).wait_for(
        timeout=TIMEOUT_MS
    )
    assert own_line(phone, "Erste Zeile ohne Netz").get_attribute("data-sent") == "yes"
    assert own_line(phone, "Erste Zeile ohne Netz").locator("em").inner_text() == ""
    desk.locator("#chat-log li", has_text="Zweite Zeile ohne Netz").wait_for(timeout=TIMEOUT_MS)
    shown = desk.locator("#chat-log li").all_inner_texts()
    assert len(shown) == 2 and "Erste" in shown[0] and "Zweite" in shown[1], shown
    assert [f["text"] for f in desk_chats] == ["Erste Zeile ohne Netz", "Zweite Zeile ohne Netz"]

    # A line that got through on a socket that died before the echo: sent again on the new
    # socket, the desk receives it twice and shows it once.
    link.swallow_echo = True
    send_line(phone, "Angekommen, aber ohne Echo")
    desk.locator("#chat-log li", has_text="Angekommen, aber ohne Echo").wait_for(timeout=TIMEOUT_MS)
    assert own_line(phone, "Angekommen, aber ohne Echo").get_attribute("data-sent") == "no"
    link.swallow_echo = False
    link.cut()
    link.restore()
    own_line(phone, "Angekommen, aber ohne Echo").and_(phone.locator("[data-sent=yes]")).wait_for(
        timeout=TIMEOUT_MS
    )
    send_line(phone, "Danach")  # after the resent line on the same path: it has arrived too
    desk.locator("#chat-log li", has_text="Danach").wait_for(timeout=TIMEOUT_MS)
    resent = [f for f in desk_chats if f["text"] == "Angekommen, aber ohne Echo"]
    assert len(resent) == 2 and resent[0]["id"] == resent[1]["id"], resent
    assert desk.locator("#chat-log li", has_text="Angekommen, aber ohne Echo").count() == 1
    assert own_line(phone, "Angekommen, aber ohne Echo").count() == 1

    # Cut again; the call ends meanwhile: the line stays readable, marked "not sent".
    link.cut()
    send_line(phone, "Das kam nie an")
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.locator("#ctl-end").click()
    wait_phase(desk, "ended")
    link.restore()
    phone.wait_for_function(
        "() => ['ended', 'refused'].includes(document.getElementById('call').dataset.phase)",
        timeout=TIMEOUT_MS,
    )
    kept = phone.locator("#call-over li", has_text="Das kam nie an")
    kept.wait_for(timeout=TIMEOUT_MS)
    assert kept.get_attribute("data-sent") == "no"
    assert kept.locator("em").inner_text() == f" ({texts['unsent']})"
    assert phone.locator("#call-over", has_text=texts["unsentHelp"]).is_visible()
    assert not [f for f in desk_chats if f["text"] == "Das kam nie an"]
