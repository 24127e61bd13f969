"""Reads of the documents app. Every document is reached through the access rules in
permissions.py; opening, previewing and downloading are audited (never content), and so is
every refusal. Content is decrypted only here, and only for READY documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client

from . import file_checks, permissions, storage_crypto
from .models import Document, DocumentPreview, UploadSession

DOCUMENT_TARGET_TYPE = "documents.document"


def _key(pk: int | str) -> int | None:
    try:
        return int(pk)
    except (TypeError, ValueError):
        return None


def document_get_for_user(
    *,
    user: Any,
    pk: int | str,
    request: HttpRequest | None = None,
    action: str | None = "document.view",
) -> Document | None:
    """The document `pk` if `user` may see it, audited as `action` (None: not audited).
    None otherwise, leaving a "document.access_denied" entry."""
    key = _key(pk)
    document = None
    if key is not None:
        document = (
            permissions.documents_visible_to(user=user)
            .select_related("client", "client__user", "uploaded_by", "request")
            .filter(pk=key)
            .first()
        )
    if document is None:
        client_id = (
            Document.objects.filter(pk=key).values_list("client_id", flat=True).first()
            if key is not None
            else None
        )
        audit_record(
            actor=user,
            action="document.access_denied",
            target_type=DOCUMENT_TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=client_id,
            request=request,
        )
        return None
    if action:
        audit_record(actor=user, action=action, target=document, request=request)
    return document


def document_list_for_client(*, client: Client, viewer: Any) -> QuerySet[Document]:
    """The client's documents, newest first, as far as `viewer` may see them."""
    return (
        permissions.documents_visible_to(user=viewer)
        .filter(client=client)
        .select_related("uploaded_by", "request")
        .order_by("-created_at", "-id")
    )


def document_previews(*, document: Document) -> list[DocumentPreview]:
    return list(document.previews.order_by("page_number"))


@dataclass(frozen=True)
class DocumentContent:
    """Decrypted bytes to send, with the type and a safe download name."""

    data: bytes
    content_type: str
    filename: str


def document_file_for_user(
    *,
    user: Any,
    document: Document,
    kind: str = "pdf",
    request: HttpRequest | None = None,
) -> DocumentContent | None:
    """The PDF (`kind` "pdf") or the original as received ("original") of a READY document,
    audited as "document.download". None when it may not be opened (yet)."""
    if not permissions.can_open_content(user=user, document=document):
        return None
    if kind == "original" and document.original_storage_name:
        name, content_type = document.original_storage_name, document.original_content_type
    else:
        name, content_type = document.pdf_storage_name, file_checks.PDF
    if not name:
        return None
    data_key = storage_crypto.unwrap_key(bytes(document.wrapped_key or b""), document.key_id)
    data = storage_crypto.blob_read(name, data_key=data_key)
    stem = document.original_name.rpartition(".")[0] or document.original_name
    audit_record(
        actor=user,
        action="document.download" if kind == "original" else "document.download_pdf",
        target=document,
        request=request,
    )
    return DocumentContent(
        data=data,
        content_type=content_type,
        filename=file_checks.safe_display_name(stem + ".x", content_type=content_type),
    )


def document_preview_for_user(
    *,
    user: Any,
    document: Document,
    page_number: int,
    request: HttpRequest | None = None,
) -> DocumentContent | None:
    """One page image of a READY document, audited as "document.preview"."""
    if not permissions.can_open_content(user=user, document=document):
        return None
    preview = document.previews.filter(page_number=page_number).first()
    if preview is None:
        return None
    data_key = storage_crypto.unwrap_key(bytes(document.wrapped_key or b""), document.key_id)
    data = storage_crypto.blob_read(preview.storage_name, data_key=data_key)
    audit_record(
        actor=user,
        action="document.preview",
        target=document,
        request=request,
    )
    return DocumentContent(
        data=data,
        content_type=preview.content_type,
        filename=f"seite-{page_number}.webp",
    )


def upload_session_for_user(*, user: Any, pk: str) -> UploadSession | None:
    """An upload session, only for its owner (anyone else: None, answered with 404)."""
    if not getattr(user, "is_authenticated", False) or not isinstance(pk, str) or len(pk) > 43:
        return None
    return UploadSession.objects.filter(pk=pk, owner_id=user.pk).first()
