"""Who may see, send and delete documents. Built on the client access rules.

- Seeing follows `clients.permissions`: the client themself, their case manager, colleagues
  standing in today, and the team lead of the case manager's team.
- Sending: the client (while they consent to portal use) and caseload staff who may manage
  the client.
- Deleting: nothing already in the e-file; the client only what they sent themself; staff
  who may manage the client anything else.
- Staff see technical details (virus check result, PDF metadata); clients do not.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sprechstunde.accounts.choices import Role
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client, Consent

from .choices import DocumentStatus
from .models import Document


def _is_active_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def is_client_side(*, user: Any) -> bool:
    return getattr(user, "role", None) == Role.CLIENT


def documents_visible_to(*, user: Any) -> QuerySet[Document]:
    """Every document of every client `user` may see (nothing for admins and DPOs)."""
    condition = client_permissions.client_visibility_filter(user=user)
    if condition is None:
        return Document.objects.none()
    return Document.objects.filter(client__in=Client.objects.filter(condition))


def can_view_document(*, user: Any, document: Document) -> bool:
    return client_permissions.can_view_client(user=user, client=document.client)


def can_open_content(*, user: Any, document: Document) -> bool:
    """Content (previews, downloads) only of READY documents: checked by the virus scanner."""
    return document.status == DocumentStatus.READY and can_view_document(
        user=user, document=document
    )


def can_see_technical_details(*, user: Any) -> bool:
    return client_permissions.is_caseload_staff(user=user)


def can_upload_for_client(*, user: Any, client: Client) -> bool:
    """The client for themself while they consent to portal use; caseload staff who manage
    the client."""
    if not _is_active_user(user):
        return False
    if is_client_side(user=user):
        return (
            client.user_id == user.pk
            and Consent.objects.filter(
                client=client, purpose=ConsentPurpose.PORTAL, withdrawn_at__isnull=True
            ).exists()
        )
    return client_permissions.can_manage_client(user=user, client=client)


def can_delete_document(*, user: Any, document: Document) -> bool:
    if not _is_active_user(user) or document.is_in_efile:
        return False
    if is_client_side(user=user):
        return document.uploaded_by_id == user.pk and document.client.user_id == user.pk
    return client_permissions.can_manage_client(user=user, client=document.client)
