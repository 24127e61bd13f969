"""Encrypted blobs of a document: data keys, deletion with the files, master-key rotation."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import PermissionDeniedError

from .. import permissions, storage_crypto, upload_parts
from ..models import Document, DocumentPreview

logger = logging.getLogger(__name__)


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


def documents_purge(*, documents: QuerySet[Document]) -> int:
    """Delete these documents with their previews and every blob, without an actor: the
    retention job and an erasure on request call it (they audit what went). The rows (and so
    the keys) go in the caller's transaction, the blobs after its commit."""
    names: list[str] = []
    ids: list[int] = []
    for document in documents.only(
        "pk", "original_storage_name", "pdf_storage_name", "incoming"
    ).iterator():
        ids.append(document.pk)
        names += [document.original_storage_name, document.pdf_storage_name]
        names += _incoming_names(document)
    names += list(
        DocumentPreview.objects.filter(document_id__in=ids).values_list("storage_name", flat=True)
    )
    deleted = Document.objects.filter(pk__in=ids).delete()[1].get(Document._meta.label, 0)
    transaction.on_commit(partial(_delete_blobs, sorted({n for n in names if n})), robust=True)
    return deleted


def document_previews_purge(*, previews: QuerySet[DocumentPreview]) -> int:
    """Delete page previews (a convenience copy; the PDF stays) with their blobs."""
    rows = list(previews.values_list("pk", "storage_name"))
    DocumentPreview.objects.filter(pk__in=[pk for pk, _name in rows]).delete()
    transaction.on_commit(partial(_delete_blobs, [name for _pk, name in rows if name]), robust=True)
    return len(rows)


def _stored_names() -> Iterator[str]:
    """Every blob name in the documents storage (kind/xx/token.bin, see storage_crypto)."""
    store = storage_crypto.storage()
    kinds, _files = store.listdir("")
    for kind in kinds:
        shards, _top = store.listdir(kind)
        for shard in shards:
            _dirs, files = store.listdir(f"{kind}/{shard}")
            for name in files:
                yield f"{kind}/{shard}/{name}"


def document_blobs_orphaned(*, older_than: datetime.datetime) -> list[str]:
    """Blobs no document or preview names any more (a crash between row and file, a delete
    whose file removal failed), stored before `older_than` so that a document being written
    right now is never taken for one."""
    referenced: set[str] = set(
        DocumentPreview.objects.values_list("storage_name", flat=True).iterator()
    )
    # Parts of unfinished uploads in object storage (upload_parts.py) are in use too.
    referenced |= upload_parts.part_names_in_use()
    for original, pdf, incoming in Document.objects.values_list(
        "original_storage_name", "pdf_storage_name", "incoming"
    ).iterator():
        referenced.update((original, pdf))
        referenced.update(entry["name"] for entry in incoming or [])
    store = storage_crypto.storage()
    try:
        with storage_crypto.storage_errors():
            names = list(_stored_names())
            return sorted(
                name
                for name in names
                if name not in referenced and store.get_modified_time(name) < older_than
            )
    except FileNotFoundError:
        return []


def document_blobs_delete(*, names: Iterable[str]) -> int:
    """Remove blobs by name (the orphans found by `document_blobs_orphaned`)."""
    names = list(names)
    _delete_blobs(names)
    return len(names)
