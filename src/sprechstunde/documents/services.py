"""Writes of the documents app: resumable uploads, turning received files into a document,
the processing pipeline (virus check → conversion → encryption → previews → ready),
deletion and master-key rotation.

Rules that hold throughout: a file is checked (type by its bytes, limits, broken or
dangerous PDFs) before anything is stored; what is stored is encrypted; nobody can open a
document before clamd has called it clean; the audit trail never holds content.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from . import conversion, file_checks, permissions, previews, storage_crypto, virus_scan
from .choices import DocumentStatus, ScanStatus, Side, UploadStatus
from .file_checks import FileRefused
from .models import Document, DocumentPreview, DocumentRequest, UploadSession

logger = logging.getLogger(__name__)

# A chunk may be at most this much larger than the configured chunk size (slack for clients).
_CHUNK_SLACK = 2
_IO_BLOCK = 64 * 1024


class ReadableStream(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class UploadOffsetMismatch(ApplicationError):
    """The chunk does not start where the server stands; `offset` tells where it does."""

    def __init__(self, offset: int) -> None:
        super().__init__(_("The upload continues from an earlier point."))
        self.offset = offset


# --- resumable uploads -----------------------------------------------------------------------


def upload_dir() -> Path:
    path = Path(settings.DOCUMENT_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def upload_path(session: UploadSession) -> Path:
    """Where a session's bytes are collected; named by the random id only."""
    return upload_dir() / f"{session.pk}.part"


def _require_uploader(*, user: Any, client: Client) -> None:
    if not permissions.can_upload_for_client(user=user, client=client):
        raise PermissionDeniedError(_("You cannot send documents for this client."))


