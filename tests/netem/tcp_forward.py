"""Forwards TCP connections from one (namespace, address) to another, with delay and rate.

Used to let a browser inside a namespace reach the app under its usual origin
(http://127.0.0.1:<port>, a secure context, so camera and microphone work) while its HTTP and
websocket traffic really crosses the namespace's link: chain two forwarders, one listening on
127.0.0.1 inside the namespace and connecting to the host end of the veth, one listening there
and connecting to the app. When the namespace's address changes, `Namespace.change_address`
destroys the connections from the old address, and the browser sees its websocket drop, as on
a phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time

from tests.netem.namespace import socket_in
from tests.netem.relay import NONE, Impairment

Address = tuple[str, int]
CHUNK = 16384


class TcpForwarder:
    """Start with `start()` (own thread and event loop); `address` is where it listens."""

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
        self.up = up
        self.down = down
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.address: Address = listen
        self.connections = 0

    def start(self) -> TcpForwarder:
        sock = socket_in(self.listen_namespace, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.listen)
        sock.listen(128)
        sock.setblocking(False)
        self.address = sock.getsockname()
        self._thread.start()

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, sock=sock)

        asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        with contextlib.suppress(RuntimeError):
            self.loop.close()

    def __enter__(self) -> TcpForwarder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Ends quietly when stop() cancels it (asyncio's server callback would log a
        # cancelled handler as an error).
        with contextlib.suppress(asyncio.CancelledError):
            await self._forward(reader, writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream = socket_in(self.target_namespace, socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            await self.loop.sock_connect(upstream, self.target)
        except OSError:
            upstream.close()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(sock=upstream)
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer, self.up),
            self._pipe(up_reader, writer, self.down),
            return_exceptions=True,
        )
        self._writers.difference_update((writer, up_writer))

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, imp: Impairment
    ) -> None:
        """Copies one direction; each chunk leaves after the delay and at the capped rate,
        in order (TCP has no loss here: the link's loss is emulated for UDP only)."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def write() -> None:
            try:
                while (item := await queue.get()) is not None:
                    due, data = item
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        writing = asyncio.ensure_future(write())
        busy_until = 0.0
        try:
            while data := await reader.read(CHUNK):
                now = time.monotonic()
                sent_at = now
                if imp.rate_kbit:
                    busy_until = max(now, busy_until) + len(data) * 8 / (imp.rate_kbit * 1000)
                    sent_at = busy_until
                delay = max(0.0, imp.delay_ms + random.uniform(-imp.jitter_ms, imp.jitter_ms))
                queue.put_nowait((sent_at + delay / 1000, data))
        except OSError:
            pass
        finally:
            queue.put_nowait(None)
            await writing
