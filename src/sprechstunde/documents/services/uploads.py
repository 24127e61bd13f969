"""Resumable uploads and turning received files into a document.

A file is checked (type by its bytes, limits, broken or dangerous PDFs) before anything is
stored; what is stored is encrypted; processing is queued after the commit. Where the parts
of an unfinished upload wait (local disk or object storage) is `upload_parts.py`'s business.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import file_checks, permissions, storage_crypto, upload_parts
from ..choices import DocumentStatus, ScanStatus, Side, UploadStatus
from ..file_checks import FileRefused
from ..models import Document, DocumentRequest, UploadSession
from .processing import enqueue_processing

logger = logging.getLogger(__name__)


# A chunk may be at most this much larger than the configured chunk size (slack for clients).
_CHUNK_SLACK = 2


_IO_BLOCK = 64 * 1024

upload_dir = upload_parts.upload_dir
upload_path = upload_parts.upload_path


class ReadableStream(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class DocumentStorageUnavailable(ApplicationError):
    """The document storage (an object store) cannot be reached: nothing was stored."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "The document storage cannot be reached at the moment, so your file was not "
                "stored. Please try again in a few minutes."
            )
        )


# A write that failed for want of room: the disk or a quota is full (ENOSPC, EDQUOT), or the
# process's file size limit was reached (EFBIG, RLIMIT_FSIZE).
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_is_full(error: OSError) -> bool:
    """The write failed because there is no room left (not because of a broken disk)."""
    return error.errno in _NO_ROOM


class DocumentStorageFull(DocumentStorageUnavailable):
    """The disk under uploads or documents is full: nothing was stored, and the upload stands
    where it stood (a kind of "unavailable": it passes once the operator has made room)."""

    def __init__(self) -> None:
        ApplicationError.__init__(
            self,
            _(
                "There is no room left to store your file at the moment, so it was not "
                "stored. Please try again later."
            ),
        )


class UploadOffsetMismatch(ApplicationError):
    """The chunk does not start where the server stands; `offset` tells where it does."""

    def __init__(self, offset: int) -> None:
        super().__init__(_("The upload continues from an earlier point."))
        self.offset = offset


class UploadLimitReached(ApplicationError):
    """The owner already holds as many unfinished uploads (or declared bytes) as allowed."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "You have too many unfinished uploads. Please send or remove the files you "
                "have already chosen, then try again."
            )
        )


def _require_uploader(*, user: Any, client: Client) -> None:
    if not permissions.can_upload_for_client(user=user, client=client):
        raise PermissionDeniedError(_("You cannot send documents for this client."))


def _lock_uploads_of(owner: Any) -> None:
    """Serialise upload starts of one user, so that parallel requests cannot together pass
    the limits: PostgreSQL locks the user's row until the commit; SQLite runs every write
    transaction alone anyway (transaction_mode IMMEDIATE), where this lock is a no-op."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list(
        "pk", flat=True
    ).first()


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
    size is out of bounds, UploadLimitReached when the owner already holds too many unfinished
    uploads (DOCUMENT_MAX_OPEN_UPLOADS, DOCUMENT_MAX_OPEN_UPLOAD_BYTES; finished uploads
    still waiting to become a document count too, as their bytes lie on disk), and
    PermissionDeniedError outside the upload rules. The owner's expired sessions are removed."""
    _require_uploader(user=owner, client=client)
    if expected_size <= 0:
        raise FileRefused(_("The file is empty."))
    if expected_size > settings.DOCUMENT_MAX_BYTES:
        raise FileRefused(file_checks.too_large_message())
    batch = batch if batch.isascii() and batch.replace("-", "").replace("_", "").isalnum() else ""
    now = timezone.now()
    with transaction.atomic():
        _lock_uploads_of(owner)
        expired = list(UploadSession.objects.filter(owner_id=owner.pk, expires_at__lte=now))
        UploadSession.objects.filter(pk__in=[item.pk for item in expired]).delete()
        held = UploadSession.objects.filter(owner_id=owner.pk, expires_at__gt=now).aggregate(
            count=Count("pk"), declared=Sum("expected_size")
        )
        if (
            held["count"] >= settings.DOCUMENT_MAX_OPEN_UPLOADS
            or (held["declared"] or 0) + expected_size > settings.DOCUMENT_MAX_OPEN_UPLOAD_BYTES
        ):
            raise UploadLimitReached
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
            **upload_parts.new_session_fields(),
        )
    for item in expired:
        upload_parts.discard(item)
    upload_parts.session_started(session)
    return session


