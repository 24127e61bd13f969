"""The signalling websocket of a call: ws/video/<call_id>/?s=<page session>[&m=lobby].

Without `m=lobby` the page joins on connect (a presence, then "welcome"). With `m=lobby` the
page connects while its pre-join check is shown: the server authorises the person and sends
"hello" with the ICE servers, but nobody sees them (no presence, no waiting-room entry) until
the page sends {"type": "join"}, which is authorised again and answered with "welcome".
In the lobby only "join" and "ping" are accepted.

Frames from the browser (JSON objects):
  {"type": "signal", "to": <participant id>, "cid": "…", "description": {"type", "sdp"}}
  {"type": "signal", "to": <participant id>, "cid": "…", "candidate": {…} | null}
      → forwarded to that participant's pages only (both must be admitted and connected)
  {"type": "chat", "text": "…", "id": "<8-32 hex>"}  → to everyone admitted (never stored; a
      shared photo comes as a chat frame with "file" from views.CallFileView, ADR 0057). The
      page's own id for the line goes along: a line sent again after a reconnect has the same
      id, and pages show it once; the sender's echo tells it the line went out.
  {"type": "media", "audio": bool, "video": bool}  → peers show mute indicators
  {"type": "admit" | "remove", "participant": id}, {"type": "admit_all"},
  {"type": "lock", "locked": bool}, {"type": "end"}   (staff hosting the call only)
  {"type": "ice_servers"}  → fresh TURN credentials;  {"type": "ping"} → {"type": "pong"}
  {"type": "leave"}
Pushed to the browser: hello (lobby only), welcome, waiting, admitted, roster, signal, chat,
media, left, ended, refused (then the socket closes with 4403), error.

Every frame is checked against the call's participants. Signalling frames (offers, answers,
ICE candidates: a dozen or more within half a second while a call is set up) are checked
against what this connection knows, which the server keeps current: every admission,
removal, lock, leave and end of the call reaches the connection as a push before any later
frame of the page is handled, and a change of its own state makes the next frame read the
database again. What changes without a push (a logout, a consent withdrawn, an appointment
cancelled or handed to another case manager) is read from the database at the first
signalling frame after AUTH_MAX_AGE seconds. Every other frame reads the sender from the
database (ADR 0033). Signals only go to admitted, connected participants of the same call.
Every frame goes through core.websockets.json_frame_parse (size, then nesting depth, then
a JSON object), and the rate of frames is limited per connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.selectors import user_has_second_factor
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.websockets import (
    ClosingJsonWebsocketConsumer,
    FrameError,
    json_frame_parse,
)
from sprechstunde.messaging.consumers import SlidingWindow

from . import events, join_links, permissions, services, turn
from .choices import ParticipantRole, ParticipantState
from .models import Call, Participant, Presence
from .views import SESSION_KEY

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_ENDED = 4410
CLOSE_TOO_MANY_ERRORS = 4400
# An SDP offer of a browser with audio, video and a screen track is about 6-10 KB.
MAX_FRAME_BYTES = 64 * 1024
# The deepest frame the page sends is a signal with a description: two levels.
MAX_FRAME_DEPTH = 8
MAX_CHAT_CHARS = 1000
MAX_ERRORS = 50
DEFAULT_FRAME_RATE = (200, 10.0)
# How long a full check from the database covers signalling frames (ADR 0033).
AUTH_MAX_AGE = 2.0
_SESSION_RE = re.compile(r"^[0-9a-f]{8,32}$")
_LINE_ID_RE = re.compile(r"^[0-9a-f]{8,32}$")
_FINGERPRINT_RE = re.compile(r"(a=fingerprint:sha-256 )([0-9A-F]{2})")

# What an interpreter's chat shows instead of a file the client or staff shared.
_FILE_NOT_SHOWN = _("(shared a file that only the client and the case manager can see)")
_NOT_UNDERSTOOD = _("The app sent something the server did not understand.")
_ERROR_TEXTS = {
    "malformed": _NOT_UNDERSTOOD,
    "unknown_type": _NOT_UNDERSTOOD,
    "invalid": _NOT_UNDERSTOOD,
    "too_deep": _NOT_UNDERSTOOD,
    "too_large": _("That was too much data at once."),
    "rate_limited": _("Too many messages at once. Please wait a moment."),
    "forbidden": _("You may not do that in this call."),
    "not_admitted": _("Please wait until you are let in."),
    "no_peer": _("This person is not in the call."),
}


def _session_id(scope: dict[str, Any]) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    for part in query.split("&"):
        key, _sep, value = part.partition("=")
        if key == "s" and _SESSION_RE.match(value):
            return value
    return secrets.token_hex(8)


def _is_lobby(scope: dict[str, Any]) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    return "m=lobby" in query.split("&")


def _rewrite_fingerprint(sdp: str) -> str:
    """Test hook (VIDEO_TEST_REWRITE_FINGERPRINTS): what a compromised server would do."""
    return _FINGERPRINT_RE.sub(
        lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"), sdp, count=1
    )


class CallConsumer(ClosingJsonWebsocketConsumer):
    """One page in one call: the host's, the client's or an interpreter's."""

    participant: Participant | None = None
    presence: Presence | None = None
    group: str | None = None
    lobby_call_id: int | None = None  # connected from the pre-join check, not joined yet
    # When the sender was last read from the database and found allowed (time.monotonic());
    # None forces a read at the next frame. Cleared when a push changes this person's state.
    checked_at: float | None = None
    # Counts the times a push made the last check void: a check that ran meanwhile is not kept.
    check_generation = 0
    # The check made ahead of an expected offer (see call_roster), while it runs.
    ahead: asyncio.Future[None] | None = None
    locked = False
    found_role: str | None = None  # the role the person was found in when connecting
    join_grant: join_links.Grant | None = None  # came by the join link, not logged in

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its turn on the database thread for every message
        (close_old_connections): that one thread also runs every join and check, so each
        signal forwarded waited behind them. This consumer reaches the database only through
        database_sync_to_async, which closes old connections around each call (ADR 0094)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.errors = 0
        self.state = ""
        limit, period = getattr(settings, "VIDEO_WS_FRAME_RATE", DEFAULT_FRAME_RATE)
        self.frame_rate = SlidingWindow(limit, period)
        self.language = settings.LANGUAGE_CODE
        self.auth_max_age = float(getattr(settings, "VIDEO_WS_AUTH_MAX_AGE", AUTH_MAX_AGE))
        # Open connections of each participant a signal went to, until the next roster push
        # (every presence that opens or closes, and every admission or removal, pushes one).
        self.target_channels: dict[int, list[str]] = {}
        call_id = self.scope["url_route"]["kwargs"]["call_id"]
        await self.accept()
        if _is_lobby(self.scope):
            hello = await database_sync_to_async(self._hello)(call_id)
            if isinstance(hello, tuple):
                await self._refuse(*hello)
                return
            self.lobby_call_id = call_id
            await self.send_json(hello)
            return
        await self._join(call_id)

    async def _join(self, call_id: int) -> None:
        """Presence, roster push, audit and the welcome frame: one trip to the database."""
        result = await database_sync_to_async(self._enter_and_welcome)(call_id)
        if isinstance(result, tuple):
            await self._refuse(*result)
            return
        self.lobby_call_id = None
        self.group = events.group_name(call_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(result)

    def _hello(self, call_id: int) -> dict[str, Any] | tuple[str, str]:
        """Lobby: may this person join now? Their ICE servers, without being seen by anyone."""
        call = Call.objects.select_related("appointment__client").filter(pk=call_id).first()
        try:
            participant = self._find_participant(call) if call is not None else None
        except join_links.JoinLinkRefusedError as error:
            return error.reason, self._text(error.message)
        if participant is None:
            return "forbidden", self._text(_("You are not part of this call."))
        if participant.invitation_id is not None:  # an interpreter: with their invitation
            participant = Participant.objects.select_related(
                "call__appointment", "invitation__call__appointment"
            ).get(pk=participant.pk)
        refusal = services.participant_refusal(participant=participant)
        if refusal is not None:
            return refusal.code, self._text(refusal.message)
        hello: dict[str, Any] = {
            "type": "hello",
            "me": participant.pk,
            "role": participant.role,
            "state": participant.state,
            "ice_servers": turn.ice_servers_for(participant_id=participant.pk),
            "ice_transport_policy": turn.ice_transport_policy(),
        }
        if participant.state == ParticipantState.ADMITTED and call is not None:
            # Admitted before: who is there, as the welcome would say, so that the page can
            # send its first offers right behind its join (ADR 0094). Nobody sees this page.
            hello["participants"] = events.roster_for_viewer(
                events.roster(call), role=participant.role
            )
        return hello

    def _enter_and_welcome(self, call_id: int) -> dict[str, Any] | tuple[str, str]:
        result = self._enter(call_id)
        if isinstance(result, tuple):
            return result
        return self._welcome(result.roster.snapshot)

    # --- who is this? -------------------------------------------------------------------

    def _find_participant(self, call: Call, *, claim: bool = False) -> Participant | None:
        """The person behind this socket: a logged-in user, a client who came by the join
        link (its grant names this call's appointment; `claim` binds the link to this
        device as the page enters), or an interpreter of this call."""
        user = self.scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            if user.is_staff_member and not user_has_second_factor(user=user):
                return None
            self.language = user.preferred_language or settings.LANGUAGE_CODE
            role = permissions.role_for_user(user=user, appointment=call.appointment)
            if role is None:
                return None
            self.found_role = role
            return services.participant_for_user(call=call, user=user, role=role)
        session = self.scope.get("session")
        grant = join_links.session_grant(session=session, appointment_id=call.appointment_id)
        if grant is not None:
            self.language = grant.language
            self.found_role = ParticipantRole.CLIENT
            self.join_grant = grant
            return join_links.join_link_participant(call=call, grant=grant, claim=claim)
        known = session.get(SESSION_KEY, {}) if session is not None else {}
        if not isinstance(known, dict):
            return None
        ids = [value for value in known.values() if isinstance(value, int)]
        return (
            Participant.objects.filter(call=call, pk__in=ids, role=ParticipantRole.INTERPRETER)
            .order_by("-pk")
            .first()
        )

    def _enter(self, call_id: int) -> services.PresenceEntry | tuple[str, str]:
        call = Call.objects.select_related("appointment__client").filter(pk=call_id).first()
        try:
            participant = self._find_participant(call, claim=True) if call is not None else None
        except join_links.JoinLinkRefusedError as error:
            return error.reason, self._text(error.message)
        if participant is None:
            return "forbidden", self._text(_("You are not part of this call."))
        try:
            entry = services.presence_enter(
                participant=participant,
                channel_name=self.channel_name,
                session=_session_id(self.scope),
            )
        except services.CallRefusedError as error:
            return error.code, self._text(error.message)
        # Read under the call's lock by presence_enter, with call, appointment and user.
        self.participant = entry.participant
        self.presence = entry.presence
        self.state = self.participant.state
        self.locked = self.participant.call.is_locked
        # Joining has just checked what _fresh checks (participant, call, role, and a presence
        # open since this instant), but for the login: with it, the first signals go on this.
        user = self.participant.user
        if user is None or (self.found_role == self.participant.role and self._session_alive()):
            self.checked_at = time.monotonic()
            snapshot = entry.roster.snapshot  # pushed after the commit, this presence in it
            self.target_channels = (
                snapshot.channels_except(self.participant.pk)
                if snapshot is not None
                else self._all_target_channels()
            )
        return entry

    def _welcome(self, snapshot: events.RosterSnapshot | None = None) -> dict[str, Any]:
        """The answer to joining; the roster is the one just pushed to the others, if any."""
        assert self.participant is not None
        call = self.participant.call  # read together with the participant just now
        frame: dict[str, Any] = {
            "type": "welcome",
            "me": self.participant.pk,
            "role": self.participant.role,
            "state": self.participant.state,
            "locked": call.is_locked,
            "ice_servers": turn.ice_servers_for(participant_id=self.participant.pk),
            "ice_transport_policy": turn.ice_transport_policy(),
        }
        if self.participant.state == ParticipantState.ADMITTED:
            frame["participants"] = events.roster_for_viewer(
                snapshot.participants if snapshot is not None else events.roster(call),
                role=self.participant.role,
            )
        return frame

    def _fresh(self) -> services.CallRefusedError | None:
        """Re-read the sender from the database: removed, call ended, link withdrawn?"""
        participant, refusal = self._read_sender()
        if participant is not None:
            self.participant = participant
            self.state = participant.state
        return refusal

    def _read_sender(
        self,
    ) -> tuple[Participant | None, services.CallRefusedError | None]:
        """The sender as the database has it now, and why they may not go on (or None);
        changes nothing on this connection."""
        assert self.participant is not None
        participant = (
            Participant.objects.select_related(
                "call__appointment__client", "invitation__call__appointment", "user"
            )
            .filter(pk=self.participant.pk)
            .first()
        )
        if participant is None:  # the call's records were deleted meanwhile
            return None, services.CallRefusedError(_("This call has ended."), code="closed")
        refusal = services.participant_refusal(participant=participant)
        if refusal is None and participant.user is not None and not self._session_alive():
            # A socket outlives the page: after a logout it must not go on.
            refusal = services.CallRefusedError(_("Please log in again."), code="logged_out")
        if refusal is None and participant.user is not None:
            user = participant.user
            role = permissions.role_for_user(user=user, appointment=participant.call.appointment)
            if role != participant.role:
                refusal = services.CallRefusedError(
                    _("You are no longer part of this call."), code="forbidden"
                )
        if refusal is None and self.join_grant is not None:
            try:  # moved or cancelled meanwhile: the link's session ends with it
                join_links.join_link_appointment(grant=self.join_grant)
            except join_links.JoinLinkRefusedError as error:
                refusal = services.CallRefusedError(error.message, code=error.reason)
        if refusal is None and self.presence is not None:
            still_open = Presence.objects.filter(pk=self.presence.pk, left_at__isnull=True)
            if not still_open.exists():
                refusal = services.CallRefusedError(_("This call has ended."), code="closed")
        return participant, refusal

    def _session_alive(self) -> bool:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        return bool(key) and bool(session is not None and session.exists(key))

    # --- leaving --------------------------------------------------------------------------

    async def disconnect(self, code: int) -> None:
        if self.ahead is not None:
            self.ahead.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.closed = True
        if self.presence is not None:
            presence, self.presence = self.presence, None
            await database_sync_to_async(self._leave_quietly)(presence)

    @staticmethod
    def _leave_quietly(presence: Presence, on_purpose: bool = False) -> None:
        try:
            services.presence_leave(presence=presence, on_purpose=on_purpose)
        except ObjectDoesNotExist:
            # The call's records were deleted while the page was connected (a test database
            # flushed, an appointment erased): nothing is left to record.
            logger.debug("presence %s: call gone before the page left", presence.pk)

    async def _refuse(self, code: str, message: str) -> None:
        await self.send_json({"type": "refused", "code": code, "message": message})
        await self.close(code=CLOSE_FORBIDDEN)

    # --- incoming frames ------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.participant is None and self.lobby_call_id is None:
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
        if not isinstance(content.get("type"), str):
            await self._error("malformed")
            return
        if self.participant is None:
            await self._in_lobby(content)
            return
        if self.ahead is not None:  # a check under way covers this frame once it is done
            ahead, self.ahead = self.ahead, None
            await ahead
        if not (content["type"] == "signal" and self._checked_recently()):
            refusal = await database_sync_to_async(self._fresh)()
            if refusal is not None:
                self._forget_check()
                await self._refuse(refusal.code, self._text(refusal.message))
                return
            self.checked_at = time.monotonic()
        await self.receive_json(content)

    def _forget_check(self) -> None:
        """The next frame reads the database; a check still running is not kept."""
        self.checked_at = None
        self.check_generation += 1

    async def _check_ahead(self) -> None:
        """The full check of call_roster, beside the pushes and signals that follow it: kept
        only if no push changed this person's state while it ran, and dated from its start."""
        generation, started = self.check_generation, time.monotonic()
        participant, refusal = await database_sync_to_async(self._read_sender)()
        if refusal is not None:
            self._forget_check()
            await self._refuse(refusal.code, self._text(refusal.message))
            return
        if generation == self.check_generation and participant is not None:
            self.participant = participant
            self.state = participant.state
            self.checked_at = started

    def _checked_recently(self) -> bool:
        """May a signalling frame go on the last full check? Only while nothing pushed has
        changed this person's state since, and for AUTH_MAX_AGE seconds at most."""
        return (
            self.checked_at is not None and time.monotonic() - self.checked_at < self.auth_max_age
        )

    async def _in_lobby(self, content: dict[str, Any]) -> None:
        """Before "join" only joining and keep-alive are possible; joining is authorised
        afresh (the page may have waited a long time in its pre-join check)."""
        assert self.lobby_call_id is not None
        if content["type"] == "join":
            await self._join(self.lobby_call_id)
        elif content["type"] == "ping":
            await self._on_ping(content)
        else:
            await self._error("not_admitted")

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content["type"]
        handler = {
            "signal": self._on_signal,
            "chat": self._on_chat,
            "media": self._on_media,
            "admit": self._on_host_action,
            "remove": self._on_host_action,
            "admit_all": self._on_host_action,
            "lock": self._on_host_action,
            "end": self._on_host_action,
            "ice_servers": self._on_ice_servers,
            "ping": self._on_ping,
            "leave": self._on_leave,
            "join": self._on_ping,  # joined already (a repeated click): just an answer
        }.get(kind)
        if handler is None:
            await self._error("unknown_type")
            return
        await handler(content)

    def _admitted(self) -> bool:
        return self.state == ParticipantState.ADMITTED

    async def _on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def _on_ice_servers(self, content: dict[str, Any]) -> None:
        assert self.participant is not None
        await self.send_json(
            {
                "type": "ice_servers",
                "ice_servers": turn.ice_servers_for(participant_id=self.participant.pk),
                "ice_transport_policy": turn.ice_transport_policy(),
            }
        )

    async def _on_signal(self, content: dict[str, Any]) -> None:
        if not self._admitted():
            await self._error("not_admitted")
            return
        target = content.get("to")
        cid = content.get("cid")
        if (
            isinstance(target, bool)
            or not isinstance(target, int)
            or not isinstance(cid, str)
            or not 0 < len(cid) <= 40
        ):
            await self._error("invalid")
            return
        frame: dict[str, Any] = {"type": "signal", "cid": cid}
        if "description" in content:
            description = content["description"]
            if (
                not isinstance(description, dict)
                or description.get("type") not in ("offer", "answer")
                or not isinstance(description.get("sdp"), str)
            ):
                await self._error("invalid")
                return
            sdp = description["sdp"]
            if getattr(settings, "VIDEO_TEST_REWRITE_FINGERPRINTS", False):
                sdp = _rewrite_fingerprint(sdp)
            frame["description"] = {"type": description["type"], "sdp": sdp}
        elif "candidate" in content:
            candidate = content["candidate"]
            if candidate is not None and not isinstance(candidate, dict):
                await self._error("invalid")
                return
            if candidate is not None:
                candidate = {
                    key: candidate.get(key)
                    for key in ("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment")
                    if key in candidate
                }
                if not isinstance(candidate.get("candidate", ""), str):
                    await self._error("invalid")
                    return
            frame["candidate"] = candidate
        else:
            await self._error("invalid")
            return
        channels = self.target_channels.get(target)
        if channels is None:
            channels = await database_sync_to_async(self._target_channels)(target)
            self.target_channels[target] = channels
        if not channels:
            await self._error("no_peer", participant=target)
            return
        assert self.participant is not None
        frame["from"] = self.participant.pk
        for channel in channels:
            await self.channel_layer.send(channel, {"type": "call.signal", "frame": frame})

    def _all_target_channels(self) -> dict[int, list[str]]:
        """The open connections of everyone else admitted to this call, in one read: who is
        not in it has none (until the next roster push clears it)."""
        assert self.participant is not None
        channels: dict[int, list[str]] = {}
        for participant_id, channel in Presence.objects.filter(
            participant__call_id=self.participant.call_id,
            participant__state=ParticipantState.ADMITTED,
            left_at__isnull=True,
        ).values_list("participant_id", "channel_name"):
            if participant_id != self.participant.pk:
                channels.setdefault(participant_id, []).append(channel)
        return channels

    def _fresh_with_targets(self) -> services.CallRefusedError | None:
        refusal = self._fresh()
        if refusal is None:
            self.target_channels = self._all_target_channels()
        return refusal

    def _target_channels(self, target: int) -> list[str]:
        assert self.participant is not None
        if target == self.participant.pk:
            return []
        return list(
            Presence.objects.filter(
                participant_id=target,
                participant__call_id=self.participant.call_id,
                participant__state=ParticipantState.ADMITTED,
                left_at__isnull=True,
            ).values_list("channel_name", flat=True)
        )

    async def _on_chat(self, content: dict[str, Any]) -> None:
        if not self._admitted():
            await self._error("not_admitted")
            return
        text = content.get("text")
        if not isinstance(text, str) or not text.strip():
            await self._error("invalid")
            return
        if len(text) > MAX_CHAT_CHARS:
            await self._error("too_large")
            return
        line_id = content.get("id")
        if line_id is not None and not (isinstance(line_id, str) and _LINE_ID_RE.match(line_id)):
            await self._error("invalid")
            return
        assert self.participant is not None and self.group is not None
        # _fresh has just read the sender with user, call, appointment and client.
        name, name_for_interpreters = events.participant_names(
            self.participant, client=self.participant.call.appointment.client
        )
        await self.channel_layer.group_send(
            self.group,
            {
                "type": "call.chat",
                "frame": {
                    "type": "chat",
                    "from": self.participant.pk,
                    "name": name,
                    events.INTERPRETER_NAME_KEY: name_for_interpreters,
                    "text": text.strip(),
                    "at": timezone.now().isoformat(),
                    **({"id": line_id} if line_id else {}),
                },
            },
        )

    async def _on_media(self, content: dict[str, Any]) -> None:
        if not self._admitted():
            await self._error("not_admitted")
            return
        assert self.participant is not None and self.group is not None
        frame = {"type": "media", "from": self.participant.pk}
        for key in ("audio", "video", "screen"):
            if isinstance(content.get(key), bool):
                frame[key] = content[key]
        await self.channel_layer.group_send(self.group, {"type": "call.chat", "frame": frame})

    async def _on_host_action(self, content: dict[str, Any]) -> None:
        kind = content["type"]
        if kind in ("admit", "remove") and (
            isinstance(content.get("participant"), bool)
            or not isinstance(content.get("participant"), int)
        ):
            await self._error("invalid")
            return
        if kind == "lock" and not isinstance(content.get("locked"), bool):
            await self._error("invalid")
            return
        result = await database_sync_to_async(self._host_action)(kind, content)
        if result:
            await self._error(result[0], message=result[1])

    def _host_action(self, kind: str, content: dict[str, Any]) -> tuple[str, str] | None:
        assert self.participant is not None
        host = self.participant
        try:
            if kind == "admit":
                services.participant_admit(host=host, participant_id=content["participant"])
            elif kind == "remove":
                services.participant_remove(host=host, participant_id=content["participant"])
            elif kind == "admit_all":
                services.participant_admit_all(host=host)
            elif kind == "lock":
                services.call_lock(host=host, locked=content["locked"])
            else:
                services.call_end(host=host)
        except PermissionDeniedError as error:
            return "forbidden", self._text(error.message)
        except ApplicationError as error:
            return "rejected", self._text(error.message)
        return None

    async def _on_leave(self, content: dict[str, Any]) -> None:
        if self.presence is not None:
            presence, self.presence = self.presence, None
            await database_sync_to_async(self._leave_quietly)(presence, True)
        await self.close(code=1000)

    # --- pushes from the channel layer ----------------------------------------------------

    async def call_roster(self, event: dict[str, Any]) -> None:
        if self.participant is None:
            return
        # Someone came, went, was admitted or removed: the push says where signals go now
        # (a push without it, from an older server: look the targets up afresh).
        pairs = event.get("channels")
        self.target_channels = {}
        if pairs is not None:
            for participant_id, channel in pairs:
                if participant_id != self.participant.pk:
                    self.target_channels.setdefault(participant_id, []).append(channel)
        me = next((p for p in event["participants"] if p["id"] == self.participant.pk), None)
        if me is None:
            self._forget_check()
            refusal = await database_sync_to_async(self._fresh)()
            if refusal is not None:
                await self._refuse(refusal.code, self._text(refusal.message))
            return
        was, was_locked = self.state, self.locked
        self.state, self.locked = me["state"], bool(event["locked"])
        if self.state != was or self.locked != was_locked:
            self._forget_check()  # admitted, locked, ...: the next frame reads the database
        if self.state == ParticipantState.ADMITTED:
            if was != ParticipantState.ADMITTED:
                await self.send_json(
                    {
                        "type": "admitted",
                        "ice_servers": turn.ice_servers_for(participant_id=self.participant.pk),
                        "ice_transport_policy": turn.ice_transport_policy(),
                    }
                )
            await self.send_json(
                {
                    "type": "roster",
                    "participants": events.roster_for_viewer(
                        event["participants"], role=self.participant.role
                    ),
                    "locked": event["locked"],
                }
            )
        else:
            await self.send_json({"type": "waiting", "locked": event["locked"]})
        if self.state == ParticipantState.ADMITTED and not self._checked_recently():
            # Someone new is likely to send an offer now: check this person ahead of the
            # answer, while the offer is on its way (a full read, as for any frame). The
            # check runs beside this consumer, so that the offer reaches the page without
            # waiting for it; the page's answer waits for it in receive() (ADR 0094).
            if pairs is None:
                refusal = await database_sync_to_async(self._fresh_with_targets)()
                if refusal is not None:
                    self._forget_check()
                    await self._refuse(refusal.code, self._text(refusal.message))
                    return
                self.checked_at = time.monotonic()
            elif self.ahead is None or self.ahead.done():
                self.ahead = asyncio.ensure_future(self._check_ahead())

    async def call_signal(self, event: dict[str, Any]) -> None:
        if self._admitted():
            await self.send_json(event["frame"])

    async def call_chat(self, event: dict[str, Any]) -> None:
        if self._admitted():
            assert self.participant is not None
            frame = events.for_viewer(event["frame"], role=self.participant.role)
            if "file" in frame and self.participant.role == ParticipantRole.INTERPRETER:
                # Shared files are the client's documents: interpreters learn that one was
                # shared, not its name or where it is (ADR 0057).
                frame = {key: value for key, value in frame.items() if key != "file"}
                frame["text"] = self._text(_FILE_NOT_SHOWN)
            await self.send_json(frame)

    async def call_left(self, event: dict[str, Any]) -> None:
        self.target_channels.pop(event["participant"], None)
        if self._admitted():
            await self.send_json({"type": "left", "participant": event["participant"]})

    async def call_ended(self, event: dict[str, Any]) -> None:
        self.presence = None  # call_end has closed every presence already
        self._forget_check()
        self.target_channels = {}
        await self.send_json({"type": "ended", "message": self._text(_("The call has ended."))})
        await self.close(code=CLOSE_ENDED)

    # --- errors ---------------------------------------------------------------------------

    def _text(self, message: Any) -> str:
        with translation.override(self.language):
            return str(message)

    async def _error(self, code: str, **extra: Any) -> None:
        self.errors += 1
        frame: dict[str, Any] = {"type": "error", "code": code}
        frame.update({key: value for key, value in extra.items() if value is not None})
        frame.setdefault("message", self._text(_ERROR_TEXTS.get(code, _NOT_UNDERSTOOD)))
        await self.send_json(frame)
        if self.errors >= MAX_ERRORS:
            await self.close(code=CLOSE_TOO_MANY_ERRORS)
