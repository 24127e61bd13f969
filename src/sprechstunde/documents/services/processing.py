"""The processing pipeline of one document: virus check, conversion to PDF, previews, ready.

Nobody can open a document before clamd has called it clean; the audit trail never holds
content; a refusal tells the sender once, without content.
"""

from __future__ import annotations

import datetime
import logging
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from sprechstunde.audit.services import audit_record

from .. import file_checks, isolation, storage_crypto, virus_scan
from ..choices import DocumentStatus, ScanStatus
from ..file_checks import FileRefused
from ..models import Document, DocumentPreview, DocumentRequest
from .storage import _data_key, _delete_blobs, _incoming_names

logger = logging.getLogger(__name__)


def _notify_sender(document_id: int, kind: str) -> None:
    """A content-free e-mail to the sender: a document could not be accepted."""
    document = Document.objects.select_related("uploaded_by").filter(pk=document_id).first()
    user = document.uploaded_by if document else None
    if user is None or not user.email or not user.is_active:
        return
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = gettext("A document you sent could not be accepted")
        body = gettext(
            "A document you sent through Sprechstunde could not be accepted (%(reason)s). "
            "Please sign in to see what happened and to send it again.\n\n%(site)s"
        ) % {
            "reason": gettext("virus check") if kind == "scan" else gettext("file check"),
            "site": settings.SITE_URL,
        }
    send_mail(subject, body, None, [user.email], fail_silently=True)


def _finish_refused(document: Document, *, status: str, reason: str, kind: str) -> None:
    """Record a quarantine or failure, drop the received files and tell the sender once,
    without content."""
    names = _incoming_names(document)
    is_news = document.status != status
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=status,
            refusal_reason=reason[:300],
            scan_status=document.scan_status,
            scan_detail=document.scan_detail[:300],
            scanned_at=document.scanned_at,
            scan_attempts=document.scan_attempts,
            incoming=[],
        )
        audit_record(actor=None, action=f"document.{DocumentStatus(status).value}", target=document)
        transaction.on_commit(partial(_delete_blobs, names), robust=True)
        if is_news:
            transaction.on_commit(partial(_notify_sender, document.pk, kind), robust=True)
    document.status = status


def _scan(document: Document, parts: list[bytes]) -> bool:
    """Check every received file with clamd. True: all clean, go on. False: the document
    was quarantined, or waits (no scanner configured, or clamd down); its state is saved."""
    now = timezone.now()
    if not virus_scan.is_configured():
        Document.objects.filter(pk=document.pk).update(
            scan_status=ScanStatus.PENDING, scan_detail="no virus scanner configured"
        )
        return False
    document.scan_attempts += 1
    document.scanned_at = now
    try:
        for data in parts:
            result = virus_scan.scan_bytes(data)
            if not result.is_clean:
                document.scan_status = ScanStatus.INFECTED
                document.scan_detail = result.signature
                _finish_refused(
                    document,
                    status=DocumentStatus.QUARANTINED,
                    reason="virus found",
                    kind="scan",
                )
                return False
    except virus_scan.ScannerUnavailable as error:
        # clamd is down: not a refusal. The document keeps waiting for its virus check
        # (never served, files kept, the sender not told of a failure) and the worker's
        # sweep checks it again once clamd answers (ADR 0086).
        logger.warning("Document %s waits for its virus check: %s", document.pk, error)
        Document.objects.filter(pk=document.pk).update(
            scan_status=ScanStatus.ERROR,
            scan_detail=str(error)[:300],
            scanned_at=document.scanned_at,
            scan_attempts=document.scan_attempts,
        )
        return False
    document.scan_status = ScanStatus.CLEAN
    document.scan_detail = ""
    return True


def _waiting() -> Q:
    """Documents the pipeline still has to run for: not yet checked, or checked while clamd
    could not be reached (they wait as PROCESSING; rows quarantined for that before ADR 0086
    are kept, so that a later check can release them too)."""
    return Q(status=DocumentStatus.PROCESSING) | Q(
        status=DocumentStatus.QUARANTINED, scan_status=ScanStatus.ERROR
    )


