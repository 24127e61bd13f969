"""The Redis channel layer, with a receive that a closing consumer can always stop.

A consumer ends by cancelling its pending `receive()` and waiting for it. On Python 3.11,
`asyncio.wait_for` loses a cancellation that arrives just as the awaited work finishes
(fixed in 3.12), and redis-py sends every command through `wait_for` when a socket timeout is
set. A consumer closed while its receive was sending EVAL or BZPOPMIN to Redis therefore went
on receiving: each BZPOPMIN timed out after five seconds and started over, and the consumer
stayed behind after the browser had gone (uvicorn does not cancel it a second time).
Once production runs Python 3.12 or later, channels_redis's own layer will do again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer

# How long to wait for a cancelled receive before cancelling it again. A lost cancellation is
# lost while a command is being sent; the next one reaches the wait for Redis's answer.
CANCEL_RETRY_SECONDS = 0.05


class RedisChannelLayer(BaseRedisChannelLayer):
    """channels_redis's layer; only `receive` differs (see the module docstring)."""

    async def receive(self, channel: str) -> dict[str, Any]:
        receiving = asyncio.ensure_future(super().receive(channel))
        try:
            # The shield keeps our own cancellation from reaching `receiving` unseen; it is
            # passed on below, as often as needed.
            return await asyncio.shield(receiving)
        except asyncio.CancelledError:
            await _cancel_until_done(receiving)
            raise


async def _cancel_until_done(task: asyncio.Future[Any]) -> None:
    while not task.done():
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=CANCEL_RETRY_SECONDS)
        except asyncio.CancelledError:
            # Cancelled again meanwhile: the caller re-raises its cancellation in any case,
            # and leaving now would leave `task` receiving.
            continue
    if not task.cancelled():
        # Fetched, so that asyncio does not log it: the consumer is closing anyway.
        task.exception()
