"""The staff side of a client's documents: the list per client and the e-file mark.

Reads go through the client access rules (`clients.permissions`); every list, every refusal
and every mark is audited, never with content. Changing the mark follows the same rule as
changing requests (`can_change_client_documents`): a team lead of someone else's client reads.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .choices import DocumentStatus, ScanStatus
from .models import Document
from .permissions import can_change_client_documents, documents_visible_to

DOCUMENT_TARGET_TYPE = "documents.document"


def document_list_for_client(
    *, user: Any, client: Client, request: HttpRequest | None = None
) -> QuerySet[Document]:
    """All documents of `client` for staff, newest first, with the request each answers and
    who marked it for the e-file (a fixed number of queries). Audited as "document.list".

    The caller has checked that `user` may see `client`; this filters again all the same.
    """
    queryset = (
        documents_visible_to(user=user)
        .filter(client=client)
        .select_related("request", "efile_marked_by")
        .defer("pdf_metadata", "wrapped_key")
        .order_by("-created_at", "-pk")
    )
    audit_record(
        actor=user,
        action="document.list",
        target_type=DOCUMENT_TARGET_TYPE,
        client_id=client.pk,
        request=request,
    )
    return queryset


def document_get_for_staff(
    *, user: Any, pk: Any, request: HttpRequest | None = None
) -> Document | None:
    """One document `user` may see (for a change such as the e-file mark; the change is
    audited by its service). None otherwise, with a "document.access_denied" entry."""
    text = str(pk)
    key = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
    found = None
    if key is not None and client_permissions.is_caseload_staff(user=user):
        found = (
            documents_visible_to(user=user)
            .select_related("client", "client__case_manager")
            .filter(pk=key)
            .first()
        )
    if found is None:
        owner = (
            Document.objects.filter(pk=key).values_list("client_id", flat=True).first()
            if key is not None
            else None
        )
        audit_record(
            actor=user,
            action="document.access_denied",
            target_type=DOCUMENT_TARGET_TYPE,
            target_id=text[:64],
            client_id=owner,
            request=request,
        )
    return found


def document_efile_mark(
    *, actor: Any, document: Document, in_efile: bool, request: HttpRequest | None = None
) -> Document:
    """Record that `document` was taken into the authority's e-file (or take that back).
    Audited as "document.efile_mark" / "document.efile_unmark"; marking twice changes nothing.

    Only documents that passed the virus check can go into the e-file.
    """
    if not can_change_client_documents(user=actor, client=document.client):
        raise PermissionDeniedError(_("You cannot change this document."))
    if in_efile and not (
        document.status == DocumentStatus.READY and document.scan_status == ScanStatus.CLEAN
    ):
        raise ApplicationError(
            _("Only documents that passed the virus check can be taken into the e-file.")
        )
    if document.is_in_efile == in_efile:
        return document
    now = timezone.now()
    with transaction.atomic():
        changed = Document.objects.filter(pk=document.pk, is_in_efile=not in_efile).update(
            is_in_efile=in_efile,
            efile_marked_at=now if in_efile else None,
            efile_marked_by=actor if in_efile else None,
        )
        if changed:
            audit_record(
                actor=actor,
                action="document.efile_mark" if in_efile else "document.efile_unmark",
                target=document,
                request=request,
            )
    document.is_in_efile = in_efile
    document.efile_marked_at = now if in_efile else None
    document.efile_marked_by = actor if in_efile else None
    return document
