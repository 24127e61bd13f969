"""iCalendar objects for appointments: iTIP REQUEST/CANCEL (RFC 5546) and the staff feed.

Privacy: what leaves the platform in an invitation is only what the invitation needs.
The client's copy names the client (it is their own data); the staff copy and the feed
never name the client, they link to the appointment page behind the login instead.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import AppointmentStatus, Channel, MailRecipient
from .models import Appointment
from .selectors import local_zone

PRODID = "-//Sprechstunde//Appointments//DE"
UID_DOMAIN = "sprechstunde"
# Reminder in the attendee's own calendar app, independent of our reminder mails.
ALARM_BEFORE = datetime.timedelta(minutes=30)
# RFC 5545 allows no control characters in text and parameter values but TAB and (escaped)
# line ends; a name or address typed with one made strict calendar apps reject the file.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def calendar_text(text: str) -> str:
    """`text` fit for a calendar value: line ends as LF, other control characters as spaces,
    no byte order marks (readers drop one at the start of a value, so it would not survive)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return _CONTROL.sub(" ", text)


def calendar_time(moment: datetime.datetime) -> datetime.datetime:
    """`moment` in the Jobcenter's zone, or in UTC when that local time happens twice (the
    hour the clocks go back): a TZID time cannot say which of the two is meant."""
    local = moment.astimezone(local_zone())
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return moment.astimezone(datetime.UTC)
    return local


def appointment_uid(appointment: Appointment) -> str:
    """The stable iCalendar UID: the same for every update and the cancellation."""
    return f"{appointment.uid}@{UID_DOMAIN}"


def appointment_url(appointment: Appointment, audience: str) -> str:
    """The absolute link to the appointment page for one side (also the video join link)."""
    name = (
        "appointments:portal_detail" if audience == MailRecipient.CLIENT else "appointments:detail"
    )
    return settings.SITE_URL + reverse(name, kwargs={"pk": appointment.pk})


def join_url(appointment: Appointment) -> str:
    """The absolute link to the appointment's video call page: the same for both sides (the
    page itself checks who may join, and sends a logged-out client through the code login)."""
    return settings.SITE_URL + reverse(
        "video_calls:call", kwargs={"appointment_pk": appointment.pk}
    )


def event_url(appointment: Appointment, audience: str) -> str:
    """URL: where a tap in the calendar app should lead: the call for video, else the
    appointment page."""
    if appointment.channel == Channel.VIDEO:
        return join_url(appointment)
    return appointment_url(appointment, audience)


def map_url(address: str) -> str:
    """A plain link to the address on openstreetmap.org (no embed, nothing loaded by us)."""
    from urllib.parse import urlencode

    return "https://www.openstreetmap.org/search?" + urlencode({"query": " ".join(address.split())})


def location_text(appointment: Appointment, audience: str) -> str:
    """LOCATION: the call page for video, the address on site, a note for phone."""
    if appointment.channel == Channel.VIDEO:
        return join_url(appointment)
    if appointment.channel == Channel.ON_SITE:
        return ", ".join(line.strip() for line in appointment.location.splitlines() if line.strip())
    note = appointment.location.strip()
    return _("Phone") + (f": {note}" if note else "")


def summary_text(appointment: Appointment, audience: str) -> str:
    channel = Channel(appointment.channel).label
    if audience == MailRecipient.CLIENT:
        return _("Appointment at the %(jobcenter)s (%(channel)s)") % {
            "jobcenter": settings.JOBCENTER_NAME,
            "channel": channel,
        }
    return _("Client appointment (%(channel)s)") % {"channel": channel}


def berlin_vtimezone() -> icalendar.Timezone:
    """A compact VTIMEZONE for the Jobcenter's zone with the EU rules since 1996.

    Written by hand with RRULEs rather than generated, so that it holds for every future
    year and stays small; calendar clients that ignore TZID names still get it right.
    """
    tz = icalendar.Timezone()
    tz.add("tzid", settings.TIME_ZONE)
    daylight = icalendar.TimezoneDaylight()
    daylight.add("tzname", "CEST")
    daylight.add("tzoffsetfrom", datetime.timedelta(hours=1))
    daylight.add("tzoffsetto", datetime.timedelta(hours=2))
    daylight.add("dtstart", datetime.datetime(1996, 3, 31, 2, 0))  # noqa: DTZ001 (floating)
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    standard = icalendar.TimezoneStandard()
    standard.add("tzname", "CET")
    standard.add("tzoffsetfrom", datetime.timedelta(hours=2))
    standard.add("tzoffsetto", datetime.timedelta(hours=1))
    standard.add("dtstart", datetime.datetime(1996, 10, 27, 3, 0))  # noqa: DTZ001 (floating)
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(daylight)
    tz.add_component(standard)
    return tz


