"""Reads of the documents app. Every document is reached through the access rules in
permissions.py; opening, previewing and downloading are audited (never content), and so is
every refusal. Content is decrypted only here, and only for READY documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client
from sprechstunde.core.compiled_queries import CompiledQuery

from . import file_checks, permissions, storage_crypto
from .choices import RequestStatus
from .models import Document, DocumentPreview, DocumentRequest, UploadSession
from .permissions import can_change_client_documents, documents_visible_to

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
    request: HttpRequest | None = None,
) -> DocumentContent | None:
    """The PDF of a READY document: the one the app made (photos joined, or a received PDF
    rebuilt from its page content), never the file as received. Audited as
    "document.download_pdf". None when it may not be opened (yet)."""
    if not permissions.can_open_content(user=user, document=document):
        return None
    if not document.pdf_storage_name:
        return None
    data = _decrypt(document, document.pdf_storage_name)
    audit_record(actor=user, action="document.download_pdf", target=document, request=request)
    return DocumentContent(
        data=data, content_type=file_checks.PDF, filename=_download_name(document, file_checks.PDF)
    )


def document_evidence_copy_for_user(
    *,
    user: Any,
    document: Document,
    request: HttpRequest | None = None,
) -> DocumentContent | None:
    """The file exactly as received (kept encrypted as evidence; it may hold active content),
    for staff who may see the document, audited as "document.evidence_download". None for
    clients, for others and when there is no separate original (photos joined into one)."""
    if not permissions.can_download_evidence_copy(user=user, document=document):
        return None
    name = document.original_storage_name
    if not name or name == document.pdf_storage_name:
        return None
    data = _decrypt(document, name)
    audit_record(actor=user, action="document.evidence_download", target=document, request=request)
    content_type = document.original_content_type or file_checks.PDF
    return DocumentContent(
        data=data, content_type=content_type, filename=_download_name(document, content_type)
    )


def _decrypt(document: Document, name: str) -> bytes:
    data_key = storage_crypto.unwrap_key(bytes(document.wrapped_key or b""), document.key_id)
    return storage_crypto.blob_read(name, data_key=data_key)


def _download_name(document: Document, content_type: str) -> str:
    stem = document.original_name.rpartition(".")[0] or document.original_name
    return file_checks.safe_display_name(stem + ".x", content_type=content_type)


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


# --- the staff side of a client's documents ---------------------------------------------------


def document_list_for_staff(
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


# --- document requests ------------------------------------------------------------------------

REQUEST_TARGET_TYPE = "documents.documentrequest"


def _visible_requests(*, user: Any) -> QuerySet[DocumentRequest]:
    condition = client_permissions.client_visibility_filter(user=user)
    if condition is None:
        return DocumentRequest.objects.none()
    return DocumentRequest.objects.filter(client__in=Client.objects.filter(condition))


def _with_documents(queryset: QuerySet[DocumentRequest]) -> QuerySet[DocumentRequest]:
    """Each request with the documents sent for it (`answers`), in a fixed number of queries."""
    return queryset.select_related(
        "client", "client__case_manager", "requested_by"
    ).prefetch_related(
        Prefetch(
            "documents",
            queryset=Document.objects.order_by("created_at", "pk").only(
                "pk", "request_id", "title", "status", "created_at"
            ),
            to_attr="answers",
        )
    )


def document_requests_for_user(
    *,
    user: Any,
    client: Client | None = None,
    status: RequestStatus | str | None = None,
    request: HttpRequest | None = None,
) -> QuerySet[DocumentRequest]:
    """The requests `user` may see (one client's, or all of the caseload; a client only
    their own), open ones first by due date. Audited as "document_request.list"."""
    queryset = _visible_requests(user=user)
    if client is not None:
        queryset = queryset.filter(client=client)
    if status is not None:
        queryset = queryset.filter(status=status)
    audit_record(
        actor=user,
        action="document_request.list",
        target_type=REQUEST_TARGET_TYPE,
        client_id=client.pk if client is not None else None,
        request=request,
    )
    open_first = Case(When(status=RequestStatus.OPEN, then=Value(0)), default=Value(1))
    return _with_documents(queryset).order_by(open_first, "due_on", "pk")


def document_requests_overdue_for_user(
    *, user: Any, request: HttpRequest | None = None
) -> QuerySet[DocumentRequest]:
    """Open requests past their due date across everything `user` may see (staff only:
    clients see their own on the portal). Audited as "document_request.list_overdue"."""
    if not client_permissions.is_caseload_staff(user=user):
        return DocumentRequest.objects.none()
    queryset = _visible_requests(user=user).filter(
        status=RequestStatus.OPEN, due_on__lt=timezone.localdate()
    )
    audit_record(
        actor=user,
        action="document_request.list_overdue",
        target_type=REQUEST_TARGET_TYPE,
        request=request,
    )
    return _with_documents(queryset).order_by("due_on", "client__last_name", "pk")


def document_request_get_for_user(
    *,
    user: Any,
    pk: Any,
    request: HttpRequest | None = None,
    action: str | None = "document_request.view",
) -> DocumentRequest | None:
    """One request `user` may see, audited as `action` (None: not audited, the caller
    audits its change). None when it does not exist or is outside the rules; that refusal
    leaves a "document_request.access_denied" entry naming the client when there is one."""
    key = _int_or_none(pk)
    found = None
    if key is not None:
        found = (
            _visible_requests(user=user)
            .select_related("client", "client__case_manager", "client__user")
            .filter(pk=key)
            .first()
        )
    if found is None:
        owner = (
            DocumentRequest.objects.filter(pk=key).values_list("client_id", flat=True).first()
            if key is not None
            else None
        )
        audit_record(
            actor=user,
            action="document_request.access_denied",
            target_type=REQUEST_TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=owner,
            request=request,
        )
        return None
    if action:
        audit_record(actor=user, action=action, target=found, request=request)
    return found


def document_request_for_upload(*, user: Any, pk: Any) -> DocumentRequest | None:
    """FOR THE UPLOAD VIEW (`?request=<id>`): the open request `pk` of the logged-in client
    (or, for staff uploading for a client, one they may change), else None. Not audited:
    the upload that follows is."""
    key = _int_or_none(pk)
    if key is None:
        return None
    found = (
        _visible_requests(user=user)
        .select_related("client")
        .filter(pk=key, status=RequestStatus.OPEN)
        .first()
    )
    if found is None:
        return None
    if getattr(user, "role", None) == Role.CLIENT:
        return found
    return found if can_change_client_documents(user=user, client=found.client) else None


_OPEN_REQUESTS = CompiledQuery(
    lambda client_id: DocumentRequest.objects.filter(
        client_id=client_id, status=RequestStatus.OPEN
    ),
    arguments=("client_id",),
    count=True,
)


def document_requests_open_count(*, client: Client) -> int:
    """How many requests the client still has to answer (the portal's card; the caller has
    the client from the logged-in account). Not audited: a number. Compiled once: it runs
    on every portal home (ADR 0092)."""
    return _OPEN_REQUESTS.count(client_id=client.pk)


def document_request_counts_for_clients(*, client_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open and overdue counts per client, for lists (callers have checked access)."""
    today = timezone.localdate()
    rows = (
        DocumentRequest.objects.filter(client_id__in=client_ids, status=RequestStatus.OPEN)
        .values("client_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
    )
    return {row["client_id"]: {"open": row["open"], "overdue": row["overdue"]} for row in rows}


def _int_or_none(value: Any) -> int | None:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)
