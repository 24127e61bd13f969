"""Ephemeral TURN credentials for our own coturn (TURN REST API, `use-auth-secret`).

username = "<unix expiry>:<participant id>", password = base64(HMAC-SHA1(secret, username)).
coturn recomputes the HMAC with the shared secret and refuses expired or forged ones, so the
browser never holds a long-lived secret and a leaked credential dies with its TTL.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from django.conf import settings


def turn_credentials(
    *, participant_id: int, now: float | None = None, ttl: int | None = None
) -> tuple[str, str]:
    """A (username, password) pair for one participant that expires after the TTL."""
    ttl = settings.TURN_CREDENTIAL_TTL_SECONDS if ttl is None else ttl
    expiry = int((time.time() if now is None else now) + ttl)
    username = f"{expiry}:{participant_id}"
    digest = hmac.new(
        settings.TURN_SHARED_SECRET.encode(), username.encode(), hashlib.sha1
    ).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(*, participant_id: int) -> list[dict[str, Any]]:
    """The RTCPeerConnection iceServers: our TURN only, never a public STUN server.

    Without TURN configured the list is empty, so browsers in one network still connect
    through host candidates.
    """
    if not settings.TURN_URLS or not settings.TURN_SHARED_SECRET:
        return []
    username, password = turn_credentials(participant_id=participant_id)
    return [{"urls": list(settings.TURN_URLS), "username": username, "credential": password}]


def ice_transport_policy() -> str:
    """ "relay" sends every packet through coturn; only possible when TURN is configured."""
    if settings.TURN_RELAY_ONLY and settings.TURN_URLS and settings.TURN_SHARED_SECRET:
        return "relay"
    return "all"
