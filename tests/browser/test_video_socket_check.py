"""The call page's socket check (ADR 0056), on its own module with a fake WebSocket and a
fake clock: a socket that does not answer a ping within 4 s, or does not open within 4 s,
is replaced; one that answers is kept; a refusal is not retried."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

SETUP_JS = """async () => {
    document.body.insertAdjacentHTML("beforeend",
        '<div id="call"></div><p id="call-status"></p>'
        + '<script type="application/json" id="call-config">'
        + '{"ws": "/ws/video/1/", "texts": {"reconnecting": "RECONNECTING"}}</script>');
    window.sockets = [];
    window.WebSocket = class {
        constructor(url) { this.url = url; this.readyState = 0; this.sent = [];
            this.closed = false; window.sockets.push(this); }
        send(data) { this.sent.push(JSON.parse(data).type); }
        close() { this.closed = true; this.readyState = 3; }
    };
    window.WebSocket.OPEN = 1;
    window.call = await import("/static/video_calls/call/signalling.js");
    window.call.connect(() => {});
}"""

OPEN_JS = """() => { const ws = window.sockets.at(-1); ws.readyState = 1; ws.onopen(); }"""
SOCKETS_JS = """() => window.sockets.map(ws => ({sent: ws.sent, closed: ws.closed}))"""


def test_a_socket_that_stops_answering_is_replaced_and_one_that_answers_is_kept(
    new_context: Any, live_app: Any
) -> None:
    page = new_context("desktop").new_page()
    page.goto("/static/video_calls/call/chat.js", wait_until="domcontentloaded")
    page.clock.install()
    page.evaluate(SETUP_JS)
    page.evaluate(OPEN_JS)

    # Answered: the socket stays, the next check pings again.
    page.evaluate("() => window.call.probe()")
    page.evaluate("""() => window.sockets[0].onmessage({data: '{"type": "pong"}'})""")
    page.clock.run_for(5000)
    page.evaluate("() => window.call.probe()")
    assert page.evaluate(SOCKETS_JS) == [{"sent": ["ping", "ping"], "closed": False}]

    # Not answered: kept for 4 s, then replaced (after the backoff), and the page says so.
    page.clock.run_for(3500)
    page.evaluate("() => window.call.probe()")
    assert page.evaluate("() => window.sockets.length") == 1
    page.clock.run_for(1000)
    page.evaluate("() => window.call.probe()")
    assert page.evaluate(SOCKETS_JS)[0]["closed"] is True
    assert page.locator("#call-status").text_content() == "RECONNECTING"
    page.clock.run_for(400)
    assert page.evaluate("() => window.sockets.length") == 2

    # A new socket that never opens (its connection hangs) is replaced as well.
    page.clock.run_for(4100)
    page.evaluate("() => window.call.probe()")
    page.clock.run_for(5000)
    sockets = page.evaluate(SOCKETS_JS)
    assert len(sockets) == 3 and sockets[1]["closed"] is True and sockets[1]["sent"] == []

    # A refusal (4403) closes for good: no new socket.
    page.evaluate(OPEN_JS)
    page.evaluate("() => window.sockets[2].onclose({code: 4403})")
    page.clock.run_for(20000)
    assert page.evaluate("() => window.sockets.length") == 3
