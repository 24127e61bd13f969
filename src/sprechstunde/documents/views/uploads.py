"""The upload page (the client's, and staff uploading for a client) and the small JSON API for
resumable uploads used by upload.js.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import file_checks, permissions, selectors, services
from ..forms import DocumentUploadForm
from ..models import DocumentRequest, UploadSession
from .common import client_for, open_request_for, wants_json


class UploadPage(View):
    """Upload for one client: several photos (page order adjustable) or one PDF.

    Without JavaScript the form posts the files; with upload.js each file goes in chunks to
    an upload session first, and the form then posts their ids in page order.
    """

    portal = True

    def _render(
        self,
        request: HttpRequest,
        client: Client,
        form: DocumentUploadForm,
        *,
        document_request: DocumentRequest | None,
        error: str = "",
        status: int = 200,
    ) -> HttpResponse:
        if wants_json(request) and request.method == "POST":
            return JsonResponse({"error": error or _("Please check the form.")}, status=status)
        limits = file_checks.limits()
        return render(
            request,
            "documents/upload.html",
            {
                "client": client,
                "portal": self.portal,
                "form": form,
                "error": error,
                "document_request": document_request,
                "accept": "image/*,application/pdf",
                "max_bytes": limits["max_bytes"],
                "max_files": limits["max_files"],
                "max_pages": limits["max_pages"],
                "chunk_bytes": settings.DOCUMENT_UPLOAD_CHUNK_BYTES,
                "batch": secrets.token_urlsafe(16),
                "session_url": reverse("documents:upload_session_create"),
                "back_url": reverse("documents:portal")
                if self.portal
                else reverse("documents:client_documents", kwargs={"client_pk": client.pk}),
            },
            status=status,
        )

    def get(self, request: HttpRequest, client_pk: int | None = None) -> HttpResponse:
        client = client_for(request, client_pk)
        if not permissions.can_upload_for_client(user=request.user, client=client):
            raise Http404
        document_request = open_request_for(request, client, request.GET.get("request"))
        return self._render(
            request,
            client,
            DocumentUploadForm(
                initial={"title": document_request.title if document_request else ""}
            ),
            document_request=document_request,
        )

    def post(self, request: HttpRequest, client_pk: int | None = None) -> HttpResponse:
        client = client_for(request, client_pk)
        if not permissions.can_upload_for_client(user=request.user, client=client):
            raise Http404
        form = DocumentUploadForm(request.POST)
        document_request = open_request_for(request, client, request.POST.get("request"))
        files = request.FILES.getlist("files")
        upload_ids = [value for value in request.POST.getlist("upload_ids") if value][:500]
        if not form.is_valid():
            return self._render(
                request, client, form, document_request=document_request, status=400
            )
        try:
            if upload_ids:
                document = services.document_upload_complete(
                    uploader=request.user,
                    client=client,
                    session_ids=upload_ids,
                    title=form.cleaned_data["title"],
                    document_request=document_request,
                    request=request,
                )
            else:
                received = _save_form_files(files)
                document = services.document_create(
                    uploader=request.user,
                    client=client,
                    files=received,
                    title=form.cleaned_data["title"],
                    document_request=document_request,
                    request=request,
                )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            return self._render(
                request,
                client,
                form,
                document_request=document_request,
                error=str(error.message),
                status=_status_for(error),
            )
        url = reverse("documents:detail", kwargs={"pk": document.pk})
        if wants_json(request):
            return JsonResponse({"url": url}, status=201)
        return redirect(url)


def _status_for(error: ApplicationError) -> int:
    """507 when the disk is full, 503 when the storage is down (in both cases the uploads
    stay, and sending again later works), else 400."""
    if isinstance(error, services.DocumentStorageFull):
        return 507
    if isinstance(error, services.DocumentStorageUnavailable):
        return 503
    return 400


def _save_form_files(files: list[Any]) -> list[services.ReceivedFile]:
    """Form uploads to local files (named by random ids), like finished upload sessions."""
    if len(files) > settings.DOCUMENT_MAX_FILES:
        raise file_checks.FileRefused(
            _("Too many files at once: at most %(count)d, please.")
            % {"count": settings.DOCUMENT_MAX_FILES}
        )
    received: list[services.ReceivedFile] = []
    written: list[Path] = []
    folder = services.upload_dir()
    try:
        for upload in files:
            if upload.size > settings.DOCUMENT_MAX_BYTES:
                raise file_checks.FileRefused(file_checks.too_large_message())
            path = folder / f"form-{secrets.token_urlsafe(24)}.part"
            written.append(path)
            with path.open("xb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            received.append(services.ReceivedFile(path=path, name=str(upload.name or "")))
    except OSError as error:
        # Nothing half-stored stays: the file cut short by a full disk goes too.
        services.uploads._discard_files(written)
        if services.uploads.storage_is_full(error):
            raise services.DocumentStorageFull from error
        raise
    except Exception:
        services.uploads._discard_files(written)
        raise
    return received


class UploadSessionCreateView(LoginRequiredMixin, View):
    """JSON: start a resumable upload (name, size, batch, position; staff also `client`)."""

    def post(self, request: HttpRequest) -> JsonResponse:
        client_value = request.POST.get("client", "")
        if client_permissions.is_client_user(user=request.user):
            client = client_permissions.client_profile_of(user=request.user)
        elif client_value.isascii() and client_value.isdigit() and len(client_value) < 18:
            client = (
                client_permissions.clients_visible_to(user=request.user)
                .filter(pk=int(client_value))
                .first()
            )
        else:
            client = None
        if client is None:
            raise Http404
        size_value = request.POST.get("size", "")
        position = request.POST.get("position", "0")
        if not (size_value.isascii() and size_value.isdigit()) or len(size_value) > 15:
            return JsonResponse({"error": _("The upload could not be started.")}, status=400)
        try:
            session = services.upload_session_create(
                owner=request.user,
                client=client,
                original_name=request.POST.get("name", "")[:500],
                expected_size=int(size_value),
                batch=request.POST.get("batch", "")[:43],
                position=int(position) if position.isascii() and position.isdigit() else 0,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except services.UploadLimitReached as error:
            # 429: upload.js shows the message and does not retry (it retries only 5xx).
            return JsonResponse({"error": str(error.message)}, status=429)
        except ApplicationError as error:
            return JsonResponse({"error": str(error.message)}, status=400)
        return JsonResponse(
            {
                "id": session.pk,
                "offset": 0,
                "chunk_size": settings.DOCUMENT_UPLOAD_CHUNK_BYTES,
                "url": reverse("documents:upload_session", kwargs={"session_id": session.pk}),
            },
            status=201,
        )


class UploadSessionView(LoginRequiredMixin, View):
    """JSON: where an upload stands (GET), the next chunk (PUT with Upload-Offset), or
    giving it up (DELETE). Only the owner reaches a session; anyone else gets 404."""

    def _session(self, request: HttpRequest, session_id: str) -> UploadSession:
        session = selectors.upload_session_for_user(user=request.user, pk=session_id)
        if session is None:
            raise Http404
        return session

    @staticmethod
    def _state(session: UploadSession) -> dict[str, Any]:
        return {
            "id": session.pk,
            "offset": session.received_size,
            "size": session.expected_size,
            "complete": session.received_size == session.expected_size,
        }

    def get(self, request: HttpRequest, session_id: str) -> JsonResponse:
        return JsonResponse(self._state(self._session(request, session_id)))

    def put(self, request: HttpRequest, session_id: str) -> JsonResponse:
        session = self._session(request, session_id)
        offset = request.headers.get("Upload-Offset", "")
        if not (offset.isascii() and offset.isdigit()) or len(offset) > 15:
            return JsonResponse({"error": _("The upload could not be continued.")}, status=400)
        try:
            services.upload_chunk_append(session=session, offset=int(offset), stream=request)
        except services.UploadOffsetMismatch as mismatch:
            return JsonResponse({"error": "offset", "offset": mismatch.offset}, status=409)
        except services.DocumentStorageUnavailable as error:
            # 503 (storage down) or 507 (disk full): upload.js tries the same chunk again a
            # few times before it shows this; the upload's offset has not moved.
            return JsonResponse({"error": str(error.message)}, status=_status_for(error))
        except ApplicationError as error:
            return JsonResponse({"error": str(error.message)}, status=400)
        return JsonResponse(self._state(session))

    def delete(self, request: HttpRequest, session_id: str) -> HttpResponse:
        services.upload_session_abort(session=self._session(request, session_id))
        return HttpResponse(status=204)
