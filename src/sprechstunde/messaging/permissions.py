"""Who may read and who may write in a conversation. Built on the client access rules.

- Reading follows `clients.permissions`: the case manager, colleagues standing in for them
  today, the team lead of their team, and the client themself.
- Writing: the client (while they consent to portal use), the case manager and whoever
  stands in for them today. A team lead who is not the case manager only reads.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sprechstunde.accounts.choices import Role
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client, Consent

from .choices import Side
from .models import Conversation

_STAFF_WRITER_ROLES = frozenset({Role.CASE_MANAGER, Role.TEAM_LEAD})


def _is_active_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def side_of(*, user: Any) -> Side:
    """The end of a conversation a user is on: clients on theirs, everyone else on staff's."""
    return Side.CLIENT if getattr(user, "role", None) == Role.CLIENT else Side.STAFF


def conversations_visible_to(*, user: Any) -> QuerySet[Conversation]:
    """The conversations of every client `user` may see (nothing for admins and DPOs)."""
    condition = client_permissions.client_visibility_filter(user=user)
    if condition is None:
        return Conversation.objects.none()
    return Conversation.objects.filter(client__in=Client.objects.filter(condition))


def can_view_conversation(*, user: Any, conversation: Conversation) -> bool:
    """May `user` read this conversation? Exactly when they may see its client."""
    return client_permissions.can_view_client(user=user, client=conversation.client)


def client_uses_portal(*, client: Client) -> bool:
    """The client has an active portal account and consents to portal use."""
    user = client.user
    if user is None or not user.is_active or client.processing_restricted_at is not None:
        # Restricted on request (Art. 18 GDPR): no notices either (ADR 0062).
        return False
    return Consent.objects.filter(
        client=client, purpose=ConsentPurpose.PORTAL, withdrawn_at__isnull=True
    ).exists()


def can_write_conversation(*, user: Any, conversation: Conversation) -> bool:
    """May `user` send messages here (and do their reads count as read receipts)?"""
    return can_write_to_client(user=user, client=conversation.client)


def can_write_to_client(*, user: Any, client: Client) -> bool:
    """May `user` write to this client: the client themself while using the portal, the
    case manager and today's substitutes; team leads read only."""
    if not _is_active_user(user):
        return False
    role = getattr(user, "role", None)
    if role == Role.CLIENT:
        return client.user_id == user.pk and client_uses_portal(client=client)
    if role not in _STAFF_WRITER_ROLES:
        return False
    if client.case_manager_id == user.pk:
        return True
    if role == Role.CASE_MANAGER:
        represented = client_permissions.case_managers_represented_by(user=user)
        return client.case_manager_id in represented
    return False
