"""Conversation pages for staff and for the client portal.

Both work without JavaScript: the page lists the messages and the form posts one (its
hidden `client_msg_id`, made at render time, keeps a double submit from storing twice).
chat.js enhances the same page with the websocket. Outside the rules every page is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from . import permissions, selectors, services
from .choices import MESSAGE_MAX_LENGTH
from .forms import MessageForm
from .frames import sender_name
from .models import Conversation, Message

EARLIER_PARAMETER = "vor"
INBOX_PAGE_SIZE = 50


class CaseloadStaffMixin(LoginRequiredMixin):
    """Case managers and team leads; everybody else gets 404."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not client_permissions.is_caseload_staff(user=user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class InboxView(LoginRequiredMixin, View):
    """'Nachrichten': every conversation of the caseload, newest first, with unread counts.
    A client who lands here is sent to their own conversation."""

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
        "ws_path": f"/ws/nachrichten/{conversation.pk}/",
        "earlier_parameter": EARLIER_PARAMETER,
    }
    return render(request, "messaging/conversation.html", context, status=status)


def conversation_post(
    request: HttpRequest, conversation: Conversation, *, portal: bool, success_url: str
) -> HttpResponse:
    """The form without JavaScript: store the message, then show the page again (PRG)."""
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            services.message_send(
                conversation=conversation,
                sender=request.user,
                body=form.cleaned_data["body"],
                client_msg_id=form.cleaned_data["client_msg_id"],
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            field = error.field if error.field == "body" else None
            form.add_error(field, str(error.message))
        else:
            return redirect(f"{success_url}#neu")
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
