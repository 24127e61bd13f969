"""Text messages through an SMS gateway: one small interface, one HTTP implementation.

The gateway is a third party that cannot run here, so tests use a local fake server
that speaks the same small JSON protocol.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol

from django.conf import settings


class SmsError(Exception):
    """The gateway did not accept the message; the reminder is retried later."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str) -> None: ...


class HttpSmsGateway:
    """POSTs {"to": ..., "text": ...} as JSON with a bearer token; any 2xx is success."""

    def __init__(self, *, url: str, token: str = "", sender: str = "", timeout: float = 10) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("The SMS gateway URL must be http(s).")
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    def send(self, *, to: str, text: str) -> None:
        body = json.dumps({"to": to, "text": text, "from": self.sender}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            raise SmsError(f"SMS gateway answered {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsError(f"SMS gateway unreachable: {error}") from error
        if not 200 <= status < 300:
            raise SmsError(f"SMS gateway answered {status}")


def sms_gateway() -> SmsGateway | None:
    """The configured gateway, or None when SMS is not set up (SMS_GATEWAY_URL empty)."""
    url = getattr(settings, "SMS_GATEWAY_URL", "")
    if not url:
        return None
    return HttpSmsGateway(
        url=url,
        token=getattr(settings, "SMS_GATEWAY_TOKEN", ""),
        sender=getattr(settings, "SMS_SENDER", ""),
    )