def _grace() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.DOCUMENT_PROCESSING_GRACE_MINUTES)


def _lease_free(now: datetime.datetime) -> Q:
    """No run holds the document: none started, or the one that did has outlived the grace
    period (its worker died, or was killed mid-way)."""
    return Q(processing_started_at__isnull=True) | Q(processing_started_at__lte=now - _grace())


def document_process(*, document_id: int) -> str:
    """The pipeline (run as a task): virus check first, so that no decoder reads unchecked
    bytes; then the PDF (photos joined, or a received PDF rebuilt), previews, ready.

    Idempotent: a document that is not waiting is left alone, and one that another run holds
    (the lease) is too ("busy"), so a document queued twice is processed once. A document
    whose runs never end (a poison file that kills the worker) fails after
    DOCUMENT_PROCESSING_MAX_ATTEMPTS. Returns the new status."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return "missing"
    if not Document.objects.filter(_waiting(), pk=document_id).exists() or not document.incoming:
        return str(document.status)
    started = timezone.now()
    claimed = Document.objects.filter(_waiting(), _lease_free(started), pk=document_id).update(
        processing_started_at=started, processing_attempts=F("processing_attempts") + 1
    )
    if not claimed:
        return "busy"
    document.refresh_from_db()
    if document.processing_attempts > settings.DOCUMENT_PROCESSING_MAX_ATTEMPTS:
        logger.warning(
            "Document %s: processing did not finish in %s attempts; marked failed",
            document_id,
            settings.DOCUMENT_PROCESSING_MAX_ATTEMPTS,
        )
        _finish_refused(
            document,
            status=DocumentStatus.FAILED,
            reason=f"processing did not finish in {settings.DOCUMENT_PROCESSING_MAX_ATTEMPTS} "
            "attempts",
            kind="check",
        )
        # The attempts stay recorded, for whoever looks into the file.
        Document.objects.filter(pk=document_id).update(processing_started_at=None)
        return str(document.status)
    outcome = _run_pipeline(document)
    # The run ended (whatever the outcome): give up the lease. An exception leaves it held,
    # so that the sweep retries after the grace period and the attempt counts.
    Document.objects.filter(pk=document_id, processing_started_at=started).update(
        processing_started_at=None, processing_attempts=0
    )
    return outcome


def _run_pipeline(document: Document) -> str:
    document_id = document.pk
    data_key = _data_key(document)
    parts = [
        storage_crypto.blob_read(name, data_key=data_key) for name in _incoming_names(document)
    ]
    if not _scan(document, parts):
        return str(document.status)
    types = [entry["type"] for entry in document.incoming]
    try:
        # Conversion and previews decode untrusted bytes: in a limited child (ADR 0043).
        converted, rendered = isolation.isolated_convert(
            "pdf" if types == [file_checks.PDF] else "images",
            parts,
            limits=isolation.DecodeLimits.for_document(pages=document.page_count),
        )
        del parts
        if converted.pages > settings.DOCUMENT_MAX_PAGES:
            raise FileRefused("too many pages")
    except FileRefused as error:
        reason = getattr(error, "reason", "conversion failed")
        logger.info("Document %s could not be converted: %s", document_id, reason)
        _finish_refused(document, status=DocumentStatus.FAILED, reason=reason, kind="check")
        return str(document.status)
    written: list[str] = []
    try:
        pdf_name = storage_crypto.blob_write(converted.data, data_key=data_key, kind="pdf")
        written.append(pdf_name)
        preview_rows = []
        for page in rendered:
            name = storage_crypto.blob_write(page.data, data_key=data_key, kind="preview")
            written.append(name)
            preview_rows.append(
                DocumentPreview(
                    document_id=document.pk,
                    page_number=page.page_number,
                    storage_name=name,
                    content_type=page.content_type,
                    width=page.width,
                    height=page.height,
                )
            )
        single = len(document.incoming) == 1
        original_name = _incoming_names(document)[0] if single else pdf_name
        leftover = [] if single else _incoming_names(document)
        with transaction.atomic():
            updated = Document.objects.filter(pk=document.pk, status=document.status).update(
                status=DocumentStatus.READY,
                ready_at=timezone.now(),
                scan_status=ScanStatus.CLEAN,
                scan_detail="",
                scanned_at=document.scanned_at,
                scan_attempts=document.scan_attempts,
                refusal_reason="",
                page_count=converted.pages,
                pdf_storage_name=pdf_name,
                original_storage_name=original_name,
                original_content_type=types[0] if single else file_checks.PDF,
                sanitised_detail=", ".join(converted.removed)[:300],
                pdf_metadata=converted.metadata,
                incoming=[],
            )
            if not updated:
                raise _Superseded
            DocumentPreview.objects.bulk_create(preview_rows)
            audit_record(actor=None, action="document.ready", target=document)
            if document.request_id is not None:
                from .requests import document_request_fulfil

                document_request = DocumentRequest.objects.filter(pk=document.request_id).first()
                if document_request is not None:
                    document_request_fulfil(document_request=document_request, document=document)
            transaction.on_commit(partial(_delete_blobs, leftover), robust=True)
    except _Superseded:
        _delete_blobs(written)
        return "superseded"
    except Exception:
        _delete_blobs(written)
        raise
    return str(DocumentStatus.READY)


class _Superseded(Exception):
    """Another worker finished or deleted the document meanwhile."""


def documents_process_pending(*, limit: int = 500) -> dict[str, int]:
    """Run the pipeline now, in this process, for every waiting document no run holds (after
    clamd downtime; `manage.py documents_scan_pending`). The worker's sweep does the same
    through the queue (documents_unfinished_requeue)."""
    pending = (
        Document.objects.filter(_waiting(), _lease_free(timezone.now()))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for document_id in list(pending):
        outcome = document_process(document_id=document_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def documents_unfinished_requeue(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Queue the pipeline again for waiting documents nobody has worked on for the grace
    period: a run that started and never ended (its worker died), a job that was lost, or a
    virus check that failed while clamd was down (these at every sweep once clamd answers).
    Returns how many were queued.

    A document is queued again at most once per grace period, and a run still holding it is
    left alone; the lease in document_process keeps two runs from both processing it."""
    if not virus_scan.is_configured():
        return 0  # they wait for a scanner; queuing them again would change nothing
    now = now or timezone.now()
    cutoff = now - _grace()
    due = Q(processing_queued_at__lte=cutoff) | Q(
        processing_queued_at__isnull=True, created_at__lte=cutoff
    )
    # Documents whose virus check found clamd down need not wait the whole grace period:
    # once clamd answers again, each sweep (one interval after their last try) queues them.
    interval = now - datetime.timedelta(minutes=max(1, settings.DOCUMENT_SWEEP_INTERVAL_MINUTES))
    scan_deferred = Q(
        scan_status=ScanStatus.ERROR, scanned_at__lte=interval, processing_queued_at__lte=interval
    )
    if Document.objects.filter(_waiting(), scan_deferred).exists() and virus_scan.ping():
        due |= scan_deferred
    stale = Document.objects.filter(_waiting(), _lease_free(now), due)
    queued = 0
    for document_id in list(stale.order_by("created_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            # Conditional, so that a sweep running twice at once queues a document once.
            if stale.filter(pk=document_id).update(processing_queued_at=now):
                transaction.on_commit(partial(enqueue_processing, document_id), robust=True)
                queued += 1
    return queued


def enqueue_processing(document_id: int) -> None:
    """Queue the pipeline of one document (after the commit that made it wait)."""
    from ..tasks import document_process as document_process_task

    document_process_task.enqueue(document_id)
