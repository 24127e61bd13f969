"""Who may see and change which appointments.

The rules follow the foundation's access rules for clients:
- a case manager: their own appointments and clients, and those of colleagues they
  currently stand in for (Substitution);
- a team lead: every appointment of their team's case managers (read only);
- admins and data-protection officers: nothing;
- a client: only their own appointments;
- nobody: the appointments of a client whose processing is restricted (Art. 18 GDPR).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import Substitution
from sprechstunde.clients.models import Client

from .choices import SHORT_NOTICE, AppointmentStatus
from .models import Appointment


def _today() -> datetime.date:
    return timezone.localdate()


def substituted_colleague_ids(*, user: Any, day: datetime.date | None = None) -> list[int]:
    """The ids of colleagues `user` stands in for on `day` (today by default)."""
    day = day or _today()
    # A substitution ended early no longer counts from the local day it was ended on.
    return list(
        Substitution.objects.filter(substitute_id=user.pk, starts_on__lte=day, ends_on__gte=day)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__date__gt=day))
        .values_list("absent_id", flat=True)
    )


def managed_case_manager_ids(*, user: Any, substituted: list[int] | None = None) -> list[int]:
    """Case managers whose caseload `user` may work on now: self plus substituted colleagues
    (`substituted`: `substituted_colleague_ids(user=user)` when the caller has it already)."""
    if not getattr(user, "is_authenticated", False) or user.role != Role.CASE_MANAGER:
        return []
    if substituted is None:
        substituted = substituted_colleague_ids(user=user)
    return [user.pk, *substituted]


_UNRESTRICTED = Q(client__processing_restricted_at__isnull=True)


def _restricted(client: Client) -> bool:
    return client.processing_restricted_at is not None


def appointment_visibility_filter(*, user: Any, substituted: list[int] | None = None) -> Q | None:
    """A filter on Appointment for what `user` may see, or None when they see nothing
    (`substituted` as for `managed_case_manager_ids`)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.role == Role.CASE_MANAGER:
        managed = managed_case_manager_ids(user=user, substituted=substituted)
        return Q(case_manager_id__in=managed) & _UNRESTRICTED
    if user.role == Role.TEAM_LEAD:
        if user.team_id is None:
            return None
        return Q(case_manager__team_id=user.team_id) & _UNRESTRICTED
    if user.role == Role.CLIENT:
        return Q(client__user_id=user.pk) & _UNRESTRICTED
    return None


def appointments_visible_to(
    *, user: Any, substituted: list[int] | None = None
) -> QuerySet[Appointment]:
    """All appointments `user` may see (an empty queryset for admins, DPOs, strangers)."""
    condition = appointment_visibility_filter(user=user, substituted=substituted)
    if condition is None:
        return Appointment.objects.none()
    return Appointment.objects.filter(condition)


def clients_manageable_by(*, user: Any) -> QuerySet[Client]:
    """Clients for whom `user` may book appointments: own caseload plus substituted ones."""
    ids = managed_case_manager_ids(user=user)
    if not ids:
        return Client.objects.none()
    return Client.objects.filter(case_manager_id__in=ids, processing_restricted_at__isnull=True)


def can_view_appointment(*, user: Any, appointment: Appointment) -> bool:
    return appointments_visible_to(user=user).filter(pk=appointment.pk).exists()


def can_change_appointment(*, user: Any, appointment: Appointment) -> bool:
    """Book, move, cancel and record attendance: the case manager or their substitute."""
    return not _restricted(appointment.client) and appointment.case_manager_id in (
        managed_case_manager_ids(user=user)
    )


def can_manage_client(*, user: Any, client: Client) -> bool:
    return not _restricted(client) and client.case_manager_id in managed_case_manager_ids(user=user)


def is_client_of(*, user: Any, appointment: Appointment) -> bool:
    """True when `user` is the portal account of the appointment's client."""
    return (
        getattr(user, "is_authenticated", False)
        and user.role == Role.CLIENT
        and appointment.client.user_id == user.pk
        and not _restricted(appointment.client)
    )


def client_profile_of(*, user: Any) -> Client | None:
    """The Client record behind a logged-in client user, if any."""
    if not getattr(user, "is_authenticated", False) or user.role != Role.CLIENT:
        return None
    return Client.objects.filter(user_id=user.pk, processing_restricted_at__isnull=True).first()


def client_can_move(*, appointment: Appointment, now: datetime.datetime | None = None) -> bool:
    """The office's rule for the client moving online: a booked appointment, at least
    SHORT_NOTICE before its start. Closer than that the client cancels or asks for another
    time (services.appointment_move_by_client enforces the same rule)."""
    return (
        appointment.status == AppointmentStatus.BOOKED
        and appointment.starts_at is not None
        and appointment.starts_at - (now or timezone.now()) >= SHORT_NOTICE
    )
