"""The bare minimal WebRTC page the video benchmarks compare the call page with.

Served by the bench itself (a small ASGI app under uvicorn), never part of the application:
one HTML page that asks for camera and microphone at once, one RTCPeerConnection with the
same ICE servers and policy as the call page, and a websocket that pairs two pages of a room
and passes their descriptions and candidates through. No UI, no pre-join check, no waiting
room, no bitrate caps: the floor of what any WebRTC page costs on this machine and link.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn

HERE = Path(__file__).resolve().parent


class BareApp:
    """ASGI app: GET /?room=<id> (the page), GET /bare.js, websocket /ws?room=<id>."""

    def __init__(self, ice: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        self.ice = ice
        self.rooms: dict[str, list[Any]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, send)
        elif scope["type"] == "websocket":
            await self._ws(scope, receive, send)

    async def _http(self, scope: dict[str, Any], send: Any) -> None:
        if scope["path"] == "/bare.js":
            body, kind = (HERE / "bare.js").read_bytes(), b"text/javascript"
        elif scope["path"] == "/":
            page = (HERE / "bare.html").read_text()
            ice = self.ice() if callable(self.ice) else self.ice
            body = page.replace("{{ICE}}", json.dumps(ice)).encode()
            kind = b"text/html; charset=utf-8"
        else:
            body, kind = b"not found", b"text/plain"
        status = 404 if kind == b"text/plain" else 200
        headers = [(b"content-type", kind), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _ws(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        room = parse_qs(scope["query_string"].decode()).get("room", ["0"])[0]
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        members = self.rooms.setdefault(room, [])
        members.append(send)
        if len(members) == 2:
            # The later page makes the offer, the earlier one answers.
            await members[0](
                {"type": "websocket.send", "text": '{"type": "start", "offer": false}'}
            )
            await send({"type": "websocket.send", "text": '{"type": "start", "offer": true}'})
        try:
            while True:
                event = await receive()
                if event["type"] == "websocket.disconnect":
                    break
                text = event.get("text")
                for other in list(self.rooms.get(room, [])):
                    if other is not send and text:
                        await other({"type": "websocket.send", "text": text})
        finally:
            if send in members:
                members.remove(send)
            if not members:
                self.rooms.pop(room, None)


class BareServer:
    """Runs BareApp on a free loopback port in a thread."""

    def __init__(self, ice: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(BareApp(ice), lifespan="off", log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._socket])), daemon=True
        )

    def __enter__(self) -> BareServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
