"""Copies of a client's data (Art. 15 GDPR): asked for, made in the background, downloaded,
and deleted when the link expires. Every step is audited under the client."""

from __future__ import annotations

import datetime
import hashlib
import logging
import tempfile
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import storage_crypto

from . import permissions
from .choices import ExportChannel, ExportStatus
from .models import DataExport
from .package import collect, write_zip

logger = logging.getLogger(__name__)

TARGET_TYPE = "subject_access.dataexport"
STORAGE_KIND = "exports"
# Up to this size the ZIP is built in memory; beyond, in an unlinked temporary file.
SPOOL_MAX_BYTES = 8 * 1024 * 1024


def valid_days() -> int:
    """How long a finished copy can be downloaded (DATA_EXPORT_VALID_DAYS, at least 1)."""
    return max(1, int(getattr(settings, "DATA_EXPORT_VALID_DAYS", 7)))


def _enqueue_build(export_id: str) -> None:
    from .tasks import data_export_build_task

    data_export_build_task.enqueue(export_id)


def _enqueue_expiry(export_id: str, run_after: datetime.datetime) -> None:
    from django_tasks import task_backends

    from .tasks import data_export_expire_task

    if task_backends[data_export_expire_task.backend].supports_defer:
        data_export_expire_task.using(run_after=run_after).enqueue(export_id)


def data_export_request(
    *, actor: Any, client: Client, request: HttpRequest | None = None
) -> DataExport:
    """Ask for a copy of everything stored about `client`; it is made by a background job.
    While one is still being made, asking again returns that one (no second job)."""
    if not permissions.can_request_data_export(user=actor, client=client):
        raise PermissionDeniedError(_("You cannot ask for a copy of this client's data."))
    channel = ExportChannel.PORTAL if getattr(actor, "is_client", False) else ExportChannel.STAFF
    with transaction.atomic():
        pending = (
            DataExport.objects.select_for_update(of=("self",))
            .filter(
                client=client,
                channel=channel,
                status__in=[ExportStatus.QUEUED, ExportStatus.BUILDING],
            )
            .first()
        )
        if pending is not None:
            return pending
        export = DataExport.objects.create(client=client, requested_by=actor, channel=channel)
        audit_record(
            actor=actor,
            action="data_export.create",
            target_type=TARGET_TYPE,
            target_id=str(export.pk),
            client_id=client.pk,
            request=request,
        )
        transaction.on_commit(partial(_enqueue_build, str(export.pk)))
    return export


def _set_progress(export_id: uuid.UUID, percent: int) -> None:
    DataExport.objects.filter(pk=export_id).update(progress=min(max(percent, 0), 100))


def data_export_build(*, export_id: str | uuid.UUID) -> str:
    """Make the ZIP, encrypt it with its own data key into the documents storage, and open
    the link for DATA_EXPORT_VALID_DAYS. Returns the new status. Runs in the worker."""
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update(of=("self",))
            .select_related("client", "client__user")
            .filter(pk=export_id)
            .first()
        )
        if export is None or export.status != ExportStatus.QUEUED:
            return export.status if export is not None else "missing"
        export.status = ExportStatus.BUILDING
        export.started_at = timezone.now()
        export.progress = 1
        export.save(update_fields=["status", "started_at", "progress"])
    step = partial(_set_progress, export.pk)
    name = ""
    try:
        # The whole copy speaks the client's language (labels in data.json, the index page).
        with translation.override(export.client.preferred_language or settings.LANGUAGE_CODE):
            package = collect(export.client, progress=step)
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES) as spool:
                write_zip(package, spool, progress=step)
                spool.seek(0)
                data = spool.read()
        data_key = storage_crypto.new_data_key()
        wrapped, key_id = storage_crypto.wrap_key(data_key)
        name = storage_crypto.blob_write(data, data_key=data_key, kind=STORAGE_KIND)
    except Exception:
        # Whatever broke (a storage outage, a bug), the client sees "could not be made" and
        # may ask again; nothing half-made stays behind.
        logger.exception("Data export %s could not be made", export.pk)
        if name:
            storage_crypto.blob_delete(name)
        with transaction.atomic():
            DataExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, progress=0)
            audit_record(
                actor=None,
                action="data_export.failed",
                target_type=TARGET_TYPE,
                target_id=str(export.pk),
                client_id=export.client_id,
            )
        return ExportStatus.FAILED
    now = timezone.now()
    expires_at = now + datetime.timedelta(days=valid_days())
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.READY,
            progress=100,
            ready_at=now,
            expires_at=expires_at,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_name=name,
            wrapped_key=wrapped,
            key_id=key_id,
        )
        audit_record(
            actor=None,
            action="data_export.ready",
            target_type=TARGET_TYPE,
            target_id=str(export.pk),
            client_id=export.client_id,
        )
        transaction.on_commit(partial(_enqueue_expiry, str(export.pk), expires_at), robust=True)
    return ExportStatus.READY


def data_export_read(
    *, actor: Any, export: DataExport, request: HttpRequest | None = None
) -> bytes:
    """The decrypted ZIP for a download, audited. Raises ApplicationError once expired."""
    if not permissions.can_read_data_export(user=actor, export=export):
        raise PermissionDeniedError(_("You cannot download this copy."))
    export.refresh_from_db()
    if not export.is_ready or not export.storage_name:
        raise ApplicationError(
            _("This download link has expired. You can ask for a new copy at any time.")
        )
    data_key = storage_crypto.unwrap_key(bytes(export.wrapped_key or b""), export.key_id)
    try:
        data = storage_crypto.blob_read(export.storage_name, data_key=data_key)
    except (storage_crypto.DecryptionError, OSError) as error:
        logger.exception("Data export %s could not be read", export.pk)
        raise ApplicationError(
            _("The copy could not be read. Please ask for a new one, or tell us.")
        ) from error
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(downloaded_at=timezone.now())
        audit_record(
            actor=actor,
            action="data_export.download",
            target_type=TARGET_TYPE,
            target_id=str(export.pk),
            client_id=export.client_id,
            request=request,
        )
    return data


def _expire(export: DataExport, now: datetime.datetime) -> None:
    """Delete the file and its key. The row stays as the record that a copy was given."""
    name = export.storage_name
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.EXPIRED,
            deleted_at=now,
            storage_name="",
            wrapped_key=None,
            key_id="",
        )
        audit_record(
            actor=None,
            action="data_export.expire",
            target_type=TARGET_TYPE,
            target_id=str(export.pk),
            client_id=export.client_id,
        )
        if name:
            transaction.on_commit(partial(storage_crypto.blob_delete, name), robust=True)


def data_export_expire(*, export_id: str | uuid.UUID, now: datetime.datetime | None = None) -> bool:
    """Expire one copy if its time has come (the deferred job of each copy); True if it did."""
    now = now or timezone.now()
    export = DataExport.objects.filter(
        pk=export_id, status=ExportStatus.READY, expires_at__lte=now
    ).first()
    if export is None:
        return False
    _expire(export, now)
    return True


def data_exports_expire(*, now: datetime.datetime | None = None) -> int:
    """Expire every copy whose link has run out; returns how many. Run by each worker at
    start and by `manage.py data_exports_expire`, as a net under the per-copy job."""
    now = now or timezone.now()
    due = DataExport.objects.filter(status=ExportStatus.READY, expires_at__lte=now)
    count = 0
    for export in due.order_by("expires_at"):
        _expire(export, now)
        count += 1
    return count
