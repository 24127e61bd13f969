"""Our TURN server for tests and benchmarks: Debian's coturn with the TURN REST shared secret.

It runs in the foreground as a child process (stopped by its process id), on the addresses
given, with relay ports from a range of its own, and answers a STUN binding request before
`start()` returns.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.netem.namespace import socket_in

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
MAGIC_COOKIE = 0x2112A442


def free_udp_port(host: str = "127.0.0.1", namespace: str | None = None) -> int:
    sock = socket_in(namespace, socket.SOCK_DGRAM)
    with sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stun_binding_ok(host: str, port: int, timeout: float = 0.5) -> bool:
    """Sends a STUN binding request (RFC 8489) and waits for a success response."""
    transaction = secrets.token_bytes(12)
    request = (1).to_bytes(2, "big") + (0).to_bytes(2, "big") + MAGIC_COOKIE.to_bytes(4, "big")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request + transaction, (host, port))
            data, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == transaction


class Coturn:
    """coturn listening on `listen_ips` (first one also relays) at `port` (UDP and TCP)."""

    def __init__(
        self,
        *,
        listen_ips: list[str],
        port: int | None = None,
        secret: str | None = None,
        relay_ip: str | None = None,
        user_quota: int = 20,
    ) -> None:
        self.listen_ips = listen_ips
        self.port = port or free_udp_port(listen_ips[0])
        self.secret = secret or secrets.token_hex(16)
        self.relay_ip = relay_ip or listen_ips[0]
        # Allocations one participant may hold at a time (coturn counts them per name after the
        # expiry in a TURN REST user name, so across that person's page loads).
        self.user_quota = user_quota
        self.dir = Path(tempfile.mkdtemp(prefix="sprechstunde-coturn-"))
        self.log_path = self.dir / "turnserver.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.urls()[0]

    def urls(self, host: str | None = None) -> list[str]:
        """The TURN URLs for settings.TURN_URLS (UDP only: the links emulated are UDP)."""
        return [f"turn:{host or self.listen_ips[0]}:{self.port}?transport=udp"]

    def start(self, timeout: float = 10.0) -> Coturn:
        if not Path(TURNSERVER).exists():
            raise RuntimeError("coturn is not installed: apt-get install coturn")
        # A relay port range of its own (about 200 ports), away from the listening port.
        low = 40000 + (self.port * 7) % 20000
        lines = [
            f"listening-port={self.port}",
            *(f"listening-ip={ip}" for ip in self.listen_ips),
            f"relay-ip={self.relay_ip}",
            f"min-port={low}",
            f"max-port={low + 200}",
            "use-auth-secret",
            f"static-auth-secret={self.secret}",
            "realm=sprechstunde.test",
            "fingerprint",
            "no-tls",
            "no-dtls",
            "no-cli",
            "no-multicast-peers",
            # Test only: both peers' relay addresses are on this machine.
            "allow-loopback-peers",
            f"user-quota={self.user_quota}",
            "total-quota=200",
            "no-software-attribute",
            f"log-file={self.log_path}",
            "simple-log",
            f"pidfile={self.dir / 'turnserver.pid'}",
            # A user database of its own: instances running side by side share nothing.
            f"userdb={self.dir / 'turndb.sqlite'}",
        ]
        config = self.dir / "turnserver.conf"
        config.write_text("\n".join(lines) + "\n")
        self._proc = subprocess.Popen(
            [TURNSERVER, "-c", str(config), "--no-stdout-log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"coturn exited:\n{self.log()}")
            if stun_binding_ok(self.listen_ips[0], self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"coturn did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text()[-3000:]
        return ""

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Coturn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
