"""bench/messaging_fanout.py counts what it should: every ack and a delivery to each member,
against its own baseline consumer served by uvicorn over real websockets. No timings."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import uvicorn
from bench.messaging_echo import application as echo_application

from bench import messaging_fanout


@pytest.fixture
def echo_server(django_db_blocker):
    """bench/messaging_echo.py served by uvicorn in a thread, on a free loopback port.

    The echo consumer never queries the database, but Channels closes stale connections around
    every event (`aclose_old_connections`); in the thread that Channels uses for that, an earlier
    test may have left a connection, and pytest-django's blocker would then turn that
    housekeeping into a 500. The blocker is lifted for the server's lifetime only.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            echo_application,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            loop="asyncio",
        )
    )
    with django_db_blocker.unblock():
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "echo server did not start"
            time.sleep(0.05)
        yield port
        server.should_exit = True
        thread.join(10)


def test_every_message_is_acked_once_and_reaches_both_members(echo_server):
    pairs = [{"id": number, "sessions": ["a", "b"]} for number in (11, 12, 13)]

    async def scenario() -> tuple[list[messaging_fanout.Phase], list[int]]:
        generator = messaging_fanout.Generator()
        await generator.connect(
            lambda group: f"ws://127.0.0.1:{echo_server}/ws/echo/{group}/",
            lambda conversation, side: {"Cookie": f"s={conversation['sessions'][side]}"},
            pairs,
        )
        try:
            phases = [
                await generator.closed_loop("saturated", 13),
                await generator.paced("paced", 9, rate=500.0),
            ]
        finally:
            await generator.close()
        return phases, [sock.group for sock in generator.sockets]

    (saturated, paced), groups = asyncio.run(scenario())
    assert sorted(groups) == [11, 11, 12, 12, 13, 13]
    # 13 messages over 6 sockets: whole rounds only, 2 each.
    assert saturated.expected == 12
    assert paced.expected == 9
    for phase in (saturated, paced):
        assert len(phase.acks) == phase.expected
        assert len(phase.deliveries) == 2 * phase.expected
        assert phase.errors == 0
        row = messaging_fanout._phase_row(phase, cpu_seconds=0.0)
        assert row["missing_acks"] == row["missing_deliveries"] == 0
        assert row["per_second"] > 0
        assert 0 <= row["p50"] <= row["p95"] <= row["p99"] <= row["max"]


def test_what_never_arrived_is_reported_missing():
    phase = messaging_fanout.Phase("saturated", expected=3)
    phase.acks = [0.01, 0.02]
    phase.deliveries = [0.01, 0.02, 0.03, 0.04, 0.05]
    phase.last_ack = phase.started + 1.0
    phase.last_event = phase.started + 4.0
    phase.check_done()
    assert not phase.done.is_set()
    row = messaging_fanout._phase_row(phase, cpu_seconds=0.5)
    assert row["missing_acks"] == 1
    assert row["missing_deliveries"] == 1
    # Throughput counts stored and acknowledged messages, not late deliveries.
    assert row["per_second"] == pytest.approx(2.0)
    assert row["all_delivered"] == pytest.approx(4.0)
    assert row["cpu_ms_per_message"] == pytest.approx(250.0)


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert messaging_fanout._percentile(values, 0.50) == 50.0
    assert messaging_fanout._percentile(values, 0.99) == 99.0
    assert messaging_fanout._percentile([7.0], 0.99) == 7.0
