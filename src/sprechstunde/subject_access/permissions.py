"""Who may ask for and read a copy of a client's data: the client herself in the portal, and
staff who may see the client (case manager, substitute today, team lead). Nobody else."""

from __future__ import annotations

from typing import Any

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client

from .choices import ExportChannel
from .models import DataExport


def _is_own_client(*, user: Any, client: Client) -> bool:
    return client_permissions.is_client_user(user=user) and client.user_id == user.pk


def can_request_data_export(*, user: Any, client: Client) -> bool:
    """The client for herself; caseload staff for a client they may see (a written request)."""
    if _is_own_client(user=user, client=client):
        return True
    return client_permissions.is_caseload_staff(user=user) and client_permissions.can_view_client(
        user=user, client=client
    )


def can_read_data_export(*, user: Any, export: DataExport) -> bool:
    """A client reads the copies she asked for in the portal; staff read every copy of a
    client they may see (the one made for a letter is printed or handed over by them)."""
    if _is_own_client(user=user, client=export.client):
        return export.channel == ExportChannel.PORTAL
    return client_permissions.is_caseload_staff(user=user) and client_permissions.can_view_client(
        user=user, client=export.client
    )
