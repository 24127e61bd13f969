"""Who may see, send and delete documents. Built on the client access rules.

- Seeing follows `clients.permissions`: the client themself, their case manager, colleagues
  standing in today, and the team lead of the case manager's team.
- Changing on the staff side (sending for the client, deleting, requesting documents, the
  e-file mark, the export): the case manager and the colleagues standing in for them today
  (`can_change_client_documents`). A team lead of someone else's client reads only.
- Sending: the client (while they consent to portal use) and the staff above.
- Deleting: nothing already in the e-file; the client only what they sent themself; the
  staff above anything else.
- Staff see technical details (virus check result, PDF metadata); clients do not.
- The evidence copy (the file exactly as received) only staff who may see the document.
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


# Staff roles that may change a client's documents at all (further limited per client below).
_STAFF_WRITER_ROLES = frozenset({Role.CASE_MANAGER, Role.TEAM_LEAD})


def can_change_client_documents(*, user: Any, client: Client) -> bool:
    """May `user` send documents for this client, delete them, request documents, cancel
    requests, mark documents for the e-file and export them? The case manager and today's
    substitutes; not team leads of other people's clients, who read only."""
    if not _is_active_user(user) or getattr(user, "role", None) not in _STAFF_WRITER_ROLES:
        return False
    if client.case_manager_id == user.pk:
        return True
    if user.role == Role.CASE_MANAGER:
        represented = client_permissions.case_managers_represented_by(user=user)
        return client.case_manager_id in represented
    return False


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


def can_download_evidence_copy(*, user: Any, document: Document) -> bool:
    """The file as received (it may hold active content) only for staff who may see the
    document, never for clients: they get the rebuilt PDF like everyone."""
    return client_permissions.is_caseload_staff(user=user) and can_open_content(
        user=user, document=document
    )


def can_see_technical_details(*, user: Any) -> bool:
    return client_permissions.is_caseload_staff(user=user)


def can_upload_for_client(*, user: Any, client: Client) -> bool:
    """The client for themself while they consent to portal use; on the staff side the case
    manager and today's substitutes."""
    if not _is_active_user(user):
        return False
    if is_client_side(user=user):
        return (
            client.user_id == user.pk
            and Consent.objects.filter(
                client=client, purpose=ConsentPurpose.PORTAL, withdrawn_at__isnull=True
            ).exists()
        )
    return can_change_client_documents(user=user, client=client)


def can_delete_document(*, user: Any, document: Document) -> bool:
    if not _is_active_user(user) or document.is_in_efile:
        return False
    if is_client_side(user=user):
        return document.uploaded_by_id == user.pk and document.client.user_id == user.pk
    return can_change_client_documents(user=user, client=document.client)
