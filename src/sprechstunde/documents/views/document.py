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
from django.utils.translation import gettext_lazy as _
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.core.errors import PermissionDeniedError

from .. import file_checks, permissions, selectors, services
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
                "has_evidence_copy": _has_evidence_copy(document)
                and permissions.can_download_evidence_copy(user=request.user, document=document),
                "is_rebuilt_pdf": ready and document.original_content_type == file_checks.PDF,
                "left_out": _left_out(document.sanitised_detail),
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
    """The PDF the app made (never the file as received), always as an attachment."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self.document(request, pk, action=None)
        content = selectors.document_file_for_user(
            user=request.user, document=document, request=request
        )
        if content is None:
            raise Http404
        return content_response(content, inline=False)


class DocumentEvidenceCopyView(_DocumentMixin, View):
    """The evidence copy: the file exactly as received, for staff only. GET shows a warning
    (it may hold active content), only a POST from that page sends the file: a link or an
    image tag elsewhere cannot fetch it."""

    def _allowed(self, request: HttpRequest, pk: int) -> Document:
        document = self.document(request, pk, action=None)
        if not permissions.can_download_evidence_copy(
            user=request.user, document=document
        ) or not _has_evidence_copy(document):
            raise Http404
        return document

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self._allowed(request, pk)
        return render(request, "documents/evidence_copy.html", {"document": document})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self._allowed(request, pk)
        content = selectors.document_evidence_copy_for_user(
            user=request.user, document=document, request=request
        )
        if content is None:
            raise Http404
        return content_response(content, inline=False)


def _has_evidence_copy(document: Document) -> bool:
    """A kept original that is not the PDF itself (several photos are joined into one)."""
    return bool(
        document.status == DocumentStatus.READY
        and document.original_storage_name
        and document.original_storage_name != document.pdf_storage_name
    )


# What a rebuild may note as left out (`pdf_rebuild`), in the reader's language. Older
# documents carry the notes of the former cleaning, which are listed here too.
_LEFT_OUT_LABELS = {
    "JavaScript": _("JavaScript"),
    "Launch actions": _("Launch actions"),
    "form submission actions": _("form submission actions"),
    "other actions": _("other actions"),
    "media and 3D content": _("media and 3D content"),
    "automatic actions": _("automatic actions"),
    "embedded files": _("embedded files"),
    "form fields": _("form fields"),
    "XFA forms": _("XFA forms"),
    "bookmarks": _("bookmarks"),
    "XMP metadata": _("XMP metadata"),
    "layers (all content is shown)": _("layers (all content is shown)"),
    "tagged structure": _("tagged structure"),
    "links that do more than open a web or mail address": _(
        "links that do more than open a web or mail address"
    ),
    "annotations and comments": _("annotations and comments"),
}


def _left_out(detail: str) -> list[str]:
    return [str(_LEFT_OUT_LABELS.get(note, note)) for note in detail.split(", ") if note]


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
