"""The trail page and its CSV export, for admins and data-protection officers only."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.role_pages import is_role_page_request, other_role_response

from . import actions
from .actions import action_label
from .forms import AuditFilterForm
from .models import AuditEntry
from .permissions import can_read_audit_trail
from .selectors import audit_entry_list
from .services import audit_denial_windows_close, audit_record

PAGE_SIZE = 50
TRAIL_TARGET_TYPE = "audit.auditentry"
# Spreadsheet programs run cells that start like a formula; such cells get a leading quote.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AuditTrailAccessMixin(LoginRequiredMixin):
    """Anonymous users go to the login; everybody but admins and DPOs gets the page that says
    who uses it (ADR 0061), logged."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_read_audit_trail(user=request.user):
            audit_record(
                actor=request.user,
                action="audit.access_denied",
                target_type=TRAIL_TARGET_TYPE,
                request=request,
            )
            if is_role_page_request(request, kwargs):
                return other_role_response(
                    request, roles=[Role.ADMIN, Role.DATA_PROTECTION_OFFICER]
                )
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class AuditListView(AuditTrailAccessMixin, View):
    """The filtered trail, newest first, 50 to a page. Each view is itself recorded."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = AuditFilterForm(request.GET)
        page_obj = None
        if form.is_valid():
            filters = form.filters()
            # Refusals counted in minutes that are over get their summary entries first.
            audit_denial_windows_close()
            audit_record(
                actor=request.user,
                action=actions.VIEW,
                target_type=TRAIL_TARGET_TYPE,
                client_id=filters["client_id"],
                request=request,
            )
            page_obj = Paginator(audit_entry_list(**filters), PAGE_SIZE).get_page(
                request.GET.get("page")
            )
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "audit/list.html",
            {
                "form": form,
                "page_obj": page_obj,
                "export_query": query.urlencode(),
                "action_suggestions": actions.action_suggestions(),
            },
        )


class AuditExportView(AuditTrailAccessMixin, View):
    """The filtered trail as a CSV file (all matching rows, not one page). Recorded too."""

    COLUMNS = (
        "sequence",
        "time",
        "actor_id",
        "actor",
        "action",
        "action_label",
        "object_type",
        "object_id",
        "client_id",
        "ip_address",
        "previous_hash",
        "entry_hash",
        "repeat_count",
    )

    def get(self, request: HttpRequest) -> HttpResponseBase:
        form = AuditFilterForm(request.GET)
        if not form.is_valid():
            # The trail page shows the same form with its errors.
            return redirect(f"{reverse('audit:list')}?{request.GET.urlencode()}")
        filters = form.filters()
        audit_denial_windows_close()
        audit_record(
            actor=request.user,
            action=actions.EXPORT,
            target_type=TRAIL_TARGET_TYPE,
            client_id=filters["client_id"],
            request=request,
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            _csv_stream(self.COLUMNS, filters), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


# Rows per database read while the export streams: the file is never held in memory whole.
EXPORT_CHUNK_ROWS = 2000


async def _csv_stream(columns: tuple[str, ...], filters: dict[str, Any]) -> AsyncIterator[str]:
    """The CSV text, a chunk at a time (an async iterator: under ASGI Django would gather a
    sync iterator whole before sending). Chunks follow the sequence downwards from the
    newest matching entry at the first read, so entries written meanwhile do not shift it."""
    yield _csv_text([columns])
    before: int | None = None
    while True:
        text, before = await sync_to_async(_csv_chunk)(filters, before)
        if text:
            yield text
        if before is None:
            return


def _csv_chunk(filters: dict[str, Any], before: int | None) -> tuple[str, int | None]:
    """One chunk of rows below sequence `before`, and where the next starts (None: done)."""
    entries = audit_entry_list(**filters)
    if before is not None:
        entries = entries.filter(sequence__lt=before)
    chunk = list(entries[:EXPORT_CHUNK_ROWS])
    text = _csv_text([_safe_cell(value) for value in _csv_row(entry)] for entry in chunk)
    more = len(chunk) == EXPORT_CHUNK_ROWS
    return text, (chunk[-1].sequence if more else None)


def _csv_text(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return buffer.getvalue()


def _csv_row(entry: AuditEntry) -> list[object]:
    return [
        entry.sequence,
        timezone.localtime(entry.at).isoformat(),
        "" if entry.actor_id is None else entry.actor_id,
        entry.actor_label,
        entry.action,
        action_label(entry.action),
        entry.target_type,
        entry.target_id,
        "" if entry.client_id is None else entry.client_id,
        entry.ip_address or "",
        entry.previous_hash,
        entry.entry_hash,
        entry.repeat_count,
    ]


def _safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return f"'{value}"
    return value
