"""Shapes pushed through the channel layer to everyone connected to a call.

Services send them after commit; the consumer turns them into frames for its own person
(people in the waiting room see their own state only, never the roster).
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .choices import ParticipantState
from .models import Call, Participant, Presence


def group_name(call_id: int) -> str:
    """The channel-layer group of every open connection to one call."""
    return f"video.call.{call_id}"


def roster(call: Call) -> list[dict[str, Any]]:
    """Everyone who is in the call or waits for it now, with their page session and the
    order in which their pages connected ("joined": 1 for the earliest; 0 when absent): the
    later of two pages makes the first offer between them (ADR 0033)."""
    open_presences = Presence.objects.filter(participant__call=call, left_at__isnull=True).order_by(
        "entered_at", "id"
    )
    sessions: dict[int, str] = {}
    for presence in open_presences:
        # The newest page wins, and its place in the order is where it connected.
        sessions.pop(presence.participant_id, None)
        sessions[presence.participant_id] = presence.session
    joined = {pid: rank for rank, pid in enumerate(sessions, start=1)}
    people = []
    for participant in Participant.objects.filter(call=call).exclude(
        state=ParticipantState.REMOVED
    ):
        present = participant.pk in sessions
        if not present and participant.state == ParticipantState.WAITING:
            continue
        people.append(
            {
                "id": participant.pk,
                "name": participant.display_name,
                "role": participant.role,
                "state": participant.state,
                "present": present,
                "session": sessions.get(participant.pk, ""),
                "joined": joined.get(participant.pk, 0),
            }
        )
    return people


def _send_group(call_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group_name(call_id), event)


def push_roster(call: Call) -> None:
    """After commit: tell every connection who is there, so pages add or drop peers."""

    def send() -> None:
        fresh = Call.objects.filter(pk=call.pk).first()
        if fresh is None:
            return
        _send_group(
            call.pk,
            {"type": "call.roster", "participants": roster(fresh), "locked": fresh.is_locked},
        )

    transaction.on_commit(send)


def push_ended(call: Call) -> None:
    transaction.on_commit(lambda: _send_group(call.pk, {"type": "call.ended"}))


def push_left(call: Call, participant_id: int) -> None:
    """Someone left on purpose: peers close that connection at once instead of waiting."""
    transaction.on_commit(
        lambda: _send_group(call.pk, {"type": "call.left", "participant": participant_id})
    )
