"""The chat websocket: ws/nachrichten/<conversation_id>/.

Frames from the browser (JSON objects):
  {"type": "send", "client_msg_id": "<uuid>", "body": "…"}  → stored, then
      {"type": "ack", "client_msg_id": "…", "sequence": N} to the sender, and
      {"type": "message", …} to everyone connected (the sender too, so other tabs see it)
  {"type": "sync", "after": N}  → {"type": "messages", "messages": […], "has_more": bool}
  {"type": "read", "sequence": N}  → {"type": "read", "side": "client"|"staff", …} to all
  {"type": "ping"}  → {"type": "pong", "last_sequence": N} (chat.js checks that a quiet socket
                     is still alive, and syncs when N is ahead of what it shows)
Anything else gets {"type": "error", "code": …} and the connection stays open; that includes
frames that are too large, nested too deep, not UTF-8 or not a JSON object
(core.websockets.json_frame_parse, which both websocket consumers use).

On connect the user is checked against the conversation; outside the access rules the
socket is accepted and at once closed with code 4403, so that chat.js knows not to retry.
Every frame checks that the login session still exists (else 4401); every ping checks the
access rules again (else 4403).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.models import User
from sprechstunde.accounts.selectors import user_has_second_factor
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.websockets import (
    ClosingJsonWebsocketConsumer,
    FrameError,
    json_frame_parse,
)

from . import frames, permissions, push, selectors, services
from .choices import MESSAGE_MAX_LENGTH, Side
from .models import Conversation

CLOSE_LOGGED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_ERRORS = 4400
# A frame may carry the longest body at four UTF-8 bytes a character, plus the JSON around it.
MAX_FRAME_BYTES = 4 * MESSAGE_MAX_LENGTH + 1024
# Frames are flat objects; a little room for what a later chat.js may nest.
MAX_FRAME_DEPTH = 8
# Connections that keep sending nonsense are closed after this many error frames.
MAX_ERRORS = 100
# Frames whose work runs in the database thread: their session check runs in the same trip.
_CHECKED_IN_TRIP = frozenset({"send", "sync", "read", "ping"})
# What a trip to the database thread answers when the login session has ended.
_LOGGED_OUT = object()
DEFAULT_SEND_RATE = (20, 10.0)  # at most 20 messages in 10 seconds per connection
DEFAULT_FRAME_RATE = (60, 10.0)  # and at most 60 frames of any kind


_FORBIDDEN = _("You can no longer take part in this conversation.")
_NOT_UNDERSTOOD = _("The app sent something the server did not understand.")
_ERROR_TEXTS = {
    "malformed": _NOT_UNDERSTOOD,
    "unknown_type": _NOT_UNDERSTOOD,
    "invalid": _NOT_UNDERSTOOD,
    "too_deep": _NOT_UNDERSTOOD,
    "too_large": _("The message is too long."),
    "rate_limited": _("You are sending very quickly. The message will be sent shortly."),
    "forbidden": _FORBIDDEN,
}


class SlidingWindow:
    """At most `limit` events in any `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = max(1, int(limit))
        self.period = float(period)
        self._times: deque[float] = deque()

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True

    def retry_after(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        if not self._times:
            return 0.0
        return max(0.0, round(self.period - (now - self._times[0]), 2))


def _rate(name: str, default: tuple[int, float]) -> SlidingWindow:
    limit, period = getattr(settings, name, default)
    return SlidingWindow(limit, period)


_LARGEST_NUMBER = 2**63 - 1  # what the database can compare with


def _non_negative_int(value: Any) -> int | None:
    # bool is an int in Python; true/false are not numbers here.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _LARGEST_NUMBER:
        return None
    return value


class ConversationConsumer(ClosingJsonWebsocketConsumer):
    """One open chat: the client's phone, or a staff member's conversation page."""

    conversation: Conversation | None = None
    group: str | None = None

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.errors = 0
        self.send_rate = _rate("MESSAGE_WS_SEND_RATE", DEFAULT_SEND_RATE)
        self.frame_rate = _rate("MESSAGE_WS_FRAME_RATE", DEFAULT_FRAME_RATE)
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        self.conversation = await database_sync_to_async(self._authorise)(conversation_id)
        await self.accept()
        if self.conversation is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = frames.group_name(self.conversation.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(await database_sync_to_async(self._welcome)())

    def _authorise(self, conversation_id: int) -> Conversation | None:
        user = self.user
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if getattr(user, "is_staff_member", False) and not user_has_second_factor(user=user):
            return None
        conversation = selectors.conversation_get_for_user(
            user=user, pk=conversation_id, action="conversation.connect"
        )
        if conversation is None:
            return None
        client = conversation.client
        self.language = (
            user.preferred_language
            or (client.preferred_language if user.pk == client.user_id else "")
            or settings.LANGUAGE_CODE
        )
        return conversation

    def _welcome(self) -> dict[str, Any]:
        assert self.conversation is not None
        conversation = Conversation.objects.get(pk=self.conversation.pk)
        positions = selectors.read_positions(conversation=conversation, viewer=self.user)
        return {
            "type": "welcome",
            "last_sequence": conversation.last_sequence,
            "side": permissions.side_of(user=self.user).value,
            "can_write": permissions.can_write_conversation(
                user=self.user, conversation=self.conversation
            ),
            "read": {Side.CLIENT.value: positions.client, Side.STAFF.value: positions.staff},
            "own_read": positions.own,
        }

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    # --- incoming frames ------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.conversation is None:
            return
        if not self.frame_rate.allow():
            await self._error("rate_limited", retry_after=self.frame_rate.retry_after())
            return
        try:
            content = json_frame_parse(
                text_data, max_bytes=MAX_FRAME_BYTES, max_depth=MAX_FRAME_DEPTH
            )
        except FrameError as error:
            await self._error(error.code)
            return
        # A socket outlives the page: after a logout (or a revoked session) it must not go on.
        # Frames that go to the database check the session in that same trip (`_trip`);
        # the others check it here.
        kind = content.get("type")
        in_trip = isinstance(kind, str) and kind in _CHECKED_IN_TRIP
        if not in_trip and not await self._session_check():
            return
        await self.receive_json(content)

    async def _session_check(self) -> bool:
        """The login session still exists; else the socket is closed with 4401."""
        if await database_sync_to_async(self._session_alive)():
            return True
        await self.close(code=CLOSE_LOGGED_OUT)
        return False

    async def _trip(self, work: Any, *args: Any) -> Any:
        """Run `work` in the database thread behind the session check, in one trip; answers
        `_LOGGED_OUT` (and closes with 4401) when the session has ended. Pushes that `work`
        makes after its commit go out from this event loop without holding that thread."""
        push.bind_event_loop()
        result = await database_sync_to_async(self._in_session)(work, *args)
        if result is _LOGGED_OUT:
            await self.close(code=CLOSE_LOGGED_OUT)
        return result

    def _in_session(self, work: Any, *args: Any) -> Any:
        if not self._session_alive():
            return _LOGGED_OUT
        return work(*args)

    def _session_alive(self) -> bool:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        return bool(key) and bool(session.exists(key))

    def _still_allowed(self) -> bool:
        """Access may have ended since the connect (substitution over, consent withdrawn,
        account deactivated): checked on every ping, so pushes stop within a minute."""
        assert self.conversation is not None
        user = User.objects.filter(pk=self.user.pk, is_active=True).first()
        if user is None:
            return False
        self.user = user
        return permissions.can_view_conversation(user=user, conversation=self.conversation)

    def _pulse(self) -> int | None:
        """The conversation's newest message number, or None when access has ended."""
        if not self._still_allowed():
            return None
        assert self.conversation is not None
        return int(
            Conversation.objects.filter(pk=self.conversation.pk)
            .values_list("last_sequence", flat=True)
            .get()
        )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type")
        if kind == "send":
            await self._on_send(content)
        elif kind == "sync":
            await self._on_sync(content)
        elif kind == "read":
            await self._on_read(content)
        elif kind == "ping":
            last_sequence = await self._trip(self._pulse)
            if last_sequence is _LOGGED_OUT:
                return
            if last_sequence is None:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            # Re-join the group: a layer drops a member whose pushes waited too long (the
            # in-memory layer after 60 s under overload); the pong's number lets chat.js
            # fetch anything it missed meanwhile.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_json({"type": "pong", "last_sequence": last_sequence})
        else:
            await self._error("unknown_type")

    async def _on_send(self, content: dict[str, Any]) -> None:
        client_msg_id = content.get("client_msg_id")
        echo = client_msg_id[:64] if isinstance(client_msg_id, str) else None
        if echo is None or not isinstance(content.get("body"), str):
            if await self._session_check():
                await self._error("invalid", client_msg_id=echo)
            return
        if not self.send_rate.allow():
            if await self._session_check():
                await self._error(
                    "rate_limited", client_msg_id=echo, retry_after=self.send_rate.retry_after()
                )
            return
        result = await self._trip(self._store, echo, content["body"])
        if result is _LOGGED_OUT:
            return
        if "sequence" in result:
            await self.send_json(
                {"type": "ack", "client_msg_id": echo, "sequence": result["sequence"]}
            )
        else:
            await self._error(result["code"], client_msg_id=echo, message=result["message"])

    def _store(self, client_msg_id: str, body: str) -> dict[str, Any]:
        assert self.conversation is not None
        try:
            message = services.message_send(
                conversation=self.conversation,
                sender=self.user,
                body=body,
                client_msg_id=client_msg_id,
            )
        except PermissionDeniedError:
            return {"code": "forbidden", "message": self._text(_FORBIDDEN)}
        except ApplicationError as error:
            return {"code": "rejected", "message": self._text(error.message)}
        return {"sequence": message.sequence}

    async def _on_sync(self, content: dict[str, Any]) -> None:
        after = _non_negative_int(content.get("after"))
        if after is None:
            if await self._session_check():
                await self._error("invalid")
            return
        answer = await self._trip(self._messages_after, after)
        if answer is _LOGGED_OUT:
            return
        if answer is None:
            await self._error("forbidden", message=self._text(_FORBIDDEN))
            return
        await self.send_json(answer)

    def _messages_after(self, after: int) -> dict[str, Any] | None:
        assert self.conversation is not None
        try:
            messages = selectors.message_list_for_conversation(
                conversation=self.conversation,
                viewer=self.user,
                after_sequence=after,
                action="conversation.sync",
            )
        except PermissionDeniedError:
            return None
        last = Conversation.objects.filter(pk=self.conversation.pk).values_list(
            "last_sequence", flat=True
        )[0]
        viewer_id = self.user.pk
        return {
            "type": "messages",
            "messages": [
                frames.for_viewer(frames.message_frame(message), viewer_id=viewer_id)
                for message in messages
            ],
            "has_more": bool(messages) and messages[-1].sequence < last,
            "last_sequence": last,
        }

    async def _on_read(self, content: dict[str, Any]) -> None:
        sequence = _non_negative_int(content.get("sequence"))
        if sequence is None:
            if await self._session_check():
                await self._error("invalid")
            return
        marked = await self._trip(self._mark_read, sequence)
        if marked is _LOGGED_OUT:
            return
        if not marked:
            await self._error("forbidden", message=self._text(_FORBIDDEN))

    def _mark_read(self, sequence: int) -> bool:
        assert self.conversation is not None
        try:
            services.conversation_mark_read(
                conversation=self.conversation, reader=self.user, sequence=sequence
            )
        except PermissionDeniedError:
            return False
        return True

    # --- pushes from the channel layer ------------------------------------------------------

    async def conversation_event(self, event: dict[str, Any]) -> None:
        if "text_own" in event:
            # A message frame, encoded once for all its members by push.conversation_event.
            own = self.user is not None and event.get("sender_id") == self.user.pk
            await self.send(text_data=event["text_own"] if own else event["text_other"])
            return
        frame = event["frame"]
        if frame.get("type") == "message":
            frame = frames.for_viewer(frame, viewer_id=self.user.pk)
        await self.send_json(frame)

    # --- errors -------------------------------------------------------------------------------

    def _text(self, message: Any) -> str:
        with translation.override(getattr(self, "language", settings.LANGUAGE_CODE)):
            return str(message)

    async def _error(self, code: str, **extra: Any) -> None:
        self.errors += 1
        frame: dict[str, Any] = {"type": "error", "code": code}
        frame.update({key: value for key, value in extra.items() if value is not None})
        frame.setdefault("message", self._text(_ERROR_TEXTS.get(code, _ERROR_TEXTS["invalid"])))
        await self.send_json(frame)
        if self.errors >= MAX_ERRORS:
            await self.close(code=CLOSE_TOO_MANY_ERRORS)
