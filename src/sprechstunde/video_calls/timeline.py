"""Held video calls in a client's timeline (clients.timeline)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from sprechstunde.clients.timeline import QuerySource, TimelineEntry

from .models import Call


def _entry(call: Call) -> TimelineEntry:
    detail = ""
    if call.ended_at is not None and call.started_at is not None:
        minutes = max(1, int((call.ended_at - call.started_at).total_seconds() // 60))
        detail = _("%(minutes)s min.") % {"minutes": minutes}
    return TimelineEntry(
        at=call.started_at,  # type: ignore[arg-type]
        kind="call",
        source="call",
        key=call.pk,
        title=_("Video call"),
        detail=detail,
        url=reverse("appointments:detail", args=[call.appointment_id]),
        state=_("ended") if call.ended_at else _("in progress"),
        tone="ok" if call.ended_at else "neutral",
    )


def sources() -> list[Any]:
    return [
        QuerySource(
            kind="call",
            code="call",
            rows=lambda client: Call.objects.filter(appointment__client=client),
            at_field="started_at",
            make=_entry,
        )
    ]
