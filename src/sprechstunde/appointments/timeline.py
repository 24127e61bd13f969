"""The appointments in a client's timeline, and the "book" action (clients.timeline)."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _

from sprechstunde.clients.timeline import ClientAction, QuerySource, TimelineEntry

from . import permissions
from .choices import AppointmentStatus
from .models import Appointment

_TONES = {
    AppointmentStatus.HELD: "ok",
    AppointmentStatus.NO_SHOW: "warn",
    AppointmentStatus.CANCELLED: "off",
}


def _rows(client: Any) -> Any:
    # A proposal has no time yet: it stands where it was made.
    return Appointment.objects.filter(client=client).annotate(
        timeline_at=Coalesce(F("starts_at"), F("created_at"))
    )


def _entry(appointment: Appointment) -> TimelineEntry:
    channel = appointment.get_channel_display()
    return TimelineEntry(
        at=appointment.timeline_at,  # type: ignore[attr-defined]
        kind="appointment",
        source="appointment",
        key=appointment.pk,
        title=_("Appointment (%(channel)s)") % {"channel": channel},
        detail=appointment.cancel_reason[:140] if appointment.cancel_reason else "",
        url=reverse("appointments:detail", args=[appointment.pk]),
        state=str(appointment.get_status_display()),
        tone=_TONES.get(appointment.status, "neutral"),  # type: ignore[call-overload]
    )


def sources() -> list[Any]:
    return [
        QuerySource(
            kind="appointment",
            code="appointment",
            rows=_rows,
            at_field="timeline_at",
            make=_entry,
        )
    ]


def actions(*, user: Any, client: Any) -> list[ClientAction]:
    """Booking and proposing open for the case manager and today's substitutes."""
    if not permissions.can_manage_client(user=user, client=client):
        return []
    return [
        ClientAction(
            label=_("Book an appointment"),
            url=reverse("appointments:book", args=[client.pk]),
            order=10,
        ),
        ClientAction(
            label=_("Propose appointments"),
            url=reverse("appointments:propose", args=[client.pk]),
            order=60,
        ),
    ]
