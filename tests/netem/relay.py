"""A userspace UDP relay that impairs traffic as netem would: delay, jitter, loss, rate cap.

Clients send to the front address; for each client address the relay opens its own upstream
socket towards the target (e.g. coturn), so replies find their way back. Each direction has
its own `Impairment`. The front socket and the upstream sockets may live in different
network namespaces: put the front inside a phone's namespace on 127.0.0.1:3478 and the phone
reaches "its" TURN server only through this relay, while everyone else reaches coturn
directly under the same URL.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from dataclasses import dataclass, field

from tests.netem.namespace import entered, socket_in

Address = tuple[str, int]


@dataclass(frozen=True)
class Impairment:
    """What one direction suffers. rate_kbit 0: no cap; queue_ms: drop-tail queue length."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    rate_kbit: float = 0.0
    queue_ms: float = 300.0


NONE = Impairment()


@dataclass
class DirectionCounters:
    packets: int = 0
    lost: int = 0
    queue_drops: int = 0
    bytes_sent: int = 0


@dataclass
class _Shaper:
    """One direction: random loss, then a token-bucket-like serialiser with a drop-tail
    queue, then a delay with uniform jitter."""

    impairment: Impairment
    loop: asyncio.AbstractEventLoop
    counters: DirectionCounters = field(default_factory=DirectionCounters)
    busy_until: float = 0.0

    def schedule(self, size: int, send: object) -> None:
        self.counters.packets += 1
        imp = self.impairment
        if imp.loss and random.random() < imp.loss:
            self.counters.lost += 1
            return
        now = time.monotonic()
        wait = 0.0
        if imp.rate_kbit:
            start = max(now, self.busy_until)
            if (start - now) * 1000 > imp.queue_ms:
                self.counters.queue_drops += 1
                return
            self.busy_until = start + size * 8 / (imp.rate_kbit * 1000)
            wait = self.busy_until - now
        if imp.delay_ms or imp.jitter_ms:
            wait += max(0.0, imp.delay_ms + random.uniform(-imp.jitter_ms, imp.jitter_ms)) / 1000
        self.counters.bytes_sent += size
        if wait <= 0:
            send()  # type: ignore[operator]
        else:
            self.loop.call_later(wait, send)  # type: ignore[arg-type]


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, client: Address) -> None:
        self.relay = relay
        self.client = client

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay._from_upstream(self.client, data)


class _Front(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay._from_client(addr, data)


class UdpRelay:
    """Start with `start()` (a thread with its own event loop), stop with `stop()`."""

    def __init__(
        self,
        *,
        listen: Address,
        target: Address,
        listen_namespace: str | None = None,
        target_namespace: str | None = None,
        up: Impairment = NONE,
        down: Impairment = NONE,
    ) -> None:
        self.listen = listen
        self.target = target
        self.listen_namespace = listen_namespace
        self.target_namespace = target_namespace
        self.up_impairment = up
        self.down_impairment = down
        self.loop = asyncio.new_event_loop()
        self.up = _Shaper(up, self.loop)
        self.down = _Shaper(down, self.loop)
        self._front: asyncio.DatagramTransport | None = None
        self._upstreams: dict[Address, asyncio.DatagramTransport] = {}
        self._opening: dict[Address, list[bytes]] = {}
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.address: Address = listen

    def set_impairment(self, *, up: Impairment, down: Impairment) -> None:
        """Changes the impairment of both directions from now on (thread-safe)."""

        def apply() -> None:
            self.up.impairment = up
            self.down.impairment = down

        self.loop.call_soon_threadsafe(apply)

    def start(self) -> UdpRelay:
        sock = socket_in(self.listen_namespace, socket.SOCK_DGRAM)
        sock.bind(self.listen)
        sock.setblocking(False)
        self.address = sock.getsockname()
        self._thread.start()

        async def open_front() -> None:
            transport, _ = await self.loop.create_datagram_endpoint(lambda: _Front(self), sock=sock)
            self._front = transport  # type: ignore[assignment]

        asyncio.run_coroutine_threadsafe(open_front(), self.loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        def close_all() -> None:
            for transport in self._upstreams.values():
                transport.close()
            if self._front is not None:
                self._front.close()
            self.loop.call_later(0.05, self.loop.stop)

        self.loop.call_soon_threadsafe(close_all)
        self._thread.join(timeout=5)
        self.loop.close()

    def __enter__(self) -> UdpRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- inside the loop thread ---------------------------------------------------------

    def _from_client(self, client: Address, data: bytes) -> None:
        if client in self._opening:
            self._opening[client].append(data)
            return
        upstream = self._upstreams.get(client)
        if upstream is not None:
            self.up.schedule(len(data), lambda: upstream.sendto(data))
            return
        self._opening[client] = [data]
        with entered(self.target_namespace):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(self.target)

        async def open_upstream() -> None:
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _Upstream(self, client), sock=sock
            )
            self._upstreams[client] = transport
            for packet in self._opening.pop(client):
                self._from_client(client, packet)

        self.loop.create_task(open_upstream())

    def _from_upstream(self, client: Address, data: bytes) -> None:
        front = self._front
        if front is not None:
            self.down.schedule(len(data), lambda: front.sendto(data, client))

    def summary(self) -> str:
        def one(name: str, c: DirectionCounters) -> str:
            return (
                f"{name} {c.packets} pkts, lost {c.lost}, queue drops {c.queue_drops}, "
                f"{c.bytes_sent / 1024:.0f} KiB"
            )

        return f"{one('up', self.up.counters)}; {one('down', self.down.counters)}"
