"""{% video_join appointment %}: the join button on appointment pages (staff and portal),
and on the reminder link's page (`link_holder=True`). It asks one selector
(`call_join_state_for_user`), so no page offers a call that has ended."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from sprechstunde.video_calls import permissions, selectors
from sprechstunde.video_calls.choices import ParticipantRole

register = template.Library()


@register.simple_tag(takes_context=True)
def video_join_state(
    context: dict[str, Any], appointment: Any, link_holder: bool = False
) -> selectors.JoinState:
    """The same answer for pages that draw their own link: `{% video_join_state a as join %}`."""
    request = context.get("request")
    return selectors.call_join_state_for_user(
        user=getattr(request, "user", None), appointment=appointment, link_holder=link_holder
    )


@register.inclusion_tag("video_calls/includes/join.html", takes_context=True)
def video_join(
    context: dict[str, Any], appointment: Any, link_holder: bool = False
) -> dict[str, Any]:
    """Shown for a video appointment to the people who are part of its call; the button
    itself appears from 15 minutes before the start (permissions.JOIN_OPENS_BEFORE), and gives
    way to "the call has ended"."""
    request = context.get("request")
    user = getattr(request, "user", None)
    join = selectors.call_join_state_for_user(
        user=user, appointment=appointment, link_holder=link_holder
    )
    if join.state == selectors.JOIN_NONE:
        return {"show": False}
    invitations_url = (
        reverse("video_calls:invitations", kwargs={"appointment_pk": appointment.pk})
        if join.role == ParticipantRole.STAFF
        and join.state != selectors.JOIN_ENDED
        and permissions.can_invite_interpreter(user=user, appointment=appointment)
        else ""
    )
    return {
        "show": True,
        **_interpreter_offer(appointment, invitations_url),
        "is_open": join.can_join,
        "is_ended": join.state == selectors.JOIN_ENDED,
        "opens": join.opens,
        "url": join.url,
        "invitations_url": invitations_url,
    }


def _interpreter_offer(appointment: Any, invitations_url: str) -> dict[str, Any]:
    """For a client who needs an interpreter: the language and a link that opens the
    invitation form filled in for it (issue 13, point 6), until a link exists."""
    client = appointment.client
    need = getattr(client, "interpreter", "")
    if not invitations_url or not need:
        return {}
    language = client.interpreter_language or (
        "" if need == "sign" else client.get_preferred_language_display()
    )
    if selectors.interpreter_link_exists(appointment=appointment):
        return {"interpreter_language": language, "interpreter_invited": True}
    query = urlencode({"kind": need, "language": language})
    return {
        "interpreter_language": language,
        "interpreter_need": client.get_interpreter_display(),
        "interpreter_offer_url": f"{invitations_url}?{query}",
    }
