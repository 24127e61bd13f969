"""One document's pages for everyone allowed to see it: the page with previews, page images,
downloads and deletion. Outside the rules every page is a 404.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.core.errors import PermissionDeniedError

from .. import permissions, selectors, services
from ..choices import DocumentStatus
from ..models import Document
from .common import content_response


class _DocumentMixin(LoginRequiredMixin):
    def document(self, request: HttpRequest, pk: int, *, action: str | None) -> Document:
        document = selectors.document_get_for_user(
            user=request.user, pk=pk, request=request, action=action
        )
        if document is None:
            raise Http404
        if permissions.is_client_side(user=request.user):
            _client, purposes = client_permissions.portal_state(request)
            if ConsentPurpose.PORTAL not in purposes:
                raise Http404
        return document


class DocumentDetailView(_DocumentMixin, View):
    """One document: its state, page previews (tap to zoom), downloads; staff also see the
    virus check result, what was removed from the PDF, and the PDF's metadata."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self.document(request, pk, action="document.view")
        portal = permissions.is_client_side(user=request.user)
        ready = document.status == DocumentStatus.READY
        return render(
            request,
            "documents/detail.html",
            {
                "document": document,
                "client": document.client,
                "portal": portal,
                "previews": selectors.document_previews(document=document) if ready else [],
                "is_ready": ready,
                "is_waiting": document.status == DocumentStatus.PROCESSING,
                "show_technical": permissions.can_see_technical_details(user=request.user),
                "can_delete": permissions.can_delete_document(user=request.user, document=document),
                "has_original": ready
                and document.original_storage_name
                and document.original_storage_name != document.pdf_storage_name,
                "back_url": reverse("documents:portal")
                if portal
                else reverse(
                    "documents:client_documents", kwargs={"client_pk": document.client_id}
                ),
            },
        )


class DocumentPreviewView(_DocumentMixin, View):
    """One page image (decrypted here; audited in the selector)."""

    def get(self, request: HttpRequest, pk: int, page: int) -> HttpResponse:
        document = self.document(request, pk, action=None)
        content = selectors.document_preview_for_user(
            user=request.user, document=document, page_number=page, request=request
        )
        if content is None:
            raise Http404
        return content_response(content, inline=True)


class DocumentDownloadView(_DocumentMixin, View):
    """The PDF, or the original as received (`kind`), always as an attachment."""

    kind = "pdf"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self.document(request, pk, action=None)
        content = selectors.document_file_for_user(
            user=request.user, document=document, kind=self.kind, request=request
        )
        if content is None:
            raise Http404
        return content_response(content, inline=False)


class DocumentDeleteView(_DocumentMixin, View):
    """Ask, then delete the document with its files and keys."""

    def _allowed(self, request: HttpRequest, pk: int) -> Document:
        document = self.document(request, pk, action=None)
        if not permissions.can_delete_document(user=request.user, document=document):
            raise Http404
        return document

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self._allowed(request, pk)
        return render(
            request,
            "documents/delete.html",
            {"document": document, "portal": permissions.is_client_side(user=request.user)},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        document = self._allowed(request, pk)
        portal = permissions.is_client_side(user=request.user)
        client_pk = document.client_id
        try:
            services.document_delete(document=document, actor=request.user, request=request)
        except PermissionDeniedError as error:
            raise Http404 from error
        if portal:
            return redirect("documents:portal")
        return redirect("documents:client_documents", client_pk=client_pk)
