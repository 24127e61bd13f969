"""A tiny clamd client: INSTREAM over a Unix socket or TCP (CLAMD_SOCKET, or CLAMD_HOST and
CLAMD_PORT). No file on disk is handed to clamd, so clamd needs no access to our storage."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from sprechstunde.core.metrics import VIRUS_SCANS

_CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd is not configured, not reachable, or answered with an error."""


@dataclass(frozen=True)
class ScanResult:
    """`is_clean` False means a signature matched; `signature` names it (never content)."""

    is_clean: bool
    signature: str = ""


def is_configured() -> bool:
    return bool(getattr(settings, "CLAMD_SOCKET", "") or getattr(settings, "CLAMD_HOST", ""))


def _connect() -> socket.socket:
    timeout = float(getattr(settings, "CLAMD_TIMEOUT", 60))
    path = getattr(settings, "CLAMD_SOCKET", "")
    try:
        if path:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(path)
            return conn
        host = getattr(settings, "CLAMD_HOST", "")
        if not host:
            raise ScannerUnavailable("No virus scanner is configured (CLAMD_SOCKET/CLAMD_HOST).")
        return socket.create_connection((host, int(settings.CLAMD_PORT)), timeout=timeout)
    except OSError as error:
        raise ScannerUnavailable(f"clamd is not reachable: {error.__class__.__name__}") from error


def _read_reply(conn: socket.socket) -> str:
    parts: list[bytes] = []
    while True:
        data = conn.recv(4096)
        if not data:
            break
        parts.append(data)
        if data.endswith(b"\0"):
            break
    return b"".join(parts).rstrip(b"\0").decode("utf-8", errors="replace").strip()


def ping() -> bool:
    """True when clamd answers PONG."""
    try:
        with _connect() as conn:
            conn.sendall(b"zPING\0")
            return _read_reply(conn) == "PONG"
    except (ScannerUnavailable, OSError):
        return False


def scan_stream(chunks: Iterable[bytes]) -> ScanResult:
    """Send the bytes to clamd with INSTREAM and interpret the answer.

    Raises ScannerUnavailable when clamd cannot be reached or reports an error (for example
    its StreamMaxLength), so the caller keeps the file away from everyone.
    Each check is counted by result for /metrics (clean, infected, unavailable).
    """
    try:
        result = _scan_stream(chunks)
    except ScannerUnavailable:
        VIRUS_SCANS.labels(result="unavailable").inc()
        raise
    VIRUS_SCANS.labels(result="clean" if result.is_clean else "infected").inc()
    return result


def _scan_stream(chunks: Iterable[bytes]) -> ScanResult:
    try:
        with _connect() as conn:
            conn.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), _CHUNK):
                    piece = chunk[start : start + _CHUNK]
                    conn.sendall(struct.pack("!L", len(piece)) + piece)
            conn.sendall(struct.pack("!L", 0))
            reply = _read_reply(conn)
    except OSError as error:
        raise ScannerUnavailable(f"clamd connection failed: {error.__class__.__name__}") from error
    # "stream: OK", "stream: <Signature> FOUND", or "<reason> ERROR".
    if reply.endswith("FOUND"):
        signature = reply.removeprefix("stream:").removesuffix("FOUND").strip()
        return ScanResult(is_clean=False, signature=signature[:200] or "unknown")
    if reply == "stream: OK":
        return ScanResult(is_clean=True)
    raise ScannerUnavailable(f"clamd error: {reply[:200] or 'no answer'}")


def scan_bytes(data: bytes) -> ScanResult:
    return scan_stream([data])
