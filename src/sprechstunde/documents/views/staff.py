"""Staff pages: upload for a client, a client's documents and requests (with the request form,
the e-file mark and the export), and the overdue requests of the whole caseload.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import permissions as document_permissions
from .. import selectors, services
from ..choices import RequestStatus, ScanStatus
from ..forms import DocumentRequestForm, EfileMarkForm
from .common import CaseloadStaffMixin, client_documents_url
from .uploads import UploadPage


class StaffUploadView(LoginRequiredMixin, UploadPage):
    portal = False


OVERDUE_PAGE_SIZE = 50


def client_documents_page(
    request: HttpRequest,
    client: Client,
    *,
    form: DocumentRequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """A client's documents and document requests, as staff see them."""
    user = request.user
    documents = list(selectors.document_list_for_staff(user=user, client=client, request=request))
    requests = list(selectors.document_requests_for_user(user=user, client=client, request=request))
    can_change = document_permissions.can_change_client_documents(user=user, client=client)
    exportable = sum(
        1 for item in documents if item.is_ready and item.scan_status == ScanStatus.CLEAN
    )
    context = {
        "client": client,
        "documents": documents,
        "requests": requests,
        "open_requests": [item for item in requests if item.status == RequestStatus.OPEN],
        "can_change": can_change,
        "can_upload": document_permissions.can_upload_for_client(user=user, client=client),
        "exportable_count": exportable,
        "form": form if form is not None else DocumentRequestForm(),
        "uses_portal": services.client_uses_portal(client=client),
        "today": timezone.localdate(),
    }
    return render(request, "documents/staff/client_documents.html", context, status=status)


class ClientDocumentsView(CaseloadStaffMixin, View):
    """Staff: one client's documents (status, virus check, e-file, the request each
    answers) and requests; the case manager asks for a document here."""

    def _client(self, request: HttpRequest, client_pk: int) -> Client:
        # The page's own reads are audited as lists; a refusal leaves client.access_denied.
        return client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        return client_documents_page(request, self._client(request, client_pk))

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self._client(request, client_pk)
        if not document_permissions.can_change_client_documents(user=request.user, client=client):
            raise Http404
        form = DocumentRequestForm(request.POST)
        if form.is_valid():
            try:
                services.document_request_create(
                    actor=request.user,
                    client=client,
                    title=form.cleaned_data["title"],
                    due_on=form.cleaned_data["due_on"],
                    note=form.cleaned_data["note"],
                    request=request,
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, str(error.message))
            else:
                messages.success(request, _("The document has been requested."))
                return redirect(f"{client_documents_url(client.pk)}#anforderungen")
        return client_documents_page(request, client, form=form, status=400)


class DocumentRequestCancelView(CaseloadStaffMixin, View):
    """Staff: withdraw an open request (POST only)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        found = selectors.document_request_get_for_user(
            user=request.user, pk=pk, request=request, action=None
        )
        if found is None:
            raise Http404
        try:
            services.document_request_cancel(
                actor=request.user, document_request=found, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The request has been withdrawn."))
        return redirect(f"{client_documents_url(found.client_id)}#anforderungen")


class EfileMarkView(CaseloadStaffMixin, View):
    """Staff: mark a document as taken into the e-file, or take the mark back (POST only)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = selectors.document_get_for_staff(user=request.user, pk=pk, request=request)
        if document is None:
            raise Http404
        back = f"{client_documents_url(document.client_id)}#dokument-{document.pk}"
        form = EfileMarkForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please use the buttons on the page."))
            return redirect(back)
        try:
            services.document_efile_mark(
                actor=request.user,
                document=document,
                in_efile=form.cleaned_data["in_efile"],
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            if form.cleaned_data["in_efile"]:
                messages.success(request, _("The document is marked as taken into the e-file."))
            else:
                messages.success(request, _("The e-file mark has been removed."))
        return redirect(back)


class ClientExportView(CaseloadStaffMixin, View):
    """Staff: download the client's checked documents as a ZIP with a manifest (POST, so
    that no link preview or crawler starts an export)."""

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponseBase:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        try:
            result = services.document_export_for_user(
                user=request.user, client=client, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return HttpResponseRedirect(client_documents_url(client.pk))
        response = FileResponse(
            result.file,
            as_attachment=True,
            filename=result.file_name,
            content_type=result.content_type,
        )
        response["Cache-Control"] = "no-store"
        return response


class OverdueRequestsView(CaseloadStaffMixin, View):
    """Staff: every open request past its due date, across the caseload they may see."""

    def get(self, request: HttpRequest) -> HttpResponse:
        overdue = selectors.document_requests_overdue_for_user(user=request.user, request=request)
        page = Paginator(overdue, OVERDUE_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "documents/staff/overdue.html", {"page": page})
