"""What both websocket consumers share: a JSON consumer that sends nothing after it closed
the socket, and the one parser every incoming frame goes through.

Pushes from the channel layer can race a close (a roster or chat push while the socket is
being shut after a logout, a refusal or the end of a call); uvicorn raises on a
websocket.send after websocket.close. Channels' `send_json` calls the websocket consumer's
`send` directly, so both are guarded here.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import json
import re
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

# A JSON string (to its closing quote, or to the end when it has none) or one bracket.
# Possessive quantifiers: an unterminated string is scanned once, never again from each of
# its inner quotes (which would take quadratic time on `"\"\"\"…`).
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)


class FrameError(ValueError):
    """A websocket frame that is not a JSON object within the limits; `code` goes into the
    consumer's error frame: "too_large", "too_deep" or "malformed"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def json_frame_parse(text: str | bytes | None, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """The JSON object in a text frame, checked before it is decoded.

    Size first (in UTF-8 bytes), then nesting depth by counting brackets outside strings, so
    that `json.loads` never recurses deeper than `max_depth` (5,000 nested arrays made it
    raise RecursionError, which killed the consumer without a close frame). Binary frames,
    text that is not UTF-8 (lone surrogates), invalid JSON and anything but an object are
    "malformed".
    """
    if not isinstance(text, str):
        raise FrameError("malformed")
    # Characters never outnumber bytes, so the cheap test catches most oversize frames.
    if len(text) > max_bytes:
        raise FrameError("too_large")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise FrameError("malformed") from error
    if size > max_bytes:
        raise FrameError("too_large")
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        piece = match.group()
        if piece in ("[", "{"):
            depth += 1
            if depth > max_depth:
                raise FrameError("too_deep")
        elif piece in ("]", "}"):
            depth -= 1
    try:
        content = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FrameError("malformed") from error
    if not isinstance(content, dict):
        raise FrameError("malformed")
    return content


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
