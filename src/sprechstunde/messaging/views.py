"""Conversation pages for staff and for the client portal.

Both work without JavaScript: the page lists the messages and the form posts one (its
hidden `client_msg_id`, made at render time, keeps a double submit from storing twice).
chat.js enhances the same page with the websocket. Outside the rules every page is a 404.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import ngettext
from django.views import View

from sprechstunde.accounts.role_pages import CASELOAD_ROLES, CLIENT_ONLY
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import file_checks
from sprechstunde.documents import selectors as document_selectors
from sprechstunde.documents import services as document_services

from . import permissions, selectors, services
from .choices import MESSAGE_MAX_ATTACHMENTS, MESSAGE_MAX_LENGTH
from .forms import MessageForm
from .frames import ATTACHMENT_PROCESSING, attachment_state, sender_name
from .models import Conversation, Message

EARLIER_PARAMETER = "vor"
INBOX_PAGE_SIZE = 50


class CaseloadStaffMixin(LoginRequiredMixin):
    """Case managers and team leads; everybody else gets 404."""

    page_roles = CASELOAD_ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not client_permissions.is_caseload_staff(user=user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class InboxView(LoginRequiredMixin, View):
    """'Nachrichten': every conversation of the caseload, newest first, with unread counts.
    A client who lands here is sent to their own conversation."""

    page_roles = CASELOAD_ROLES

    def get(self, request: HttpRequest) -> HttpResponse:
        if client_permissions.is_client_user(user=request.user):
            return redirect("messaging:portal")
        if not client_permissions.is_caseload_staff(user=request.user):
            raise Http404
        conversations = selectors.conversation_list_for_user(user=request.user, request=request)
        page = Paginator(conversations, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "messaging/inbox.html", {"page": page})


def _earlier_than(request: HttpRequest) -> int | None:
    value = request.GET.get(EARLIER_PARAMETER, "")
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) or None


def _decorate(messages: list[Message], *, viewer: Any, positions: Any) -> None:
    """What each line shows: whose it is, the sender's name, and the read receipt."""
    side = permissions.side_of(user=viewer)
    other = side.other
    for message in messages:
        message.is_ours = message.sender_side == side  # type: ignore[attr-defined]
        message.is_own = message.sender_id == viewer.pk  # type: ignore[attr-defined]
        message.shown_sender = sender_name(message)  # type: ignore[attr-defined]
        message.is_read = positions.of(other) >= message.sequence  # type: ignore[attr-defined]
        for attachment in message.attachments.all():
            attachment.state = attachment_state(attachment)  # type: ignore[attr-defined]


