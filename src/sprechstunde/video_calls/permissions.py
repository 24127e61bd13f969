"""Who may take part in which call, and when.

- The appointment's case manager, or a colleague standing in for them today, hosts the call.
- The appointment's client joins with the video consent in force, and waits to be admitted.
- An interpreter joins by a valid, unrevoked invitation link, and waits to be admitted.
Team leads, admins, DPOs and everyone else are not part of any call.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from sprechstunde.appointments import permissions as appointment_permissions
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.permissions import active_purposes_of

from .choices import ParticipantRole
from .models import InterpreterInvitation

# Both sides may join from 15 minutes before the start (issue 12: the client's home shows the
# button from then on), until an hour after the planned end.
JOIN_OPENS_BEFORE = datetime.timedelta(minutes=15)
JOIN_CLOSES_AFTER = datetime.timedelta(minutes=60)
# Interpreter links work from 15 minutes before to 30 minutes after the slot.
INTERPRETER_OPENS_BEFORE = datetime.timedelta(minutes=15)
INTERPRETER_CLOSES_AFTER = datetime.timedelta(minutes=30)

CALL_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.HELD)


def is_video_appointment(*, appointment: Appointment) -> bool:
    """A booked (or already held) video appointment with a time."""
    return (
        appointment.channel == Channel.VIDEO
        and appointment.status in CALL_STATUSES
        and appointment.starts_at is not None
        and appointment.ends_at is not None
    )


def join_window(*, appointment: Appointment) -> tuple[datetime.datetime, datetime.datetime]:
    assert appointment.starts_at is not None and appointment.ends_at is not None
    return appointment.starts_at - JOIN_OPENS_BEFORE, appointment.ends_at + JOIN_CLOSES_AFTER


def is_join_open(*, appointment: Appointment, now: datetime.datetime | None = None) -> bool:
    if not is_video_appointment(appointment=appointment):
        return False
    opens, closes = join_window(appointment=appointment)
    return opens <= (now or timezone.now()) <= closes


def interpreter_window(*, appointment: Appointment) -> tuple[datetime.datetime, datetime.datetime]:
    assert appointment.starts_at is not None and appointment.ends_at is not None
    return (
        appointment.starts_at - INTERPRETER_OPENS_BEFORE,
        appointment.ends_at + INTERPRETER_CLOSES_AFTER,
    )


def role_for_user(*, user: Any, appointment: Appointment) -> str | None:
    """The role `user` has in this appointment's call, or None when they are not part of it."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    if not is_video_appointment(appointment=appointment):
        return None
    if appointment_permissions.can_change_appointment(user=user, appointment=appointment):
        return ParticipantRole.STAFF
    if appointment_permissions.is_client_of(
        user=user, appointment=appointment
    ) and ConsentPurpose.VIDEO in active_purposes_of(client=appointment.client):
        return ParticipantRole.CLIENT
    return None


def can_invite_interpreter(*, user: Any, appointment: Appointment) -> bool:
    """The host invites interpreters, any time before the slot is over."""
    return (
        role_for_user(user=user, appointment=appointment) == ParticipantRole.STAFF
        and appointment.ends_at is not None
        and appointment.ends_at + INTERPRETER_CLOSES_AFTER > timezone.now()
    )


def invitation_problem(
    *, invitation: InterpreterInvitation, now: datetime.datetime | None = None
) -> str:
    """Why an interpreter link cannot be used now ("" when it can): revoked, early, expired,
    or the appointment no longer takes place by video."""
    appointment = invitation.call.appointment
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.call.closed_at is not None:
        return "closed"
    if not is_video_appointment(appointment=appointment):
        return "cancelled"
    opens, closes = interpreter_window(appointment=appointment)
    now = now or timezone.now()
    if now < opens:
        return "early"
    if now > closes:
        return "expired"
    return ""
