"""Reads for video calls, through the access rules, audited."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sprechstunde.appointments import permissions as appointment_permissions
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.messaging.models import MessageAttachment
from sprechstunde.messaging.permissions import client_uses_portal
from sprechstunde.messaging.selectors import attachment_list_for_user, conversation_for_client

from . import events, permissions
from .choices import ParticipantRole, ParticipantState
from .models import Call, InterpreterInvitation, Participant
from .services import token_hash


@dataclass(frozen=True)
class CallAccess:
    appointment: Appointment
    role: str


def appointment_for_call(*, user: Any, appointment_pk: int) -> CallAccess | None:
    """The video appointment and `user`'s role in its call, or None when they are no part
    of it (another case manager's client, a team lead, a phone appointment, ...)."""
    appointment = (
        Appointment.objects.select_related("client", "case_manager")
        .filter(pk=appointment_pk)
        .first()
    )
    if appointment is None:
        return None
    role = permissions.role_for_user(user=user, appointment=appointment)
    if role is None:
        return None
    audit_record(
        actor=user, action="video_call.read", target=appointment, client_id=appointment.client_id
    )
    return CallAccess(appointment=appointment, role=role)


# What an appointment page offers for its call (JoinState.state).
JOIN_NONE = "none"  # not part of the call, no video appointment, or its time is long over
JOIN_EARLY = "early"  # the button comes at `opens`
JOIN_OPEN = "open"  # the join button
JOIN_ENDED = "ended"  # staff ended it for everyone (or the sweep did): nobody joins again


@dataclass(frozen=True)
class JoinState:
    """The answer to "can this user join the appointment's call now?" for every page that
    shows a join button or link, so none of them offers a call that has ended."""

    state: str
    role: str | None = None
    opens: datetime.datetime | None = None
    url: str = ""

    @property
    def can_join(self) -> bool:
        return self.state == JOIN_OPEN


def call_join_state_for_user(
    *,
    user: Any,
    appointment: Appointment,
    link_holder: bool = False,
    call: Call | None = None,
    now: datetime.datetime | None = None,
) -> JoinState:
    """Whether `user` can join the call of `appointment` now, will be able to, or no longer
    can because it has ended. `link_holder`: someone who opened the client's reminder link,
    perhaps logged out; the call page itself checks who they are. `call`: the appointment's
    call when the caller has read it already (no second read)."""
    if not permissions.is_video_appointment(appointment=appointment):
        return JoinState(JOIN_NONE)
    if link_holder:
        role: str | None = ParticipantRole.CLIENT
    else:
        role = permissions.role_for_user(user=user, appointment=appointment) if user else None
    if role is None:
        return JoinState(JOIN_NONE)
    if call is not None:
        assert call.appointment_id == appointment.pk
        ended = call.closed_at is not None
    else:
        ended = Call.objects.filter(appointment=appointment, closed_at__isnull=False).exists()
    if ended:
        return JoinState(JOIN_ENDED, role=role)
    now = now or timezone.now()
    opens, closes = permissions.join_window(appointment=appointment)
    if now > closes:
        return JoinState(JOIN_NONE, role=role)
    url = reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk})
    return JoinState(JOIN_OPEN if now >= opens else JOIN_EARLY, role=role, opens=opens, url=url)


def invitation_for_token(*, token: str) -> InterpreterInvitation | None:
    """The interpreter invitation behind a link, valid or not (the page says why not)."""
    if not token or len(token) > 100:
        return None
    return (
        InterpreterInvitation.objects.select_related("call__appointment")
        .filter(token_hash=token_hash(token))
        .first()
    )


def interpreter_link_exists(*, appointment: Any) -> bool:
    """Whether an interpreter link that is not withdrawn exists for this appointment's call."""
    return InterpreterInvitation.objects.filter(
        call__appointment=appointment, revoked_at__isnull=True
    ).exists()


def invitation_list_for_call(*, call: Call) -> QuerySet[InterpreterInvitation]:
    return InterpreterInvitation.objects.filter(call=call).order_by("created_at", "id")


def waiting_list_for_user(*, user: Any) -> list[dict[str, Any]]:
    """For the "someone is waiting" notice on staff pages: today's video calls of `user`'s
    caseload where somebody waits now. Names only, nothing else about the client."""
    ids = appointment_permissions.managed_case_manager_ids(user=user)
    if not ids:
        return []
    now = timezone.now()
    waiting = (
        Participant.objects.filter(
            call__appointment__case_manager_id__in=ids,
            call__appointment__channel=Channel.VIDEO,
            call__closed_at__isnull=True,
            call__appointment__starts_at__lte=now + permissions.INTERPRETER_OPENS_BEFORE,
            call__appointment__ends_at__gte=now - permissions.JOIN_CLOSES_AFTER,
            state=ParticipantState.WAITING,
            presences__left_at__isnull=True,
            presences__isnull=False,
        )
        .select_related("call__appointment__client", "user")
        .distinct()
        .order_by("created_at")
    )
    rows: dict[int, dict[str, Any]] = {}
    for participant in waiting:
        appointment = participant.call.appointment
        row = rows.setdefault(
            appointment.pk, {"appointment": appointment.pk, "names": [], "count": 0}
        )
        name, _name_for_interpreters = events.participant_names(
            participant, client=appointment.client
        )
        if participant.is_second_device:
            name = f"{name} ({_('second device for the interpreter link')})"
        row["names"].append(name)
        row["count"] += 1
    return list(rows.values())


def call_file_list_for_participant(
    *, participant: Participant, ids: list[int], request: Any = None
) -> list[MessageAttachment]:
    """Files shared in the call's chat (attachments in the client's conversation) as this
    participant may see them: the client and staff through the messaging and documents
    rules; interpreters see none (they have no access to the client's documents)."""
    if participant.user is None or participant.role == ParticipantRole.INTERPRETER:
        return []
    client = participant.call.appointment.client
    if participant.role == ParticipantRole.CLIENT and not client_uses_portal(client=client):
        return []
    conversation = conversation_for_client(client=client)
    if conversation is None:
        return []
    try:
        return attachment_list_for_user(
            user=participant.user, conversation=conversation, ids=ids, request=request
        )
    except PermissionDeniedError:
        return []
