"""The forms section of the staff client page (clients/detail.html includes it)."""

from __future__ import annotations

from typing import Any

from django import template

from sprechstunde.eforms import permissions, selectors_staff

register = template.Library()


@register.simple_tag(takes_context=True)
def client_forms(context: Any, client: Any) -> dict[str, Any]:
    """The client's submitted forms, newest first, if the viewer may see them. The client
    page has checked access and audited the view once; this reads no more than it shows."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        client is None
        or user is None
        or not permissions.can_view_submissions_of(user=user, client=client)
    ):
        return {"visible": False}
    rows, total = selectors_staff.submissions_of_client(client=client)
    return {"visible": True, "rows": rows, "total": total, "more": max(0, total - len(rows))}
