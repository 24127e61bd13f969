"""One-tap links from reminders: confirm, cancel, ask for another time, without login."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.core.errors import ApplicationError

from .. import links, services
from ..choices import ReminderAction
from ..forms.portal import AppointmentCancelForm


class ReminderLinkView(View):
    """A signed link from a reminder. GET only shows; a tap on the button (POST) acts.

    No login is needed: the signed, expiring token bound to this appointment version is
    the credential. Mail scanners that follow links change nothing, since GET is safe.
    """

    def _render(self, request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
        return render(request, "appointments/link.html", context)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = links.reminder_link_open(token=token)
        except links.LinkError as error:
            return self._render(request, {"error": error.message})
        return self._render(
            request,
            {"link": link, "appointment": link.appointment, "cancel_form": AppointmentCancelForm()},
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = links.reminder_link_resolve(token=token)
        except links.LinkError as error:
            return self._render(request, {"error": error.message})
        appointment = link.appointment
        actor = appointment.client.user
        action = request.POST.get("action", "")
        if action not in link.actions:
            return self._render(request, {"error": _("This link cannot do that.")})
        try:
            if action == ReminderAction.CONFIRM:
                already = appointment.confirmed_at is not None
                services.appointment_confirm(actor=actor, appointment=appointment)
                done = (
                    _("You had already confirmed this appointment.")
                    if already
                    else _("Thank you, you have confirmed the appointment.")
                )
            elif action == ReminderAction.OTHER_TIME:
                already = appointment.other_time_requested_at is not None
                services.appointment_request_other_time(actor=actor, appointment=appointment)
                done = (
                    _("You had already asked for another time.")
                    if already
                    else _("Your case manager will offer you another time.")
                )
            else:
                form = AppointmentCancelForm(request.POST)
                if not form.is_valid():
                    return self._render(
                        request,
                        {"link": link, "appointment": appointment, "cancel_form": form},
                    )
                services.appointment_cancel(
                    actor=actor, appointment=appointment, reason=form.cleaned_data["reason"]
                )
                done = _("The appointment has been cancelled.")
        except ApplicationError as error:
            return self._render(request, {"error": error.message})
        return self._render(request, {"done": done})
