"""Staff pages of the e-file hand-over: what of a client is new for the e-file and the past
hand-overs; the xdomea message as a download (POST); withdrawing a hand-over (POST)."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.audit.services import audit_record
from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents.views.common import CaseloadStaffMixin

from . import selectors, services
from .permissions import can_hand_over


def _client(request: HttpRequest, client_pk: int) -> Client:
    """The client, if `request.user` may hand over their records; else 404."""
    client = client_selectors.client_get_for_user(
        user=request.user, pk=client_pk, request=request, record_view=False
    )
    if not can_hand_over(user=request.user, client=client):
        raise Http404
    return client


class ClientEfileView(CaseloadStaffMixin, View):
    """Staff: the records not yet in the e-file, matter by matter, and the hand-overs so far."""

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = _client(request, client_pk)
        try:
            pending = selectors.matters_pending(client=client)
        except ApplicationError as error:  # pragma: no cover - listing reads no files
            messages.error(request, str(error.message))
            pending = []
        audit_record(actor=request.user, action="efile.view", target=client, request=request)
        context = {
            "client": client,
            "pending": pending,
            "pending_count": sum(len(group.records) for group in pending),
            "handovers": selectors.handovers_for_client(client=client),
        }
        return render(request, "efile/client_efile.html", context)


class HandoverExportView(CaseloadStaffMixin, View):
    """Staff: download what is new as an xdomea 0401 message (ZIP); all of the client, or
    the matter named in `matter`. POST, so no link preview or crawler starts a hand-over."""

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponseBase:
        client = _client(request, client_pk)
        matter = request.POST.get("matter", "")[:40]
        back = request.POST.get("back") == "documents"
        try:
            result = services.efile_handover_for_user(
                user=request.user, client=client, matter=matter, request=request
            )
        except PermissionDeniedError as error:  # pragma: no cover - _client checked it
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            if back:
                return redirect("documents:client_documents", client_pk=client.pk)
            return redirect("efile:client", client_pk=client.pk)
        response = FileResponse(
            result.file,
            as_attachment=True,
            filename=result.file_name,
            content_type="application/zip",
        )
        response["Cache-Control"] = "no-store"
        return response


class HandoverWithdrawView(CaseloadStaffMixin, View):
    """Staff: the e-file never imported a hand-over; its records count as new again."""

    def post(self, request: HttpRequest, client_pk: int, pk: int) -> HttpResponse:
        client = _client(request, client_pk)
        handover = selectors.handover_get(client=client, pk=pk)
        if handover is None:
            raise Http404
        try:
            services.efile_handover_withdraw(actor=request.user, handover=handover, request=request)
        except PermissionDeniedError as error:  # pragma: no cover - _client checked it
            raise Http404 from error
        messages.success(
            request, _("The hand-over was withdrawn; its records will go with the next one.")
        )
        return redirect("efile:client", client_pk=client.pk)
