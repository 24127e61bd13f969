"""The portal home's card for forms: `{% forms_tile client %}`, with the news (a form that
needs more from her, a form decided lately)."""

from __future__ import annotations

from typing import Any

from django import template

from sprechstunde.clients.models import Client
from sprechstunde.eforms.selectors import submissions_news_counts

register = template.Library()


@register.inclusion_tag("eforms/includes/portal_tile.html")
def forms_tile(client: Client) -> dict[str, Any]:
    """The portal home view passes the client of the logged-in account; nothing else
    reaches this tag."""
    needs_more, closed = submissions_news_counts(client=client)
    return {"needs_more": needs_more, "closed": closed}
