"""Where the bytes of a resumable upload wait until the upload is complete.

Two places, chosen by DOCUMENT_UPLOAD_PARTS (ADR 0080):
- "local": one plaintext file per upload in DOCUMENT_UPLOAD_DIR, appended chunk by chunk (the
  embedded default; every chunk of an upload must reach the same machine);
- "storage": one object per chunk in the documents storage (an S3 bucket when several app
  nodes share the work), encrypted with a data key of the upload whose wrapped form sits on
  the UploadSession row. The row lists the parts in order, so any node can take the next
  chunk or complete the upload: nothing is kept on the node between two requests.

A completed upload is put together into a local scratch file only for the request that turns
it into a document (the checks read files), and that file goes at the end of that request.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.errors import ApplicationError

from . import storage_crypto
from .models import UploadSession

logger = logging.getLogger(__name__)

PART_KIND = "upload"
_IO_BLOCK = 64 * 1024


class ReadableStream(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class ChunkTooLarge(ApplicationError):
    """The chunk is larger than allowed, or goes past the announced size."""

    def __init__(self) -> None:
        super().__init__(_("The upload sent more data than announced."))


def in_storage() -> bool:
    return settings.DOCUMENT_UPLOAD_PARTS == "storage"


def upload_dir() -> Path:
    """The node's local folder: whole uploads ("local"), or scratch files while a request
    checks a completed upload ("storage")."""
    path = Path(settings.DOCUMENT_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def upload_path(session: UploadSession) -> Path:
    """Where a "local" session's bytes are collected; named by the random id only."""
    return upload_dir() / f"{session.pk}.part"


def new_session_fields() -> dict[str, Any]:
    """Fields of a new UploadSession: in "storage" mode its own wrapped data key."""
    if not in_storage():
        return {}
    wrapped, key_id = storage_crypto.wrap_key(storage_crypto.new_data_key())
    return {"wrapped_key": wrapped, "key_id": key_id, "parts": []}


def session_started(session: UploadSession) -> None:
    """After the row exists: "local" makes the empty file the chunks are appended to."""
    if not in_storage():
        descriptor = os.open(upload_path(session), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(descriptor)


def _data_key(session: UploadSession) -> bytes:
    return storage_crypto.unwrap_key(bytes(session.wrapped_key or b""), session.key_id)


def chunk_append(
    session: UploadSession, *, stream: ReadableStream, max_chunk: int, added: list[str]
) -> int:
    """Store the bytes of `stream` after `session.received_size` (the caller holds the row
    lock and saves it); returns how many. Names of new objects are put into `added`, so
    that the caller can remove them should its transaction fail. Raises ChunkTooLarge (and
    then nothing is kept), StorageUnavailable when the object storage does not take it."""
    limit = min(max_chunk, session.expected_size - session.received_size)
    if not in_storage():
        return _local_append(session, stream=stream, limit=limit)
    body = bytearray()
    while block := stream.read(_IO_BLOCK):
        body += block
        if len(body) > limit:
            raise ChunkTooLarge
    if not body:
        return 0
    name = storage_crypto.blob_write(bytes(body), data_key=_data_key(session), kind=PART_KIND)
    added.append(name)
    session.parts = [*(session.parts or []), {"name": name, "size": len(body)}]
    return len(body)


def _local_append(session: UploadSession, *, stream: ReadableStream, limit: int) -> int:
    # The file on disk is the truth: whatever a failed write left (too large, or the disk
    # full) is cut back to the recorded size at once, so no half-stored chunk remains.
    written = 0
    descriptor = os.open(upload_path(session), os.O_WRONLY)
    try:
        os.ftruncate(descriptor, session.received_size)
        os.lseek(descriptor, session.received_size, os.SEEK_SET)
        try:
            while block := stream.read(_IO_BLOCK):
                written += len(block)
                if written > limit:
                    raise ChunkTooLarge
                _write_all(descriptor, block)
            os.fsync(descriptor)
        except BaseException:
            os.ftruncate(descriptor, session.received_size)
            raise
    finally:
        os.close(descriptor)
    return written


def _write_all(descriptor: int, data: bytes) -> None:
    """Write all of `data`; a disk that fills up mid-way raises OSError (ENOSPC/EFBIG)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def assemble(session: UploadSession) -> Path:
    """A local file with the whole upload, for the checks. "local": the upload's own file;
    "storage": a scratch file the caller removes (`release`). Raises ApplicationError when a
    part is missing or was changed, StorageUnavailable when the storage does not answer."""
    if not in_storage():
        return upload_path(session)
    path = upload_dir() / f"assembled-{secrets.token_urlsafe(24)}.part"
    try:
        data_key = _data_key(session)
        total = 0
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            for part in session.parts or []:
                data = storage_crypto.blob_read(part["name"], data_key=data_key)
                if len(data) != part["size"]:
                    raise storage_crypto.DecryptionError("A part has the wrong size.")
                handle.write(data)
                total += len(data)
        if total != session.expected_size:
            raise storage_crypto.DecryptionError("The parts do not add up to the upload.")
    except (storage_crypto.DecryptionError, FileNotFoundError) as error:
        path.unlink(missing_ok=True)
        logger.warning("Upload parts could not be put together: %s", error)
        raise ApplicationError(_("The upload could not be completed. Please try again.")) from error
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def release(session: UploadSession, path: Path) -> None:
    """Remove a scratch file made by `assemble` ("local": the upload's file stays)."""
    if in_storage():
        path.unlink(missing_ok=True)


def names_delete(names: Iterable[str]) -> None:
    """Remove part objects, best effort: what stays behind is found by the orphan sweep."""
    for name in names:
        try:
            storage_crypto.blob_delete(name)
        except OSError:
            logger.warning("Could not delete an upload part; the orphan sweep will.")


def discard(session: UploadSession) -> None:
    """Drop a session's bytes, wherever they are."""
    upload_path(session).unlink(missing_ok=True)
    names_delete(part["name"] for part in session.parts or [])


def part_names_in_use() -> set[str]:
    """Every part object an upload session still names (kept by the orphan sweep)."""
    names: set[str] = set()
    for parts in UploadSession.objects.values_list("parts", flat=True):
        names.update(part["name"] for part in parts or [])
    return names
