"""Text messages through an SMS gateway: one small interface, one HTTP implementation.

The gateway is a third party that cannot run here (German providers offer this kind of HTTP
API), so tests use a local server (`sprechstunde.core.testing.sms_gateway`) that speaks the
same small JSON protocol and can fail:

* send: ``POST <SMS_GATEWAY_URL>`` with ``{"to": "+49…", "text": "…", "from": "<sender>",
  "reference": "<our id>"}``, ``Authorization: Bearer <token>``; any 2xx accepts the message,
  and a JSON answer ``{"id": "…"}`` names it for delivery reports.
* delivery report: the gateway POSTs ``{"id": "…", "status": "delivered" | "failed"}`` to
  ``/sms/status/`` with ``Authorization: Bearer <SMS_STATUS_TOKEN>``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol

from django.conf import settings


class SmsError(Exception):
    """The gateway did not accept the message; it is retried later."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, reference: str = "") -> str: ...


class HttpSmsGateway:
    """POSTs the message as JSON with a bearer token; returns the gateway's id (or "")."""

    def __init__(self, *, url: str, token: str = "", sender: str = "", timeout: float = 10) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("The SMS gateway URL must be http(s).")
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    def send(self, *, to: str, text: str, reference: str = "") -> str:
        payload = {"to": to, "text": text, "from": self.sender, "reference": reference}
        body = json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
                answer = response.read(4096)
        except urllib.error.HTTPError as error:
            raise SmsError(f"SMS gateway answered {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsError(f"SMS gateway unreachable: {error}") from error
        if not 200 <= status < 300:
            raise SmsError(f"SMS gateway answered {status}")
        try:
            found = json.loads(answer or b"{}").get("id", "")
        except (ValueError, AttributeError):
            found = ""
        return str(found)[:100]


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
