"""Reads of copies of a client's data, access-checked."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client

from . import permissions
from .choices import ExportChannel
from .models import DataExport

TARGET_TYPE = "subject_access.dataexport"


def data_export_get_for_user(
    *, user: Any, pk: uuid.UUID | str, request: HttpRequest | None = None
) -> DataExport:
    """One copy `user` may read; anything else raises Http404 and leaves a
    "data_export.access_denied" entry (naming the client when the copy exists)."""
    export = DataExport.objects.select_related("client", "client__user").filter(pk=pk).first()
    if export is None or not permissions.can_read_data_export(user=user, export=export):
        audit_record(
            actor=user,
            action="data_export.access_denied",
            target_type=TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=export.client_id if export is not None else None,
            request=request,
        )
        raise Http404
    return export


def data_exports_for_client(
    *, client: Client, channel: ExportChannel | None = None
) -> QuerySet[DataExport]:
    """The client's copies, newest first (the caller has checked access to the client)."""
    exports = DataExport.objects.filter(client=client)
    if channel is not None:
        exports = exports.filter(channel=channel)
    return exports.order_by("-created_at")
