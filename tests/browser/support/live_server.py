"""The real ASGI stack (config.asgi.application) served by uvicorn in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvicorn


@dataclass(frozen=True)
class LiveApp:
    """Where the app under test answers: http://127.0.0.1:<port>."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        return self.url

    def url_for(self, path: str) -> str:
        """An absolute URL for a path such as /accounts/login/ (from reverse())."""
        if not path.startswith("/"):
            raise ValueError(f"expected an absolute path, got {path!r}")
        return self.url + path

    def is_own(self, url: str) -> bool:
        """True for requests to this app; data:, blob: and about: never leave the browser."""
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about"}:
            return True
        if parts.scheme not in {"http", "https", "ws", "wss"}:
            return False
        return parts.hostname == self.host and parts.port == self.port


class LiveServer:
    """Runs uvicorn on a socket bound to a free loopback port; `stop()` shuts it down."""

    def __init__(self, app: object, *, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self._socket.listen(128)
        self._socket.setblocking(False)
        port = self._socket.getsockname()[1]
        self.live_app = LiveApp(host=host, port=port)
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            lifespan="off",
            log_level="warning",
            access_log=False,
            # Do not wait for ever on keep-alive connections or open websockets at shutdown.
            timeout_graceful_shutdown=3,
            timeout_keep_alive=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"live-app-{port}", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # reported to the test thread by start()/stop()
            self._error = error

    def start(self, timeout: float = 15.0) -> LiveApp:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the live server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the live server did not start within {timeout} s")
            time.sleep(0.01)
        return self.live_app

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit, then force it if open connections keep it alive."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the live server thread did not stop")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Waits until no request or websocket of the app is still running; False on timeout.

        A page closed at the end of a test leaves its websocket consumers' disconnect handlers
        running on the server, and they write to the database. The test database's flush must
        not race them (on PostgreSQL the TRUNCATE then fails on their locks).
        """
        deadline = time.monotonic() + timeout
        while self._server.server_state.tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.02)
        return True

    def busy(self) -> list[str]:
        """What the server is still running (for messages)."""
        return [repr(task.get_coro()) for task in list(self._server.server_state.tasks)]

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive()
