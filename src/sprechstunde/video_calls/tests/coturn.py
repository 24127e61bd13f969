"""A real coturn (Debian's `turnserver`, started by tests/netem/coturn.py) on loopback for
tests, and a minimal TURN client that sends an Allocate with long-term credentials
(RFC 5389/5766), to see what coturn accepts and what it refuses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import struct

from tests.netem.coturn import Coturn

MAGIC_COOKIE = 0x2112A442
ALLOCATE = 0x0003
ALLOCATE_SUCCESS = 0x0103
ALLOCATE_ERROR = 0x0113
ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_ERROR_CODE = 0x0009
ATTR_REALM = 0x0014
ATTR_NONCE = 0x0015
ATTR_REQUESTED_TRANSPORT = 0x0019


def start_coturn(*, user_quota: int = 20) -> Coturn:
    """Our coturn with TURN REST credentials (use-auth-secret) on 127.0.0.1, started.

    `user_quota`: allocations one participant may hold at a time."""
    return Coturn(listen_ips=["127.0.0.1"], user_quota=user_quota).start()


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
