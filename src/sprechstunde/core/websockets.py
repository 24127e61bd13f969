"""A JSON websocket consumer that sends nothing after it closed the socket.

Pushes from the channel layer can race a close (a roster or chat push while the socket is
being shut after a logout, a refusal or the end of a call); uvicorn raises on a
websocket.send after websocket.close. Channels' `send_json` calls the websocket consumer's
`send` directly, so both are guarded here.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class ClosingJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    closed = False

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if self.closed:
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        if close:
            self.closed = True

    async def send_json(self, content: Any, close: bool = False) -> None:
        if self.closed:
            return
        await super().send_json(content, close=close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        await super().close(code=code, reason=reason)