def upload_session_create(
    *,
    owner: Any,
    client: Client,
    original_name: str,
    expected_size: int,
    batch: str = "",
    position: int = 0,
) -> UploadSession:
    """Start a resumable upload of `expected_size` bytes. Raises ApplicationError when the
    size is out of bounds, PermissionDeniedError outside the upload rules."""
    _require_uploader(user=owner, client=client)
    if expected_size <= 0:
        raise FileRefused(_("The file is empty."))
    if expected_size > settings.DOCUMENT_MAX_BYTES:
        raise FileRefused(file_checks.too_large_message())
    batch = batch if batch.isascii() and batch.replace("-", "").replace("_", "").isalnum() else ""
    now = timezone.now()
    session = UploadSession.objects.create(
        id=secrets.token_urlsafe(32),
        owner=owner,
        client=client,
        batch=batch[:43] or secrets.token_urlsafe(16),
        position=max(0, min(int(position), 10_000)),
        original_name=file_checks.safe_display_name(original_name)[:200],
        expected_size=expected_size,
        created_at=now,
        updated_at=now,
        expires_at=now + datetime.timedelta(hours=settings.DOCUMENT_UPLOAD_EXPIRY_HOURS),
    )
    descriptor = os.open(upload_path(session), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    return session


def upload_chunk_append(*, session: UploadSession, offset: int, stream: ReadableStream) -> int:
    """Append the bytes of `stream` at `offset`; returns the new received size.

    Raises UploadOffsetMismatch when `offset` is not the received size (the client asks
    again and continues from there), ApplicationError for a too large chunk or file.
    The file on disk is the truth: a write cut short is cut back to the recorded size.
    """
    max_chunk = settings.DOCUMENT_UPLOAD_CHUNK_BYTES * _CHUNK_SLACK
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().get(pk=session.pk)
        if locked.status != UploadStatus.OPEN or locked.expires_at <= timezone.now():
            raise ApplicationError(_("This upload has expired. Please choose the file again."))
        if offset != locked.received_size:
            raise UploadOffsetMismatch(locked.received_size)
        path = upload_path(locked)
        written = 0
        with path.open("r+b") as handle:
            handle.truncate(locked.received_size)
            handle.seek(locked.received_size)
            while True:
                block = stream.read(_IO_BLOCK)
                if not block:
                    break
                written += len(block)
                if written > max_chunk or locked.received_size + written > locked.expected_size:
                    handle.truncate(locked.received_size)
                    raise ApplicationError(_("The upload sent more data than announced."))
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        locked.received_size += written
        locked.updated_at = timezone.now()
        if locked.received_size == locked.expected_size:
            locked.status = UploadStatus.COMPLETE
        locked.save(update_fields=["received_size", "updated_at", "status"])
    session.received_size = locked.received_size
    session.status = locked.status
    return locked.received_size


def _discard_files(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def upload_session_abort(*, session: UploadSession) -> None:
    """Drop an upload and its bytes (the owner chose another file, or it expired)."""
    _discard_files([upload_path(session)])
    UploadSession.objects.filter(pk=session.pk).delete()


def upload_sessions_expire(*, now: datetime.datetime | None = None) -> int:
    """Remove expired upload sessions and their partial files; returns how many."""
    now = now or timezone.now()
    expired = list(UploadSession.objects.filter(expires_at__lte=now))
    for session in expired:
        upload_session_abort(session=session)
    # Files without a session (a crash between file and row): older than the expiry.
    cutoff = now.timestamp() - settings.DOCUMENT_UPLOAD_EXPIRY_HOURS * 3600
    known = set(UploadSession.objects.values_list("id", flat=True))
    for path in upload_dir().glob("*"):
        if path.stem not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
    return len(expired)


# --- from received files to a document -------------------------------------------------------


@dataclass(frozen=True)
class ReceivedFile:
    """A file on local disk (a finished upload session or a form upload) and its name."""

    path: Path
    name: str


def _store_incoming(
    checked: list[file_checks.CheckedFile], data_key: bytes
) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    try:
        for item in checked:
            name = storage_crypto.blob_write(
                item.path.read_bytes(), data_key=data_key, kind="incoming"
            )
            stored.append({"name": name, "type": item.content_type, "size": item.size})
    except Exception:
        for entry in stored:
            storage_crypto.blob_delete(entry["name"])
        raise
    return stored


def _sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(_IO_BLOCK):
                digest.update(block)
    return digest.hexdigest()


def document_create(
    *,
    uploader: Any,
    client: Client,
    files: list[ReceivedFile],
    title: str = "",
    document_request: DocumentRequest | None = None,
    request: HttpRequest | None = None,
) -> Document:
    """Check the received files (one PDF, or photos in page order), store them encrypted and
    start processing. The local files are removed in every case.

    Raises FileRefused with a message for the sender: then nothing is stored.
    """
    paths = [item.path for item in files]
    try:
        _require_uploader(user=uploader, client=client)
        if document_request is not None and document_request.client_id != client.pk:
            raise PermissionDeniedError(_("This request belongs to someone else."))
        checked = file_checks.check_batch(paths)
        first = files[0]
        content_type = checked[0].content_type
        display_title = (title or "").strip()[:200]
        display_name = file_checks.safe_display_name(
            first.name if len(files) == 1 else (display_title or "dokument"),
            content_type=content_type if len(files) == 1 else file_checks.PDF,
        )
        if not display_title:
            display_title = display_name.rpartition(".")[0] or display_name
        data_key = storage_crypto.new_data_key()
        wrapped, key_id = storage_crypto.wrap_key(data_key)
        sha256 = _sha256_of(paths)
        incoming = _store_incoming(checked, data_key)
        try:
            with transaction.atomic():
                document = Document.objects.create(
                    client=client,
                    uploaded_by=uploader,
                    uploaded_by_side=(
                        Side.CLIENT if permissions.is_client_side(user=uploader) else Side.STAFF
                    ),
                    request=document_request,
                    title=display_title,
                    original_name=display_name,
                    content_type=content_type if len(files) == 1 else file_checks.PDF,
                    size=sum(item.size for item in checked),
                    page_count=sum(item.pages for item in checked),
                    sha256=sha256,
                    status=DocumentStatus.PROCESSING,
                    scan_status=ScanStatus.PENDING,
                    wrapped_key=wrapped,
                    key_id=key_id,
                    incoming=incoming,
                )
                audit_record(
                    actor=uploader, action="document.upload", target=document, request=request
                )
                transaction.on_commit(partial(_enqueue_processing, document.pk), robust=True)
        except Exception:
            for entry in incoming:
                storage_crypto.blob_delete(entry["name"])
            raise
    finally:
        _discard_files(paths)
    return document


def document_upload_complete(
    *,
    uploader: Any,
    client: Client,
    session_ids: list[str],
    title: str = "",
    document_request: DocumentRequest | None = None,
    request: HttpRequest | None = None,
) -> Document:
    """Turn finished upload sessions (in the given page order) into one document.

    Sessions must belong to `uploader` and `client` and be complete. The sessions and their
    files are gone afterwards, whether the document was accepted or refused.
    """
    if not session_ids:
        raise FileRefused(_("Please choose a file or take a photo."))
    if len(session_ids) != len(set(session_ids)):
        raise ApplicationError(_("The upload could not be completed. Please try again."))
    sessions = {
        s.pk: s
        for s in UploadSession.objects.filter(
            pk__in=session_ids, owner_id=uploader.pk, client_id=client.pk
        )
    }
    if len(sessions) != len(session_ids):
        raise ApplicationError(_("The upload could not be completed. Please try again."))
    ordered = [sessions[pk] for pk in session_ids]
    incomplete = [s for s in ordered if s.status != UploadStatus.COMPLETE]
    if incomplete:
        raise ApplicationError(_("Some files have not been sent completely yet. Please wait."))
    files = [ReceivedFile(path=upload_path(s), name=s.original_name) for s in ordered]
    try:
        return document_create(
            uploader=uploader,
            client=client,
            files=files,
            title=title,
            document_request=document_request,
            request=request,
        )
    finally:
        UploadSession.objects.filter(pk__in=[s.pk for s in ordered]).delete()


def _enqueue_processing(document_id: int) -> None:
    from .tasks import document_process

    document_process.enqueue(document_id)


# --- processing ------------------------------------------------------------------------------


def _data_key(document: Document) -> bytes:
    return storage_crypto.unwrap_key(bytes(document.wrapped_key or b""), document.key_id)


def _delete_blobs(names: Iterable[str]) -> None:
    for name in names:
        try:
            storage_crypto.blob_delete(name)
        except OSError:  # pragma: no cover - logged; the key is gone with the row anyway
            logger.exception("Could not delete a document blob")


def _incoming_names(document: Document) -> list[str]:
    return [entry["name"] for entry in document.incoming or []]


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


def _finish_refused(
    document: Document, *, status: str, reason: str, kind: str, keep_incoming: bool = False
) -> None:
    """Record a quarantine or failure, drop the received files (unless a later virus check
    may still release them) and tell the sender once, without content."""
    names = [] if keep_incoming else _incoming_names(document)
    is_news = document.status != status
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=status,
            refusal_reason=reason[:300],
            scan_status=document.scan_status,
            scan_detail=document.scan_detail[:300],
            scanned_at=document.scanned_at,
            scan_attempts=document.scan_attempts,
            incoming=document.incoming if keep_incoming else [],
        )
        audit_record(actor=None, action=f"document.{DocumentStatus(status).value}", target=document)
        transaction.on_commit(partial(_delete_blobs, names), robust=True)
        if is_news:
            transaction.on_commit(partial(_notify_sender, document.pk, kind), robust=True)
    document.status = status


def _scan(document: Document, parts: list[bytes]) -> bool:
    """Check every received file with clamd. True: all clean, go on. False: the document
    was quarantined or waits (no scanner), its state is saved."""
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
        # Unscannable: quarantined (never served) but kept, so a later check can release it.
        document.scan_status = ScanStatus.ERROR
        document.scan_detail = str(error)
        _finish_refused(
            document,
            status=DocumentStatus.QUARANTINED,
            reason="virus check failed",
            kind="scan",
            keep_incoming=True,
        )
        return False
    document.scan_status = ScanStatus.CLEAN
    document.scan_detail = ""
    return True


def document_process(*, document_id: int) -> str:
    """The pipeline (run as a task): virus check first, so that no decoder reads unchecked
    bytes; then the PDF (photos joined, or the PDF without active content), previews, ready.
    Idempotent: a document that is not waiting is left alone. Returns the new status."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return "missing"
    waiting = document.status == DocumentStatus.PROCESSING or (
        document.status == DocumentStatus.QUARANTINED and document.scan_status == ScanStatus.ERROR
    )
    if not waiting or not document.incoming:
        return str(document.status)
    data_key = _data_key(document)
    parts = [
        storage_crypto.blob_read(name, data_key=data_key) for name in _incoming_names(document)
    ]
    if not _scan(document, parts):
        return str(document.status)
    types = [entry["type"] for entry in document.incoming]
    try:
        if types == [file_checks.PDF]:
            converted = conversion.sanitise_pdf(parts[0])
        else:
            converted = conversion.images_to_pdf(parts)
        if converted.pages > settings.DOCUMENT_MAX_PAGES:
            raise FileRefused("too many pages")
        rendered = previews.render_pages(converted.data)
    except (FileRefused, OSError, ValueError, SyntaxError) as error:
        logger.info("Document %s could not be converted: %s", document_id, type(error).__name__)
        _finish_refused(
            document, status=DocumentStatus.FAILED, reason="conversion failed", kind="check"
        )
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
                from .document_requests import document_request_fulfil

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
    """Run the pipeline again for documents still waiting for the virus check, and for those
    quarantined because clamd could not be reached (the safety net after downtime)."""
    from django.db.models import Q

    pending = Document.objects.filter(
        Q(status=DocumentStatus.PROCESSING)
        | Q(status=DocumentStatus.QUARANTINED, scan_status=ScanStatus.ERROR)
    ).order_by("created_at")[:limit]
    counts: dict[str, int] = {}
    for document_id in list(pending.values_list("pk", flat=True)):
        outcome = document_process(document_id=document_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# --- deletion and keys -----------------------------------------------------------------------


def document_delete(*, document: Document, actor: Any, request: HttpRequest | None = None) -> None:
    """Delete a document with its files, previews and wrapped key. The blobs go after the
    commit; the row (and so the key) goes at once, so a leftover blob cannot be read."""
    if not permissions.can_delete_document(user=actor, document=document):
        raise PermissionDeniedError(_("You cannot delete this document."))
    document.refresh_from_db(fields=["original_storage_name", "pdf_storage_name", "incoming"])
    names = [
        document.original_storage_name,
        document.pdf_storage_name,
        *_incoming_names(document),
        *document.previews.values_list("storage_name", flat=True),
    ]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="document.delete",
            target_type=document._meta.label_lower,
            target_id=str(document.pk),
            client_id=document.client_id,
            request=request,
        )
        document.delete()
        transaction.on_commit(partial(_delete_blobs, [n for n in set(names) if n]), robust=True)


def document_keys_rotate(*, batch_size: int = 200) -> int:
    """Re-wrap every data key that is not wrapped by the active master key; returns how many.
    Afterwards the old master keys can be removed from DOCUMENT_MASTER_KEYS."""
    keys = storage_crypto.master_keys()
    count = 0
    while True:
        ids = list(
            Document.objects.exclude(key_id=keys.active_id)
            .exclude(wrapped_key__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return count
        with transaction.atomic():
            for document in Document.objects.select_for_update().filter(pk__in=ids):
                data_key = storage_crypto.unwrap_key(
                    bytes(document.wrapped_key or b""), document.key_id, keys=keys
                )
                wrapped, key_id = storage_crypto.wrap_key(data_key, keys=keys)
                Document.objects.filter(pk=document.pk).update(wrapped_key=wrapped, key_id=key_id)
                count += 1
        audit_record(
            actor=None,
            action="document.keys_rotate",
            target_type="documents.document",
            target_id=f"{len(ids)} documents",
        )
