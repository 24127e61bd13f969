"""Rebuilding the PDFs of documents that were processed before PDFs were rebuilt (ADR 0044):
their stored PDF was only cleaned and may still hold active content."""

from __future__ import annotations

import io
import logging
from functools import partial

import pikepdf
from django.db import transaction

from sprechstunde.audit.services import audit_record

from .. import file_checks, isolation, storage_crypto
from ..choices import DocumentStatus
from ..models import Document
from .storage import _data_key, _delete_blobs

logger = logging.getLogger(__name__)


def _is_rebuilt(data: bytes) -> bool:
    """A rebuilt PDF's catalog holds nothing but its pages."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return set(pdf.Root.keys()) <= {"/Type", "/Pages"}
    except (pikepdf.PdfError, ValueError):
        return False


def documents_rebuild_pdfs() -> dict[str, int]:
    """Rebuild from the encrypted original the PDF of every ready document received as a
    PDF whose stored PDF is not a rebuild yet; the old PDF blob is deleted after the commit.
    Page previews stay (page content renders the same). Safe to run again. A document whose
    original cannot be rebuilt keeps its PDF and is counted as "failed" (and logged)."""
    counts = {"rebuilt": 0, "unchanged": 0, "failed": 0}
    candidates = Document.objects.filter(
        status=DocumentStatus.READY, original_content_type=file_checks.PDF
    ).exclude(original_storage_name="")
    for document in candidates.order_by("pk").iterator():
        data_key = _data_key(document)
        current = storage_crypto.blob_read(document.pdf_storage_name, data_key=data_key)
        if document.pdf_storage_name != document.original_storage_name and _is_rebuilt(current):
            counts["unchanged"] += 1
            continue
        original = storage_crypto.blob_read(document.original_storage_name, data_key=data_key)
        try:
            # The original is untrusted bytes: rebuilt in the limited child (ADR 0043).
            converted, _previews = isolation.isolated_convert(
                "pdf",
                [original],
                limits=isolation.DecodeLimits.for_document(pages=document.page_count),
            )
        except file_checks.FileRefused:
            logger.warning("Document %s: its original could not be rebuilt", document.pk)
            counts["failed"] += 1
            continue
        name = storage_crypto.blob_write(converted.data, data_key=data_key, kind="pdf")
        old = document.pdf_storage_name
        with transaction.atomic():
            updated = Document.objects.filter(pk=document.pk, pdf_storage_name=old).update(
                pdf_storage_name=name,
                page_count=converted.pages,
                sanitised_detail=", ".join(converted.removed)[:300],
                pdf_metadata=converted.metadata,
            )
            if not updated:
                transaction.on_commit(partial(_delete_blobs, [name]), robust=True)
                continue
            audit_record(actor=None, action="document.pdf_rebuild", target=document)
            if old != document.original_storage_name:
                transaction.on_commit(partial(_delete_blobs, [old]), robust=True)
        counts["rebuilt"] += 1
    return counts
