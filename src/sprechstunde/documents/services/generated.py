"""Documents the platform makes for a client (a submitted form's PDF/A and its data as
JSON): stored encrypted like uploads, READY at once. They are our own output, not received
bytes, so they skip the virus check and the PDF rebuild (which would undo the PDF/A)."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import hashlib
from io import BytesIO
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client

from .. import file_checks, storage_crypto
from ..choices import DocumentStatus, ScanStatus, Side
from ..models import Document
from .uploads import DocumentStorageUnavailable, _blobs_delete_quietly


def _page_count(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(BytesIO(data)) as pdf:
        return len(pdf.pages)


def document_store_generated(
    *,
    client: Client,
    actor: Any,
    title: str,
    file_name: str,
    content_type: str,
    data: bytes,
    side: str = Side.CLIENT,
    request: HttpRequest | None = None,
) -> Document:
    """Store `data` encrypted as a READY document of `client`. A PDF is served as it is
    (download, e-file); any other type is kept as the original only (e-file, data copy).
    Runs in the caller's transaction; on a storage failure nothing is stored (a blob left
    by a rolled-back transaction goes with the orphan sweep)."""
    is_pdf = content_type == file_checks.PDF
    data_key = storage_crypto.new_data_key()
    wrapped, key_id = storage_crypto.wrap_key(data_key)
    try:
        name = storage_crypto.blob_write(
            data, data_key=data_key, kind="pdf" if is_pdf else "original"
        )
    except storage_crypto.StorageUnavailable as error:
        raise DocumentStorageUnavailable from error
    now = timezone.now()
    try:
        document = Document.objects.create(
            client=client,
            uploaded_by=actor,
            uploaded_by_side=side,
            title=title[:200],
            original_name=file_name[:200],
            content_type=content_type,
            size=len(data),
            page_count=_page_count(data) if is_pdf else 0,
            sha256=hashlib.sha256(data).hexdigest(),
            status=DocumentStatus.READY,
            scan_status=ScanStatus.CLEAN,
            scan_detail="made by the platform",
            scanned_at=now,
            ready_at=now,
            wrapped_key=wrapped,
            key_id=key_id,
            original_storage_name=name,
            original_content_type=content_type,
            pdf_storage_name=name if is_pdf else "",
        )
        audit_record(actor=actor, action="document.generated", target=document, request=request)
    except Exception:
        _blobs_delete_quietly([name])
        raise
    return document
