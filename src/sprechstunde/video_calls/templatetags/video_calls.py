"""{% video_join appointment %}: the join button on appointment pages (staff and portal)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone

from sprechstunde.video_calls import permissions
from sprechstunde.video_calls.choices import ParticipantRole

register = template.Library()


@register.inclusion_tag("video_calls/includes/join.html", takes_context=True)
def video_join(context: dict[str, Any], appointment: Any) -> dict[str, Any]:
    """Shown for a video appointment to the people who are part of its call; the button
    itself appears from 15 minutes before the start (permissions.JOIN_OPENS_BEFORE)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    role = permissions.role_for_user(user=user, appointment=appointment) if user else None
    if role is None:
        return {"show": False}
    opens, closes = permissions.join_window(appointment=appointment)
    if closes < timezone.now():
        return {"show": False}
    return {
        "show": True,
        "is_open": permissions.is_join_open(appointment=appointment),
        "opens": opens,
        "url": reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}),
        "invitations_url": reverse(
            "video_calls:invitations", kwargs={"appointment_pk": appointment.pk}
        )
        if role == ParticipantRole.STAFF
        and permissions.can_invite_interpreter(user=user, appointment=appointment)
        else "",
    }


@register.simple_tag(takes_context=True)
def video_join_state(context: dict[str, Any], appointment: Any) -> dict[str, Any]:
    """`{% video_join_state appointment as join %}` for lists of appointments: whether the
    viewer may join now, from when, and where to, decided by the same rules as the call
    page itself (so a button is never shown that leads to a refusal)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    role = permissions.role_for_user(user=user, appointment=appointment) if user else None
    if role is None:
        return {"show": False}
    opens, _closes = permissions.join_window(appointment=appointment)
    return {
        "show": True,
        "is_open": permissions.is_join_open(appointment=appointment),
        "opens": opens,
        "url": reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}),
    }
