"""The portal home's tile for the postbox: `{% postbox_tile client has_delivery %}`."""

from __future__ import annotations

from typing import Any

from django import template

from sprechstunde.agreements.selectors import postbox_news_for_client
from sprechstunde.clients.models import Client

register = template.Library()


@register.inclusion_tag("agreements/includes/postbox_tile.html")
def postbox_tile(client: Client, has_delivery: bool) -> dict[str, Any]:
    """Whether the postbox has news: unread decisions, plan versions not opened yet, and
    declarations waiting for the client (the portal home view passes the client of the
    logged-in account; nothing else reaches this tag)."""
    return {"news": postbox_news_for_client(client=client, has_delivery=has_delivery)}
