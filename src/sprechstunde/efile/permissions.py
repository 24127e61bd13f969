"""Who may hand a client's records over to the e-file: whoever may export the client's
documents (the case manager and today's substitutes)."""

from __future__ import annotations

from typing import Any

from sprechstunde.clients.models import Client
from sprechstunde.documents.permissions import can_change_client_documents


def can_hand_over(*, user: Any, client: Client) -> bool:
    return can_change_client_documents(user=user, client=client)
