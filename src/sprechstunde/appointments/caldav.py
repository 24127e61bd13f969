"""Optional CalDAV sync: each appointment is written into a configured CalDAV calendar.

Set CALDAV_URL to a calendar collection; "{email}" in it is replaced by the case manager's
address, so each case manager can have their own calendar (e.g. on the Jobcenter's groupware
server). The event is the staff copy: times, channel and a link, never the client's name.
Booking and moving PUT the event (same UID, resource name = UID), cancelling DELETEs it.
"""

from __future__ import annotations

import base64
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from django.conf import settings

from .choices import BLOCKING_STATUSES, AppointmentStatus
from .ical import feed_calendar
from .models import Appointment

logger = logging.getLogger(__name__)


class CalDavError(Exception):
    """The CalDAV server did not take the change; the sync is retried later."""


class CalDavCalendar:
    """One calendar collection on a CalDAV server, written with plain WebDAV PUT/DELETE."""

    def __init__(self, *, url: str, username: str = "", password: str = "", timeout: float = 15):
        if not url.startswith(("https://", "http://")):
            raise ValueError("The CalDAV URL must be http(s).")
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        if username:
            secret = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {secret}"

    def _request(self, method: str, name: str, body: bytes | None = None) -> int:
        request = urllib.request.Request(  # noqa: S310 (http(s) checked in __init__)
            self.url + quote(name), data=body, method=method, headers=dict(self.headers)
        )
        if body is not None:
            request.add_header("Content-Type", "text/calendar; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise CalDavError(f"CalDAV server unreachable: {error}") from error

    def put(self, *, name: str, ics: bytes) -> None:
        status = self._request("PUT", name, ics)
        if status not in (200, 201, 204):
            raise CalDavError(f"CalDAV PUT answered {status}")

    def delete(self, *, name: str) -> None:
        status = self._request("DELETE", name)
        if status not in (200, 204, 404):  # 404: already gone, which is what we want
            raise CalDavError(f"CalDAV DELETE answered {status}")


def caldav_enabled() -> bool:
    return bool(getattr(settings, "CALDAV_URL", ""))


def caldav_calendar_for(user: Any) -> CalDavCalendar | None:
    """The CalDAV calendar for one case manager, or None when CalDAV sync is off."""
    url = getattr(settings, "CALDAV_URL", "")
    if not url:
        return None
    return CalDavCalendar(
        url=url.replace("{email}", quote(user.email, safe="@")),
        username=getattr(settings, "CALDAV_USERNAME", "").replace("{email}", user.email),
        password=getattr(settings, "CALDAV_PASSWORD", ""),
    )


def caldav_resource_name(appointment: Appointment) -> str:
    return f"{appointment.uid}.ics"


def appointment_caldav_sync(*, appointment_id: int) -> str:
    """Bring the CalDAV copy of one appointment up to date; returns what was done."""
    appointment = (
        Appointment.objects.select_related("case_manager", "client")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        return "gone"
    calendar = caldav_calendar_for(appointment.case_manager)
    if calendar is None:
        return "off"
    name = caldav_resource_name(appointment)
    if appointment.status == AppointmentStatus.CANCELLED:
        calendar.delete(name=name)
        return "deleted"
    if appointment.status in BLOCKING_STATUSES and appointment.starts_at is not None:
        calendar.put(name=name, ics=feed_calendar([appointment], user=appointment.case_manager))
        return "written"
    return "skipped"
