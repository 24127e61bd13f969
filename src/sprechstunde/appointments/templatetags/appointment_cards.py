"""The portal home's card for the next appointment: `{% next_appointment_card %}`."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from sprechstunde.appointments import ical, permissions, selectors
from sprechstunde.appointments.choices import Channel

register = template.Library()


@register.inclusion_tag("appointments/includes/next_card.html", takes_context=True)
def next_appointment_card(context: dict[str, Any]) -> dict[str, Any]:
    """What comes next for the logged-in client: day, time, channel, and what to do for it
    (join, be reachable by phone, find the address). Only the client's own appointments
    reach this tag, through the access-checked selector."""
    request = context.get("request")
    user = getattr(request, "user", None)
    appointment = selectors.appointment_next_for_client_user(user=user) if user else None
    if appointment is None:
        return {"appointment": None, "request": request}
    on_site = appointment.channel == Channel.ON_SITE
    return {
        "request": request,
        "appointment": appointment,
        "map_url": ical.map_url(appointment.location) if on_site and appointment.location else "",
        # Only what the office has configured; nothing is made up when it is empty.
        "what_to_bring": settings.APPOINTMENT_WHAT_TO_BRING if on_site else "",
        "client_phone": appointment.client.mobile_number,
        "jobcenter_phone": settings.JOBCENTER_PHONE,
        "can_move": permissions.client_can_move(appointment=appointment),
    }
