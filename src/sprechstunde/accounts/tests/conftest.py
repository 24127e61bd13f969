"""Helpers for the accounts tests: an independent RFC 6238 TOTP, and a clean rate-limit cache."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from django.core import mail
from django.core.cache import cache

STAFF_PASSWORD = "correct horse battery staple"  # what UserFactory sets


def time_to_spare(seconds: float, *, period: int = 30) -> None:
    """Wait, if need be, until the current TOTP window has `seconds` left: a code made now
    must still be valid when a slow test (password hashing on a busy machine) sends it."""
    left = period - time.time() % period
    if left < seconds:
        time.sleep(left + 0.05)


def rfc6238_code(secret: str, *, at: float | None = None, period: int = 30) -> str:
    """The 6-digit TOTP code for a base32 secret (RFC 6238 / RFC 4226), written here on purpose
    instead of borrowing allauth's, so the tests check allauth against the standard."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    if at is None:
        time_to_spare(8, period=period)
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def codes_in_mail(body: str) -> list[str]:
    return re.findall(r"(?<!\d)\d{6}(?!\d)", body)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and used TOTP codes live in the cache; every test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def outbox():
    mail.outbox.clear()
    return mail.outbox