def conversation_page(
    request: HttpRequest,
    conversation: Conversation,
    *,
    portal: bool,
    form: MessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a conversation for the logged-in user; the latest page marks it as read."""
    user = request.user
    before = _earlier_than(request)
    messages = selectors.message_list_for_conversation(
        conversation=conversation, viewer=user, before_sequence=before
    )
    latest_shown = messages[-1].sequence if messages else 0
    if before is None and latest_shown:
        services.conversation_mark_read(
            conversation=conversation, reader=user, sequence=latest_shown, request=request
        )
    positions = selectors.read_positions(conversation=conversation, viewer=user)
    _decorate(messages, viewer=user, positions=positions)
    can_write = permissions.can_write_conversation(user=user, conversation=conversation)
    client = conversation.client
    context = {
        "conversation": conversation,
        "client": client,
        "portal": portal,
        "messages_shown": messages,
        "first_shown": messages[0].sequence if messages else 0,
        "has_earlier": bool(messages) and messages[0].sequence > 1,
        "is_latest": before is None,
        "last_shown": latest_shown,
        "positions": positions,
        "side": permissions.side_of(user=user).value,
        "can_write": can_write,
        "client_uses_portal": portal or permissions.client_uses_portal(client=client),
        "form": form if form is not None else MessageForm(),
        "max_length": MESSAGE_MAX_LENGTH,
        "max_attachments": MESSAGE_MAX_ATTACHMENTS,
        "max_attachment_bytes": file_checks.limits()["max_bytes"],
        "chunk_bytes": settings.DOCUMENT_UPLOAD_CHUNK_BYTES,
        "upload_session_url": reverse("documents:upload_session_create"),
        "attachment_states_url": reverse(
            "messaging:attachment_states", kwargs={"conversation_pk": conversation.pk}
        ),
        "ws_path": f"/ws/nachrichten/{conversation.pk}/",
        "earlier_parameter": EARLIER_PARAMETER,
    }
    return render(request, "messaging/conversation.html", context, status=status)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _uploads_from_form(request: HttpRequest, client: Any) -> list[str]:
    """Files posted with the form (no JavaScript) become finished uploads of the documents
    app, the same as chat.js makes in chunks; returns their ids in the order chosen."""
    files = [upload for upload in request.FILES.getlist("attachment_files") if upload.size]
    if len(files) > MESSAGE_MAX_ATTACHMENTS:
        raise ApplicationError(
            ngettext(
                "At most %(count)s attachment per message, please.",
                "At most %(count)s attachments per message, please.",
                MESSAGE_MAX_ATTACHMENTS,
            )
            % {"count": MESSAGE_MAX_ATTACHMENTS}
        )
    ids: list[str] = []
    try:
        for upload in files:
            session = document_services.upload_session_create(
                owner=request.user,
                client=client,
                original_name=str(upload.name or ""),
                expected_size=int(upload.size or 0),
            )
            ids.append(session.pk)
            offset = 0
            # In the pieces a resumable upload takes (it refuses much larger ones). Read in
            # slices ourselves: Django hands back a file kept in memory (up to 2.5 MB) as one
            # chunk whatever chunk_size asks for.
            upload.seek(0)
            while piece := upload.read(settings.DOCUMENT_UPLOAD_CHUNK_BYTES):
                offset = document_services.upload_chunk_append(
                    session=session, offset=offset, stream=io.BytesIO(piece)
                )
    except Exception:
        _uploads_drop(request, ids)
        raise
    return ids


def _uploads_drop(request: HttpRequest, ids: list[str]) -> None:
    for upload_id in ids:
        session = document_selectors.upload_session_for_user(user=request.user, pk=upload_id)
        if session is not None:
            document_services.upload_session_abort(session=session)


def conversation_post(
    request: HttpRequest, conversation: Conversation, *, portal: bool, success_url: str
) -> HttpResponse:
    """Store a message, then show the page again (PRG). Without JavaScript the form carries
    the text and any attached files; chat.js posts here (asking for JSON) only for messages
    with attachments, after it has sent their files in chunks (`attachment_ids`)."""
    form = MessageForm(request.POST)
    upload_ids = [value for value in request.POST.getlist("attachment_ids") if value]
    form_uploads: list[str] = []
    if form.is_valid():
        try:
            if not upload_ids:
                form_uploads = _uploads_from_form(request, conversation.client)
            message = services.message_send(
                conversation=conversation,
                sender=request.user,
                body=form.cleaned_data["body"],
                client_msg_id=form.cleaned_data["client_msg_id"],
                attachment_upload_ids=upload_ids[: MESSAGE_MAX_ATTACHMENTS + 1] or form_uploads,
                request=request,
            )
        except PermissionDeniedError as error:
            _uploads_drop(request, form_uploads)
            raise Http404 from error
        except ApplicationError as error:
            # Files posted with the form are sent again with the form; keep nothing of them.
            _uploads_drop(request, form_uploads)
            field = error.field if error.field == "body" else None
            form.add_error(field, str(error.message))
        else:
            if _wants_json(request):
                return JsonResponse({"sequence": message.sequence}, status=201)
            return redirect(f"{success_url}#neu")
    if _wants_json(request):
        errors = [str(error) for errors in form.errors.values() for error in errors]
        return JsonResponse({"error": " ".join(errors)}, status=400)
    return conversation_page(request, conversation, portal=portal, form=form, status=400)


class ClientConversationView(CaseloadStaffMixin, View):
    """Staff: the conversation with one client (linked from the client's page)."""

    def _conversation(
        self, request: HttpRequest, client_pk: int, *, action: str | None
    ) -> Conversation:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        conversation = services.conversation_get_or_create(client=client)
        found = selectors.conversation_get_for_user(
            user=request.user, pk=conversation.pk, request=request, action=action
        )
        if found is None:
            raise Http404
        return found

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        conversation = self._conversation(request, client_pk, action="conversation.view")
        return conversation_page(request, conversation, portal=False)

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        # The send itself is audited ("message.send"); a failed send re-renders the page.
        conversation = self._conversation(request, client_pk, action=None)
        return conversation_post(request, conversation, portal=False, success_url=request.path)


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalConversationView(View):
    """The client: 'Nachrichten' with their case manager."""

    page_roles = CLIENT_ONLY

    def _conversation(self, request: HttpRequest, *, action: str | None) -> Conversation:
        client, _purposes = client_permissions.portal_state(request)
        conversation = services.conversation_get_or_create(client=client)
        found = selectors.conversation_get_for_user(
            user=request.user, pk=conversation.pk, request=request, action=action
        )
        if found is None:
            raise Http404
        return found

    def get(self, request: HttpRequest) -> HttpResponse:
        conversation = self._conversation(request, action="conversation.view")
        return conversation_page(request, conversation, portal=True)

    def post(self, request: HttpRequest) -> HttpResponse:
        conversation = self._conversation(request, action=None)
        return conversation_post(request, conversation, portal=True, success_url=request.path)


class AttachmentStatesView(LoginRequiredMixin, View):
    """JSON for chat.js: the current state of some attachments of one conversation, each as
    the same HTML the page renders (in the reader's language), while any is still being
    checked. The documents app does not know about messages, so there is no push when its
    processing ends; chat.js asks here with a growing pause until all have settled."""

    def get(self, request: HttpRequest, conversation_pk: int) -> JsonResponse:
        conversation = selectors.conversation_get_for_user(
            user=request.user, pk=conversation_pk, request=request, action=None
        )
        if conversation is None:
            raise Http404
        if client_permissions.is_client_user(user=request.user) and not (
            permissions.client_uses_portal(client=conversation.client)
        ):
            raise Http404
        ids = [
            int(value)
            for value in request.GET.getlist("id")[: selectors.ATTACHMENT_POLL_LIMIT]
            if value.isascii() and value.isdigit() and len(value) < 18
        ]
        try:
            attachments = selectors.attachment_list_for_user(
                user=request.user, conversation=conversation, ids=ids, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        answer = []
        for attachment in attachments:
            attachment.state = attachment_state(attachment)  # type: ignore[attr-defined]
            answer.append(
                {
                    "id": attachment.pk,
                    "state": attachment.state,  # type: ignore[attr-defined]
                    "settled": attachment.state != ATTACHMENT_PROCESSING,  # type: ignore[attr-defined]
                    "html": render_to_string(
                        "messaging/includes/attachment.html",
                        {"attachment": attachment},
                        request=request,
                    ),
                }
            )
        return JsonResponse({"attachments": answer})