def upload_chunk_append(*, session: UploadSession, offset: int, stream: ReadableStream) -> int:
    """Append the bytes of `stream` at `offset`; returns the new received size.

    Raises UploadOffsetMismatch when `offset` is not the received size (the client asks
    again and continues from there), ApplicationError for a too large chunk or file,
    DocumentStorageUnavailable when the object storage does not take the chunk,
    DocumentStorageFull when the disk under it is full. In each case
    the upload stays where it stood: the row (locked meanwhile) records only stored bytes,
    and a part stored for a transaction that then fails is removed again.
    """
    max_chunk = settings.DOCUMENT_UPLOAD_CHUNK_BYTES * _CHUNK_SLACK
    added: list[str] = []
    try:
        with transaction.atomic():
            locked = UploadSession.objects.select_for_update().get(pk=session.pk)
            if locked.status != UploadStatus.OPEN or locked.expires_at <= timezone.now():
                raise ApplicationError(_("This upload has expired. Please choose the file again."))
            if offset != locked.received_size:
                raise UploadOffsetMismatch(locked.received_size)
            written = upload_parts.chunk_append(
                locked, stream=stream, max_chunk=max_chunk, added=added
            )
            locked.received_size += written
            locked.updated_at = timezone.now()
            if locked.received_size == locked.expected_size:
                locked.status = UploadStatus.COMPLETE
            locked.save(update_fields=["received_size", "updated_at", "status", "parts"])
    except storage_crypto.StorageUnavailable as error:
        logger.warning("An upload chunk was refused: the document storage is unavailable.")
        upload_parts.names_delete(added)
        raise DocumentStorageUnavailable from error
    except OSError as error:
        upload_parts.names_delete(added)
        if not storage_is_full(error):
            raise
        logger.error("An upload chunk was refused: no room left where uploads are stored.")
        raise DocumentStorageFull from error
    except BaseException:
        upload_parts.names_delete(added)
        raise
    session.received_size = locked.received_size
    session.status = locked.status
    return locked.received_size


def _discard_files(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def upload_session_abort(*, session: UploadSession) -> None:
    """Drop an upload and its bytes (the owner chose another file, or it expired)."""
    UploadSession.objects.filter(pk=session.pk).delete()
    upload_parts.discard(session)


def upload_session_file_check(*, session: UploadSession) -> None:
    """Check a completed upload's file by the documents rules without storing anything
    (message attachments are checked before the message is sent). Raises FileRefused,
    DocumentStorageUnavailable."""
    try:
        path = upload_parts.assemble(session)
    except storage_crypto.StorageUnavailable as error:
        raise DocumentStorageUnavailable from error
    try:
        file_checks.check_batch([path])
    finally:
        upload_parts.release(session, path)


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
        _blobs_delete_quietly(entry["name"] for entry in stored)
        raise
    return stored


def _blobs_delete_quietly(names: Iterable[str]) -> None:
    """Clean-up after a failure: the first error stays the one reported; a blob that cannot
    be removed now (storage down) is unreadable without its row and goes with the orphan
    sweep (`document_blobs_orphaned`)."""
    for name in names:
        try:
            storage_crypto.blob_delete(name)
        except OSError:
            logger.warning("Could not remove a blob after a failed upload.")


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

    Raises FileRefused with a message for the sender, DocumentStorageUnavailable when the
    storage does not take the files (DocumentStorageFull when its disk is full): then
    nothing is stored.
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
        try:
            incoming = _store_incoming(checked, data_key)
        except storage_crypto.StorageUnavailable as error:
            logger.warning("A document was refused: the document storage is unavailable.")
            raise DocumentStorageUnavailable from error
        except OSError as error:
            if not storage_is_full(error):
                raise
            logger.error("A document was refused: no room left in the document storage.")
            raise DocumentStorageFull from error
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
                    processing_queued_at=timezone.now(),
                )
                audit_record(
                    actor=uploader, action="document.upload", target=document, request=request
                )
                transaction.on_commit(partial(enqueue_processing, document.pk), robust=True)
        except Exception:
            _blobs_delete_quietly(entry["name"] for entry in incoming)
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
    files are gone afterwards, whether the document was accepted or refused; only when the
    document storage is unavailable they stay, so that sending again later loses nothing.
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
    files: list[ReceivedFile] = []
    keep_sessions = False
    try:
        try:
            for item in ordered:
                files.append(
                    ReceivedFile(path=upload_parts.assemble(item), name=item.original_name)
                )
            return document_create(
                uploader=uploader,
                client=client,
                files=files,
                title=title,
                document_request=document_request,
                request=request,
            )
        except storage_crypto.StorageUnavailable as error:
            keep_sessions = upload_parts.in_storage()
            raise DocumentStorageUnavailable from error
        except DocumentStorageUnavailable:
            # Parts in object storage are still there; local ones went with document_create.
            keep_sessions = upload_parts.in_storage()
            raise
        except OSError as error:
            # No room for the scratch file that puts object-storage parts together.
            if not storage_is_full(error):
                raise
            keep_sessions = upload_parts.in_storage()
            logger.error("An upload could not be put together: no room left on the disk.")
            raise DocumentStorageFull from error
    finally:
        for item, received in zip(ordered, files, strict=False):
            upload_parts.release(item, received.path)
        if not keep_sessions:
            UploadSession.objects.filter(pk__in=[s.pk for s in ordered]).delete()
            for item in ordered:
                upload_parts.discard(item)
