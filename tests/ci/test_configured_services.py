"""The test run uses the services its environment names, so CI's second run really
exercises PostgreSQL and Redis (and the first really runs embedded)."""

from __future__ import annotations

import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache, caches
from django.db import connection


@pytest.mark.django_db
def test_database_is_the_one_database_url_names():
    uses_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    expected = "postgresql" if uses_postgres else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_cache_backend_follows_redis_url_and_round_trips():
    backend = type(caches["default"]).__name__
    assert backend == ("RedisCache" if os.environ.get("REDIS_URL") else "LocMemCache")
    key = f"ci-check-{uuid.uuid4().hex}"
    cache.set(key, {"answer": 42}, timeout=30)
    try:
        assert cache.get(key) == {"answer": 42}
    finally:
        cache.delete(key)


def test_channel_layer_follows_redis_url_and_delivers_a_message():
    layer = get_channel_layer()
    assert layer is not None
    expected = "RedisChannelLayer" if os.environ.get("REDIS_URL") else "InMemoryChannelLayer"
    assert type(layer).__name__ == expected

    async def round_trip() -> dict[str, object]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "ci.check", "n": 7})
        return await layer.receive(channel)

    assert async_to_sync(round_trip)() == {"type": "ci.check", "n": 7}
