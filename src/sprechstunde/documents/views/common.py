"""Helpers the document pages share: the portal consent rule, the client of a page, content
responses that are never rendered by the browser as a page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
)
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header

from sprechstunde.accounts.role_pages import CASELOAD_ROLES
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client

from .. import selectors
from ..models import DocumentRequest

portal_consent = method_decorator(
    client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch"
)


def content_response(content: selectors.DocumentContent, *, inline: bool) -> HttpResponse:
    response = HttpResponse(content.data, content_type=content.content_type)
    # Django encodes non-ASCII names (RFC 6266 / 5987); the name itself is sanitised.
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=not inline, filename=content.filename
    ) or ("inline" if inline else "attachment")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def client_for(request: HttpRequest, client_pk: int | None) -> Client:
    """The portal user's own record, or (staff) a client they may see; else 404."""
    if client_pk is None:
        client, _purposes = client_permissions.portal_state(request)
        return client
    if not client_permissions.is_caseload_staff(user=request.user):
        raise Http404
    return client_selectors.client_get_for_user(
        user=request.user, pk=client_pk, request=request, record_view=False
    )


def open_request_for(
    request: HttpRequest, client: Client, value: str | None
) -> DocumentRequest | None:
    """The open request of this client that the upload answers (`?request=<id>`), if any."""
    from ..selectors import document_request_for_upload

    found = document_request_for_upload(user=request.user, pk=value)
    return found if found is not None and found.client_id == client.pk else None


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def upload_url_for_request(document_request_id: int) -> str:
    """Where the client sends a document for a request: the upload page, pre-linked."""
    return f"{reverse('documents:upload')}?request={document_request_id}"


class CaseloadStaffMixin(LoginRequiredMixin):
    """Case managers and team leads; everybody else gets 404."""

    page_roles = CASELOAD_ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not client_permissions.is_caseload_staff(user=user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


def client_documents_url(client_pk: int) -> str:
    return reverse("documents:client_documents", kwargs={"client_pk": client_pk})
