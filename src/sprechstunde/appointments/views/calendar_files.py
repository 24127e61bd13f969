"""The .ics file of one appointment, for the client (portal) and for staff.

The file holds the invitation's VEVENT (appointments.ical), so a calendar app that already
has the invitation updates the same entry instead of adding a second one. Access goes
through the same selector as the appointment page: 404 and an audit entry for anyone else.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views import View

from .. import ical, selectors
from ..choices import MailRecipient
from ..models import Appointment
from .base import ClientPortalMixin, StaffCalendarMixin


def _calendar_file(appointment: Appointment, *, audience: str) -> HttpResponse:
    if appointment.starts_at is None:
        # A proposal without a chosen time has no event yet.
        raise Http404
    body = ical.download_calendar(appointment, audience=audience)
    day = appointment.starts_at.astimezone(selectors.local_zone()).date()
    filename = f"{_('appointment')}-{day:%Y-%m-%d}.ics"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["Cache-Control"] = "private, no-store"
    return response


class PortalCalendarFileView(ClientPortalMixin, View):
    """The client's own appointment as a calendar file (the client's copy of the event)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _calendar_file(self.get_appointment(pk), audience=MailRecipient.CLIENT)


class AppointmentCalendarFileView(StaffCalendarMixin, View):
    """An appointment of one's caseload as a calendar file (the staff copy: no client name)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _calendar_file(self.get_appointment(pk), audience=MailRecipient.CASE_MANAGER)
