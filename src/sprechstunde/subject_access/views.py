"""Pages of the copies of a client's data: the client's "Meine Daten" page, the staff page
of one client (for a request by post), and one copy's progress and download."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients.models import Client
from sprechstunde.clients.permissions import ConsentRequiredMixin
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from . import selectors, services
from .choices import ExportChannel
from .models import DataExport


class PortalExportView(ConsentRequiredMixin, View):
    """'Meine Daten': what a copy holds, the button to ask for one, earlier copies."""

    def _client(self, request: HttpRequest) -> Client:
        client, _purposes = client_permissions.portal_state(request)
        return client

    def get(self, request: HttpRequest) -> HttpResponse:
        client = self._client(request)
        exports = selectors.data_exports_for_client(client=client, channel=ExportChannel.PORTAL)
        return render(
            request,
            "subject_access/portal.html",
            {"client": client, "exports": exports[:10], "valid_days": services.valid_days()},
        )

    def post(self, request: HttpRequest) -> HttpResponseBase:
        client = self._client(request)
        try:
            export = services.data_export_request(
                actor=request.user, client=client, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        return HttpResponseRedirect(reverse("subject_access:detail", args=[export.pk]))


class StaffExportView(LoginRequiredMixin, View):
    """Staff: a client's copies, and a new one for a request by post or in person."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not client_permissions.is_caseload_staff(user=user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def _client(self, request: HttpRequest, client_pk: int) -> Client:
        return client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self._client(request, client_pk)
        return render(
            request,
            "subject_access/staff.html",
            {
                "client": client,
                "exports": selectors.data_exports_for_client(client=client)[:20],
                "valid_days": services.valid_days(),
            },
        )

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponseBase:
        client = self._client(request, client_pk)
        try:
            export = services.data_export_request(
                actor=request.user, client=client, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        return HttpResponseRedirect(reverse("subject_access:detail", args=[export.pk]))


def _is_client(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_client", False))


def _back_url(request: HttpRequest, export: DataExport) -> str:
    """Where "ask again" and "back" lead: the client's page, or the client's page for staff."""
    if _is_client(request):
        return reverse("subject_access:portal")
    return reverse("subject_access:client", args=[export.client_id])


class _ExportMixin(LoginRequiredMixin):
    def get_export(self, request: HttpRequest, pk: Any) -> DataExport:
        return selectors.data_export_get_for_user(user=request.user, pk=pk, request=request)


def _state(export: DataExport) -> dict[str, Any]:
    return {
        "status": export.status,
        "status_label": str(export.get_status_display()),
        "progress": export.progress,
        "ready": export.is_ready,
        "download_url": (
            reverse("subject_access:download", args=[export.pk]) if export.is_ready else ""
        ),
    }


class ExportDetailView(_ExportMixin, View):
    """One copy: progress while it is made, then the download link and until when it works."""

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        export = self.get_export(request, pk)
        return render(
            request,
            "subject_access/detail.html",
            {
                "export": export,
                "client": export.client,
                "is_client": _is_client(request),
                "retry_url": _back_url(request, export),
            },
        )


class ExportStateView(_ExportMixin, View):
    """The copy's state as JSON, for the progress page's script (progress.js)."""

    def get(self, request: HttpRequest, pk: Any) -> JsonResponse:
        return JsonResponse(_state(self.get_export(request, pk)))


class ExportDownloadView(_ExportMixin, View):
    """The ZIP, decrypted, as an attachment; after expiry a page that says so (410)."""

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        export = self.get_export(request, pk)
        try:
            data = services.data_export_read(actor=request.user, export=export, request=request)
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            return render(
                request,
                "subject_access/detail.html",
                {
                    "export": export,
                    "client": export.client,
                    "is_client": _is_client(request),
                    "error": error.message,
                    "retry_url": _back_url(request, export),
                },
                status=410,
            )
        day = timezone.localdate(export.ready_at or timezone.now()).isoformat()
        name = f"{gettext('my-data')}-{day}.zip"
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
