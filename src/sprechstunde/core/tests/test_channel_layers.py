"""The Redis channel layer's receive stops when cancelled, whatever it is doing at that moment
(a closing consumer waits for it; see sprechstunde.core.channel_layers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from channels_redis.core import RedisChannelLayer

from sprechstunde.core.channel_layers import RedisChannelLayer as ShieldedRedisChannelLayer

from .redis_server import private_redis_server

# Only a guard against waiting forever: a cancelled receive stops within milliseconds.
HANG_GUARD_SECONDS = 5
# Cancel after 0, 1, 2 … turns of the event loop, so that the cancellation reaches the receive
# in each of its steps: waiting for the lock, sending EVAL, reading, sending BZPOPMIN, waiting.
LOOP_TURNS = 60


@pytest.fixture
def redis_layer(tmp_path):
    """The configured layer when it is Redis (so that going back to channels_redis's own fails
    here); in the embedded run, the same backend class on a private redis-server."""
    channel_layers.backends.clear()
    layer = get_channel_layer()
    if isinstance(layer, RedisChannelLayer):
        yield layer
        channel_layers.backends.clear()
        return
    with private_redis_server(tmp_path) as url:
        yield ShieldedRedisChannelLayer(hosts=[{"address": url, "socket_timeout": 30}])
    channel_layers.backends.clear()


def test_the_scaled_settings_name_this_layer():
    from config.settings import base

    source = Path(base.__file__).read_text()
    assert '"sprechstunde.core.channel_layers.RedisChannelLayer"' in source


def test_a_cancelled_receive_stops_wherever_it_was(redis_layer):
    async def scenario():
        channel = await redis_layer.new_channel()
        still_receiving = []
        for turns in range(LOOP_TURNS):
            receiving = asyncio.ensure_future(redis_layer.receive(channel))
            for _ in range(turns):
                await asyncio.sleep(0)
            receiving.cancel()
            done, _pending = await asyncio.wait({receiving}, timeout=HANG_GUARD_SECONDS)
            if not done:
                still_receiving.append(turns)
                while not receiving.done():
                    receiving.cancel()
                    await asyncio.wait({receiving}, timeout=0.1)
                break
        return still_receiving

    assert async_to_sync(scenario)() == []


def test_a_receive_still_gets_its_message(redis_layer):
    async def scenario():
        channel = await redis_layer.new_channel()
        receiving = asyncio.ensure_future(redis_layer.receive(channel))
        await redis_layer.send(channel, {"type": "chat.test", "n": 1})
        return await asyncio.wait_for(receiving, HANG_GUARD_SECONDS)

    assert async_to_sync(scenario)() == {"type": "chat.test", "n": 1}
