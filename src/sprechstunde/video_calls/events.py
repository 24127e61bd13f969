"""Shapes pushed through the channel layer to everyone connected to a call.

Services send them after commit; the consumer turns them into frames for its own person
(people in the waiting room see their own state only, never the roster).
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from sprechstunde.clients.models import Client

from .choices import ParticipantRole, ParticipantState
from .models import Call, Participant, Presence

# The roster entry's and chat frame's name for interpreters; `for_viewer` puts it in place of
# "name" for an interpreter's page and drops it for everyone else.
INTERPRETER_NAME_KEY = "name_for_interpreters"


def group_name(call_id: int) -> str:
    """The channel-layer group of every open connection to one call."""
    return f"video.call.{call_id}"


@dataclass
class RosterSnapshot:
    """Who is in the call or waits for it (the roster pushed to pages), whether it is locked,
    and the open connections of the admitted participants (where their signals go)."""

    participants: list[dict[str, Any]]
    locked: bool
    channels: list[tuple[int, str]]

    def channels_except(self, participant_id: int) -> dict[int, list[str]]:
        """The open connections of everyone admitted but `participant_id`, by participant."""
        found: dict[int, list[str]] = {}
        for pid, channel in self.channels:
            if pid != participant_id:
                found.setdefault(pid, []).append(channel)
        return found


@dataclass
class RosterPush:
    """A roster push waiting for the commit; `snapshot` is what was sent, once it was."""

    snapshot: RosterSnapshot | None = None


def participant_names(participant: Participant, *, client: Client) -> tuple[str, str]:
    """How a participant is named: (to staff and the client, to interpreters).

    The client by the client record, as the Jobcenter knows them; an interpreter (a
    stranger with a link) sees only the first name and initial ("Lena H."). Staff by
    their account's name, interpreters by the name they typed. Never an e-mail address.
    `participant.user` should come with the participant (select_related) for staff.
    """
    if participant.role == ParticipantRole.CLIENT:
        return client.full_name, client.short_name
    if participant.user_id is not None and participant.user is not None:
        name = participant.user.display_name
    else:
        name = participant.display_name or str(ParticipantRole(participant.role).label)
    return name, name


def for_viewer(frame: dict[str, Any], *, role: str) -> dict[str, Any]:
    """A frame with a name (a roster entry, a chat line) as a page in `role` may see it."""
    if INTERPRETER_NAME_KEY not in frame:
        return frame
    shown = {key: value for key, value in frame.items() if key != INTERPRETER_NAME_KEY}
    if role == ParticipantRole.INTERPRETER:
        shown["name"] = frame[INTERPRETER_NAME_KEY]
    return shown


def roster_for_viewer(participants: list[dict[str, Any]], *, role: str) -> list[dict[str, Any]]:
    """The roster as a page in `role` may see it (see for_viewer)."""
    return [for_viewer(entry, role=role) for entry in participants]


def roster_snapshot(call: Call) -> RosterSnapshot:
    """The roster, with each page's session and the order in which the pages connected
    ("joined": 1 for the earliest; 0 when absent): the later of two pages makes the first
    offer between them (ADR 0033). Each entry carries the name for interpreters too (see
    for_viewer). Two reads: open presences, participants (the call comes with its
    appointment and client)."""
    open_presences = (
        Presence.objects.filter(participant__call=call, left_at__isnull=True)
        .order_by("entered_at", "id")
        .values_list("participant_id", "session", "channel_name")
    )
    sessions: dict[int, str] = {}
    channels: dict[int, list[str]] = {}
    for participant_id, session, channel in open_presences:
        # The newest page wins, and its place in the order is where it connected.
        sessions.pop(participant_id, None)
        sessions[participant_id] = session
        channels.setdefault(participant_id, []).append(channel)
    joined = {pid: rank for rank, pid in enumerate(sessions, start=1)}
    people = []
    admitted_channels: list[tuple[int, str]] = []
    client = call.appointment.client
    for participant in (
        Participant.objects.filter(call=call)
        .exclude(state=ParticipantState.REMOVED)
        .select_related("user")
    ):
        present = participant.pk in sessions
        if not present and participant.state == ParticipantState.WAITING:
            continue
        if participant.state == ParticipantState.ADMITTED:
            admitted_channels += [(participant.pk, c) for c in channels.get(participant.pk, [])]
        name, name_for_interpreters = participant_names(participant, client=client)
        people.append(
            {
                "id": participant.pk,
                "name": name,
                INTERPRETER_NAME_KEY: name_for_interpreters,
                "role": participant.role,
                "second_device": participant.is_second_device,
                "state": participant.state,
                "present": present,
                "session": sessions.get(participant.pk, ""),
                "joined": joined.get(participant.pk, 0),
            }
        )
    return RosterSnapshot(participants=people, locked=call.is_locked, channels=admitted_channels)


def roster(call: Call) -> list[dict[str, Any]]:
    """Everyone who is in the call or waits for it now (see roster_snapshot)."""
    return roster_snapshot(call).participants


def _send_group(call_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group_name(call_id), event)


def push_roster(call: Call) -> RosterPush:
    """After commit: tell every connection who is there, so pages add or drop peers. The
    connections also get the open connections of the admitted (as [id, channel] pairs), so
    that they need not read them again to forward signals. The returned holder keeps what
    was sent, for the caller to reuse after the commit."""
    push = RosterPush()

    def send() -> None:
        fresh = Call.objects.select_related("appointment__client").filter(pk=call.pk).first()
        if fresh is None:
            return
        push.snapshot = snapshot = roster_snapshot(fresh)
        _send_group(
            call.pk,
            {
                "type": "call.roster",
                "participants": snapshot.participants,
                "locked": snapshot.locked,
                "channels": [list(pair) for pair in snapshot.channels],
            },
        )

    transaction.on_commit(send)
    return push


def push_ended(call: Call) -> None:
    transaction.on_commit(lambda: _send_group(call.pk, {"type": "call.ended"}))


def push_left(call: Call, participant_id: int) -> None:
    """Someone left on purpose: peers close that connection at once instead of waiting."""
    transaction.on_commit(
        lambda: _send_group(call.pk, {"type": "call.left", "participant": participant_id})
    )


def push_file(call: Call, frame: dict[str, Any]) -> None:
    """After commit: a file shared in the call's chat, to every page (interpreters get a
    line without it, see consumers.CallConsumer.call_chat)."""
    transaction.on_commit(lambda: _send_group(call.pk, {"type": "call.chat", "frame": frame}))
