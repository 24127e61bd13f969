"""Template tags for linking to messages from other pages (navigation, client page)."""

from __future__ import annotations

from typing import Any

from django import template

from sprechstunde.clients import permissions as client_permissions

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context: dict[str, Any]) -> int:
    """How many messages the logged-in user has not read yet (0 for anyone without a
    conversation to read: admins, DPOs, visitors)."""
    user = context.get("user")
    if user is None or not (
        client_permissions.is_client_user(user=user)
        or client_permissions.is_caseload_staff(user=user)
    ):
        return 0
    return selectors.unread_count_for_user(user=user)
