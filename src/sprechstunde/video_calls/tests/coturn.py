"""A real coturn (Debian's `turnserver`) on loopback for tests, and a minimal TURN client
that sends an Allocate with long-term credentials (RFC 5389/5766), to see what coturn
accepts and what it refuses."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAGIC_COOKIE = 0x2112A442
ALLOCATE = 0x0003
ALLOCATE_SUCCESS = 0x0103
ALLOCATE_ERROR = 0x0113
BINDING = 0x0001
ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_ERROR_CODE = 0x0009
ATTR_REALM = 0x0014
ATTR_NONCE = 0x0015
ATTR_REQUESTED_TRANSPORT = 0x0019
REALM = "sprechstunde.test"


@dataclass
class Coturn:
    process: subprocess.Popen
    port: int
    secret: str
    directory: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def turnserver_path() -> str | None:
    return shutil.which("turnserver") or (
        "/usr/bin/turnserver" if os.access("/usr/bin/turnserver", os.X_OK) else None
    )


def start_coturn(*, user_quota: int = 20) -> Coturn:
    """coturn with TURN REST credentials (use-auth-secret) on 127.0.0.1, own config in tmp.

    `user_quota`: allocations one participant may hold at a time (coturn counts them per
    name after the expiry in a TURN REST user name, so across that person's page loads)."""
    binary = turnserver_path()
    if binary is None:
        raise RuntimeError(
            "coturn is not installed: apt-get install coturn (scripts/system-deps.sh)"
        )
    directory = Path(tempfile.mkdtemp(prefix="coturn-test-"))
    port = _free_udp_port()
    relay_min = 40000 + secrets.randbelow(20000)
    secret = secrets.token_hex(16)
    config = directory / "turnserver.conf"
    config.write_text(
        "\n".join(
            [
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                f"listening-port={port}",
                f"min-port={relay_min}",
                f"max-port={relay_min + 200}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                f"realm={REALM}",
                "fingerprint",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-multicast-peers",
                # Test only: the browsers' relay candidates are on loopback too.
                "allow-loopback-peers",
                f"user-quota={user_quota}",
                "total-quota=100",
                f"pidfile={directory / 'turnserver.pid'}",
                f"userdb={directory / 'turndb.sqlite'}",
                "log-file=stdout",
                "simple-log",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=directory,
    )
    server = Coturn(process=process, port=port, secret=secret, directory=directory)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"turnserver exited with {process.returncode}")
        if _binding_answers(port):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("turnserver did not answer within 15 s")


def _binding_answers(port: int) -> bool:
    request = struct.pack("!HHI12s", BINDING, 0, MAGIC_COOKIE, secrets.token_bytes(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(request, ("127.0.0.1", port))
        try:
            sock.recvfrom(2048)
        except OSError:
            return False
    return True


def _attribute(kind: int, value: bytes) -> bytes:
    padding = b"\x00" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + value + padding


def _parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, _cookie, _txid = struct.unpack("!HHI12s", data[:20])
    attributes: dict[int, bytes] = {}
    offset = 20
    while offset + 4 <= 20 + length:
        attr, size = struct.unpack("!HH", data[offset : offset + 4])
        attributes.setdefault(attr, data[offset + 4 : offset + 4 + size])
        offset += 4 + size + (-size % 4)
    return kind, attributes


def _exchange(sock: socket.socket, port: int, message: bytes) -> tuple[int, dict[int, bytes]]:
    sock.sendto(message, ("127.0.0.1", port))
    data, _address = sock.recvfrom(4096)
    return _parse(data)


def allocate(port: int, username: str, password: str) -> int:
    """Try a TURN Allocate with these credentials; returns the answer's STUN error code
    (401 for refused credentials), or 0 on success."""
    transport = _attribute(ATTR_REQUESTED_TRANSPORT, b"\x11\x00\x00\x00")  # UDP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        txid = secrets.token_bytes(12)
        header = struct.pack("!HHI12s", ALLOCATE, len(transport), MAGIC_COOKIE, txid)
        kind, attributes = _exchange(sock, port, header + transport)
        assert kind == ALLOCATE_ERROR, "coturn must ask for credentials first"
        realm, nonce = attributes[ATTR_REALM], attributes[ATTR_NONCE]
        body = (
            transport
            + _attribute(ATTR_USERNAME, username.encode())
            + _attribute(ATTR_REALM, realm)
            + _attribute(ATTR_NONCE, nonce)
        )
        txid = secrets.token_bytes(12)
        # MESSAGE-INTEGRITY covers the message with the length already counting itself.
        header = struct.pack("!HHI12s", ALLOCATE, len(body) + 24, MAGIC_COOKIE, txid)
        key = hashlib.md5(  # noqa: S324 (the STUN long-term key is defined as MD5)
            f"{username}:{realm.decode()}:{password}".encode()
        ).digest()
        integrity = hmac.new(key, header + body, hashlib.sha1).digest()
        message = header + body + _attribute(ATTR_MESSAGE_INTEGRITY, integrity)
        kind, attributes = _exchange(sock, port, message)
        if kind == ALLOCATE_SUCCESS:
            return 0
        error = attributes.get(ATTR_ERROR_CODE, b"\x00\x00\x00\x00")
        return error[2] * 100 + error[3]
