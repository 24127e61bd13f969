"""Documents and document requests in a client's timeline, and the "request a document"
action (clients.timeline)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from sprechstunde.clients.timeline import ClientAction, QuerySource, TimelineEntry

from . import permissions
from .choices import DocumentStatus, RequestStatus, Side
from .models import Document, DocumentRequest

_DOCUMENT_TONES = {
    DocumentStatus.READY: "ok",
    DocumentStatus.QUARANTINED: "warn",
    DocumentStatus.REFUSED: "off",
    DocumentStatus.FAILED: "off",
}


def _document(document: Document) -> TimelineEntry:
    if document.uploaded_by_side == Side.CLIENT:
        title = _("Document from the client: %(title)s")
    else:
        title = _("Document from the Jobcenter: %(title)s")
    return TimelineEntry(
        at=document.created_at,
        kind="document",
        source="document",
        key=document.pk,
        title=title % {"title": document.title},
        url=reverse("documents:detail", args=[document.pk]),
        state=str(document.get_status_display()),
        tone=_DOCUMENT_TONES.get(document.status, "neutral"),  # type: ignore[call-overload]
    )


def _request(item: DocumentRequest) -> TimelineEntry:
    return TimelineEntry(
        at=item.created_at,
        kind="document",
        source="document_request",
        key=item.pk,
        title=_("Document requested: %(title)s") % {"title": item.title},
        url=reverse("documents:client_documents", args=[item.client_id]) + "#anforderungen",
        state=str(item.get_status_display()),
        tone="ok" if item.status == RequestStatus.FULFILLED else "neutral",
    )


def sources() -> list[Any]:
    return [
        QuerySource(
            kind="document",
            code="document",
            rows=lambda client: Document.objects.filter(client=client).only(
                "pk", "created_at", "title", "status", "uploaded_by_side"
            ),
            at_field="created_at",
            make=_document,
        ),
        QuerySource(
            kind="document",
            code="document_request",
            rows=lambda client: DocumentRequest.objects.filter(client=client).only(
                "pk", "created_at", "title", "status", "client_id"
            ),
            at_field="created_at",
            make=_request,
        ),
    ]


def actions(*, user: Any, client: Any) -> list[ClientAction]:
    """Requesting opens for the case manager and today's substitutes (team leads read)."""
    if not permissions.can_change_client_documents(user=user, client=client):
        return []
    return [
        ClientAction(
            label=_("Request a document"),
            url=reverse("documents:client_documents", args=[client.pk]) + "#request-form",
            order=30,
        )
    ]
