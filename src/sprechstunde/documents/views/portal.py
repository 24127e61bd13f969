"""The client's pages: 'Meine Dokumente', the upload page and the open requests."""

from __future__ import annotations

from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View

from sprechstunde.accounts.role_pages import CLIENT_ONLY
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose

from .. import selectors
from ..choices import RequestStatus
from .common import portal_consent, upload_url_for_request
from .uploads import UploadPage


@portal_consent
class PortalDocumentsView(View):
    """The client: 'Meine Dokumente', what they sent and its state, and the upload button."""

    page_roles = CLIENT_ONLY

    def get(self, request: HttpRequest) -> HttpResponse:
        client, _purposes = client_permissions.portal_state(request)
        documents = list(selectors.document_list_for_client(client=client, viewer=request.user))
        return render(
            request,
            "documents/portal_list.html",
            {"client": client, "documents": documents, "portal": True},
        )


@portal_consent
class PortalUploadView(UploadPage):
    page_roles = CLIENT_ONLY

    portal = True


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalRequestsView(View):
    """The client: what the Jobcenter asks them to send, by when, with a link to send it."""

    page_roles = CLIENT_ONLY

    def get(self, request: HttpRequest) -> HttpResponse:
        client, _purposes = client_permissions.portal_state(request)
        requests = list(
            selectors.document_requests_for_user(user=request.user, client=client, request=request)
        )
        open_requests = [item for item in requests if item.status == RequestStatus.OPEN]
        for item in open_requests:
            item.upload_url = upload_url_for_request(item.pk)  # type: ignore[attr-defined]
        done = [item for item in requests if item.status != RequestStatus.OPEN]
        return render(
            request,
            "documents/requests/portal_list.html",
            {
                "client": client,
                "open_requests": open_requests,
                "done_requests": done[:20],
                "today": timezone.localdate(),
            },
        )
