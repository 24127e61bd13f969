"""Who may see and change plans, decisions and confirmations. Built on the client rules.

- Reading follows `clients.permissions`: the case manager, colleagues standing in for them
  today, the team lead of their team. A team lead who is not the case manager only reads.
- Writing (drafting, issuing): the client's case manager and whoever stands in for them.
- The client sees their own plans once shared or issued, their own decisions once they are
  in the portal postbox (which needs the consent to electronic delivery), and their own
  confirmations.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sprechstunde.accounts.choices import Role
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client, Consent


def _is_active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def visible_clients(*, user: Any) -> QuerySet[Client]:
    """The clients whose plans and decisions `user` may read (a client: only themself)."""
    return client_permissions.clients_visible_to(user=user)


def can_view_agreements(*, user: Any, client: Client) -> bool:
    return client_permissions.can_view_client(user=user, client=client)


def can_edit_agreements(*, user: Any, client: Client) -> bool:
    """Draft and issue plans and decisions: the case manager and today's substitutes."""
    if not _is_active(user) or getattr(user, "role", None) not in (
        Role.CASE_MANAGER,
        Role.TEAM_LEAD,
    ):
        return False
    if client.case_manager_id == user.pk:
        return True
    if user.role == Role.CASE_MANAGER:
        return client.case_manager_id in client_permissions.case_managers_represented_by(user=user)
    return False


def is_own_client(*, user: Any, client: Client) -> bool:
    """`user` is the portal account of `client`."""
    return client_permissions.is_client_user(user=user) and client.user_id == user.pk


def has_consent(*, client: Client, purpose: ConsentPurpose) -> bool:
    return Consent.objects.filter(
        client=client, purpose=purpose, withdrawn_at__isnull=True
    ).exists()


def portal_channel_open(*, client: Client) -> bool:
    """§ 37 (2a) SGB X: decisions go to the portal only with an active portal account and
    the client's separate consent to electronic delivery."""
    account = client.user
    if account is None or not account.is_active:
        return False
    purposes = set(
        Consent.objects.filter(client=client, withdrawn_at__isnull=True).values_list(
            "purpose", flat=True
        )
    )
    return {ConsentPurpose.PORTAL, ConsentPurpose.ELECTRONIC_DELIVERY} <= purposes


def can_use_portal(*, client: Client) -> bool:
    account = client.user
    return (
        account is not None
        and account.is_active
        and has_consent(client=client, purpose=ConsentPurpose.PORTAL)
    )


def can_manage_templates(*, user: Any) -> bool:
    """Create, edit, preview and publish decision and plan templates: team leads and
    administrators. Case managers use the published versions but never change them."""
    return _is_active(user) and getattr(user, "role", None) in (Role.TEAM_LEAD, Role.ADMIN)
