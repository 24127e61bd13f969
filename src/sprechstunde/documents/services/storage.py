"""Encrypted blobs of a document: data keys, deletion with the files, master-key rotation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import PermissionDeniedError

from .. import permissions, storage_crypto
from ..models import Document

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
