"""Around every websocket: the connection's request id for the consumer's log lines, and the
count of open sockets by kind for /metrics (ADR 0081)."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

from typing import Any

from .metrics import WEBSOCKETS_OPEN
from .request_ids import request_id_accept, request_id_reset, request_id_set

# Path prefixes of the consumers (config/asgi.py); the label never carries the id in the path.
KINDS = (("/ws/nachrichten/", "chat"), ("/ws/video/", "video"))


def websocket_kind(path: str) -> str:
    for prefix, kind in KINDS:
        if path.startswith(prefix):
            return kind
    return "other"


class WebsocketObservation:
    """ASGI middleware for the websocket side of the router. The consumer runs inside this
    call, so the id set here is the one its log lines (and its sync_to_async calls) see."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        given = dict(scope.get("headers") or ()).get(b"x-request-id")
        token = request_id_set(request_id_accept(given))
        gauge = WEBSOCKETS_OPEN.labels(kind=websocket_kind(str(scope.get("path", ""))))
        gauge.inc()
        try:
            await self.inner(scope, receive, send)
        finally:
            gauge.dec()
            request_id_reset(token)