def _cal_address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    # Without backslashes: a name ending in one (CN=\:mailto:…) is misread by icalendar's
    # own parser, and no real name has one.
    address.params["CN"] = icalendar.vText(calendar_text(name).replace("\\", ""))
    for key, value in params.items():
        address.params[key] = icalendar.vText(value)
    return address


def appointment_event(
    appointment: Appointment,
    *,
    audience: str,
    dtstamp: datetime.datetime,
    cancelled: bool = False,
    with_alarm: bool = True,
) -> icalendar.Event:
    """One VEVENT for the appointment as `audience` (client or case manager) should see it."""
    if appointment.starts_at is None or appointment.ends_at is None:
        raise ValueError("An appointment without times has no calendar event.")
    event = icalendar.Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", dtstamp.astimezone(datetime.UTC))
    event.add("dtstart", calendar_time(appointment.starts_at))
    event.add("dtend", calendar_time(appointment.ends_at))
    event.add("summary", calendar_text(summary_text(appointment, audience)))
    event.add("location", calendar_text(location_text(appointment, audience)))
    event.add("url", event_url(appointment, audience))
    event.add(
        "description",
        _("Details and changes: %(url)s") % {"url": appointment_url(appointment, audience)},
    )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
    case_manager = appointment.case_manager
    event.add("organizer", _cal_address(case_manager.email or "", case_manager.display_name))
    if audience == MailRecipient.CLIENT and appointment.client.email:
        attendee = _cal_address(
            appointment.client.email,
            appointment.client.full_name,
            ROLE="REQ-PARTICIPANT",
            PARTSTAT="NEEDS-ACTION" if not cancelled else "DECLINED",
            RSVP="FALSE",
        )
    else:
        attendee = _cal_address(
            case_manager.email or "",
            case_manager.display_name,
            ROLE="CHAIR",
            PARTSTAT="ACCEPTED",
            RSVP="FALSE",
        )
    event.add("attendee", attendee)
    if with_alarm and not cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", calendar_text(summary_text(appointment, audience)))
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event


def _calendar(method: str | None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add_component(berlin_vtimezone())
    return calendar


def itip_calendar(
    appointment: Appointment,
    *,
    method: str,
    audience: str,
    dtstamp: datetime.datetime | None = None,
) -> bytes:
    """An iTIP message (RFC 5546) with METHOD REQUEST (new/changed) or CANCEL."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"Unsupported iTIP method {method!r}")
    calendar = _calendar(method)
    calendar.add_component(
        appointment_event(
            appointment,
            audience=audience,
            dtstamp=dtstamp or timezone.now(),
            cancelled=method == "CANCEL",
        )
    )
    return bytes(calendar.to_ical())


def download_calendar(appointment: Appointment, *, audience: str) -> bytes:
    """The .ics file to download from an appointment page: the invitation's VEVENT (same UID,
    SEQUENCE, alarm and attendee) in a calendar without METHOD, so calendar apps import it as
    an event rather than treat it as an invitation to answer (RFC 5546 is for mail)."""
    calendar = _calendar(None)
    calendar.add_component(
        appointment_event(
            appointment,
            audience=audience,
            dtstamp=timezone.now(),
            cancelled=appointment.status == AppointmentStatus.CANCELLED,
        )
    )
    return bytes(calendar.to_ical())


def feed_calendar(appointments: Iterable[Appointment], *, user: Any) -> bytes:
    """The private subscription feed of one staff member (METHOD:PUBLISH semantics)."""
    calendar = _calendar(None)
    calendar.add("x-wr-calname", _("Sprechstunde appointments"))
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    calendar.add(
        "refresh-interval", datetime.timedelta(minutes=15), parameters={"VALUE": "DURATION"}
    )
    now = timezone.now()
    for appointment in appointments:
        if appointment.starts_at is None:
            continue
        calendar.add_component(
            appointment_event(
                appointment,
                audience=MailRecipient.CASE_MANAGER,
                dtstamp=now,
                cancelled=appointment.status == AppointmentStatus.CANCELLED,
                with_alarm=False,
            )
        )
    return bytes(calendar.to_ical())
