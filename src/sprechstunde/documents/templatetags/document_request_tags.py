"""The portal home's card for document requests: `{% document_requests_tile client %}`."""

from __future__ import annotations

from typing import Any

from django import template

from sprechstunde.clients.models import Client
from sprechstunde.documents.selectors import document_requests_open_count

register = template.Library()


@register.inclusion_tag("documents/includes/portal_tile.html")
def document_requests_tile(client: Client) -> dict[str, Any]:
    """How many requests the logged-in client still has to answer (the portal home view
    passes the client of the logged-in account; nothing else reaches this tag)."""
    return {"open_count": document_requests_open_count(client=client)}
