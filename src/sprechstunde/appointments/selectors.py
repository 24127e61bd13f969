"""Reads for appointments. Everything that returns appointment data goes through access rules
and audits which client's data was read."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.audit.services import audit_record, audit_record_each
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client
from sprechstunde.clients.permissions import active_purposes_of
from sprechstunde.core.compiled_queries import CompiledQuery

from . import permissions
from .choices import BLOCKING_STATUSES, AppointmentStatus, CancellationClass, Channel
from .models import (
    Absence,
    Appointment,
    CalendarFeedToken,
    OfficeHours,
    PublicHoliday,
    SlotProposal,
)


def local_zone() -> ZoneInfo:
    """The Jobcenter's time zone; office hours and days are meant in it."""
    return ZoneInfo(settings.TIME_ZONE)


def _audit_reads(actor: Any, appointments: Iterable[Appointment], action: str) -> None:
    # One entry per appointment (its client's data was read), under one hold of the lock.
    audit_record_each(actor=actor, action=action, targets=appointments)


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = local_zone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


def appointment_list_for_user(
    *,
    user: Any,
    start: datetime.datetime,
    end: datetime.datetime,
    include_cancelled: bool = True,
) -> list[Appointment]:
    """Appointments `user` may see that start in [start, end), oldest first; audited."""
    queryset = (
        permissions.appointments_visible_to(user=user)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("client", "case_manager")
        .order_by("starts_at", "pk")
    )
    if not include_cancelled:
        queryset = queryset.exclude(status=AppointmentStatus.CANCELLED)
    appointments = list(queryset)
    _audit_reads(user, appointments, "appointment.list")
    return appointments


def appointment_list_for_day(*, user: Any, day: datetime.date) -> list[Appointment]:
    """One local calendar day of `user`'s appointments (the 'today' list and day view)."""
    start, end = _day_bounds(day)
    return appointment_list_for_user(user=user, start=start, end=end)


def appointment_get_for_user(*, user: Any, pk: int) -> Appointment | None:
    """One appointment if `user` may see it, else None (views answer 404); audited."""
    appointment = (
        permissions.appointments_visible_to(user=user)
        .select_related("client", "case_manager")
        .prefetch_related("proposed_slots")
        .filter(pk=pk)
        .first()
    )
    if appointment is not None:
        _audit_reads(user, [appointment], "appointment.read")
    return appointment


def appointment_list_for_client_user(*, user: Any) -> dict[str, list[Appointment]]:
    """The portal's 'my appointments': open proposals, upcoming and recent past; audited."""
    now = timezone.now()
    queryset = (
        permissions.appointments_visible_to(user=user)
        .select_related("case_manager")
        .prefetch_related(
            Prefetch(
                "proposed_slots",
                queryset=SlotProposal.objects.filter(starts_at__gt=now).order_by("starts_at"),
            )
        )
    )
    proposals = list(queryset.filter(status=AppointmentStatus.PROPOSED).order_by("created_at"))
    upcoming = list(
        queryset.filter(status=AppointmentStatus.BOOKED, ends_at__gt=now).order_by("starts_at")
    )
    past = list(
        queryset.filter(starts_at__lte=now, starts_at__gte=now - datetime.timedelta(days=90))
        .exclude(status=AppointmentStatus.PROPOSED)
        .exclude(status=AppointmentStatus.BOOKED, ends_at__gt=now)
        .order_by("-starts_at")[:10]
    )
    cancelled = list(
        queryset.filter(status=AppointmentStatus.CANCELLED, starts_at__gt=now).order_by("starts_at")
    )
    _audit_reads(user, [*proposals, *upcoming, *past, *cancelled], "appointment.list")
    return {"proposals": proposals, "upcoming": upcoming, "cancelled": cancelled, "past": past}


# The key of a client's next appointment, compiled once: the portal home asks on every
# request, and most often the answer is "none" (ADR 0092). The stand-in account goes
# through the same access rules as the real one.
_NEXT_FOR_CLIENT = CompiledQuery(
    lambda user_id, now: (
        permissions.appointments_visible_to(user=User(pk=user_id, role=Role.CLIENT, is_active=True))
        .filter(status=AppointmentStatus.BOOKED, ends_at__gt=now)
        .order_by("starts_at", "pk")
        .values_list("pk")[:1]
    ),
    arguments=("user_id",),
    times=("now",),
    count=False,
)


def appointment_next_for_client_user(*, user: Any) -> Appointment | None:
    """The client's next booked appointment that has not ended (the card on portal home);
    None for anyone else or when nothing is booked. Audited as a read."""
    if not (
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) == Role.CLIENT
    ):
        return None
    found = _NEXT_FOR_CLIENT.rows(user_id=user.pk, now=timezone.now())
    if not found:
        return None
    appointment = (
        permissions.appointments_visible_to(user=user)
        .filter(pk=found[0][0])
        .select_related("case_manager", "client")
        .first()
    )
    if appointment is not None:
        _audit_reads(user, [appointment], "appointment.read")
    return appointment


def appointment_video_list_for_client_user(*, user: Any) -> dict[str, list[Appointment]]:
    """The portal's video page: booked video appointments that have not ended, and the last
    video appointments before now (held, missed, cancelled or simply over); audited."""
    now = timezone.now()
    queryset = (
        permissions.appointments_visible_to(user=user)
        .filter(channel=Channel.VIDEO, starts_at__isnull=False)
        .select_related("case_manager", "client")
    )
    upcoming = list(
        queryset.filter(status=AppointmentStatus.BOOKED, ends_at__gt=now).order_by(
            "starts_at", "pk"
        )
    )
    past = list(
        queryset.filter(starts_at__lte=now, starts_at__gte=now - datetime.timedelta(days=365))
        .exclude(status=AppointmentStatus.PROPOSED)
        .exclude(status=AppointmentStatus.BOOKED, ends_at__gt=now)
        .order_by("-starts_at", "-pk")[:20]
    )
    _audit_reads(user, [*upcoming, *past], "appointment.list")
    return {"upcoming": upcoming, "past": past}


def client_get_for_booking(*, user: Any, pk: int) -> Client | None:
    """A client `user` may book appointments for (own or substituted caseload), else None."""
    return permissions.clients_manageable_by(user=user).filter(pk=pk).first()


# --- office hours and free slots -------------------------------------------------------------


@dataclass(frozen=True)
class FreeSlot:
    """A bookable slot cut from a block of office hours."""

    office_hours: OfficeHours
    starts_at: datetime.datetime
    ends_at: datetime.datetime


def office_hours_list_for_user(*, user: Any) -> QuerySet[OfficeHours]:
    """The acting case manager's own weekly office hours."""
    return OfficeHours.objects.filter(case_manager_id=user.pk)


def office_hours_bookable_by_client(*, client: Client) -> QuerySet[OfficeHours]:
    """The office hours of the client's case manager that clients may book themselves."""
    return OfficeHours.objects.filter(
        case_manager_id=client.case_manager_id, is_client_bookable=True
    )


def absence_list_for_user(*, user: Any) -> QuerySet[Absence]:
    """The acting staff member's absences that have not ended yet."""
    return Absence.objects.filter(user_id=user.pk, ends_on__gte=timezone.localdate())


def _slot_starts(office_hours: OfficeHours, day: datetime.date) -> list[datetime.datetime]:
    zone = local_zone()
    start = datetime.datetime.combine(day, office_hours.start_time, tzinfo=zone)
    end = datetime.datetime.combine(day, office_hours.end_time, tzinfo=zone)
    step = datetime.timedelta(minutes=office_hours.slot_minutes)
    starts = []
    current = start
    while current + step <= end:
        starts.append(current)
        current += step
    return starts


def office_hours_slot_fits(*, office_hours: OfficeHours, starts_at: datetime.datetime) -> bool:
    """Whether `starts_at` is the start of one of this block's slots (in local time)."""
    local = starts_at.astimezone(local_zone())
    if local.weekday() != office_hours.weekday:
        return False
    return any(start == local for start in _slot_starts(office_hours, local.date()))


def office_hours_free_slots(
    *, case_manager_id: int, start_day: datetime.date, days: int = 14
) -> list[FreeSlot]:
    """Free, client-bookable slots of a case manager from `start_day` for `days` days.

    Leaves out the past, public holidays, the case manager's absences and taken times.
    """
    end_day = start_day + datetime.timedelta(days=days)
    blocks = list(
        OfficeHours.objects.filter(case_manager_id=case_manager_id, is_client_bookable=True)
    )
    if not blocks:
        return []
    holidays = set(
        PublicHoliday.objects.filter(day__gte=start_day, day__lt=end_day).values_list(
            "day", flat=True
        )
    )
    absences = list(
        Absence.objects.filter(
            user_id=case_manager_id, ends_on__gte=start_day, starts_on__lt=end_day
        ).values_list("starts_on", "ends_on")
    )
    range_start, _ = _day_bounds(start_day)
    range_end, _ = _day_bounds(end_day)
    taken: list[tuple[datetime.datetime, datetime.datetime]] = [
        (taken_start, taken_end)
        for taken_start, taken_end in Appointment.objects.filter(
            case_manager_id=case_manager_id,
            status__in=BLOCKING_STATUSES,
            starts_at__lt=range_end,
            ends_at__gt=range_start,
        ).values_list("starts_at", "ends_at")
        if taken_start is not None and taken_end is not None
    ]
    now = timezone.now()
    free: list[FreeSlot] = []
    for offset in range(days):
        day = start_day + datetime.timedelta(days=offset)
        if day in holidays or any(first <= day <= last for first, last in absences):
            continue
        for block in blocks:
            if block.weekday != day.weekday():
                continue
            step = datetime.timedelta(minutes=block.slot_minutes)
            for slot_start in _slot_starts(block, day):
                slot_end = slot_start + step
                if slot_start <= now:
                    continue
                if any(b_start < slot_end and b_end > slot_start for b_start, b_end in taken):
                    continue
                free.append(FreeSlot(office_hours=block, starts_at=slot_start, ends_at=slot_end))
    free.sort(key=lambda slot: slot.starts_at)
    return free


@dataclass(frozen=True)
class ClientSlot:
    """A free slot as one client may book it: only the channels open to that client."""

    office_hours: OfficeHours
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    channels: tuple[str, ...]

    @property
    def day(self) -> datetime.date:
        return timezone.localtime(self.starts_at, local_zone()).date()


def office_hours_slots_for_client(*, client: Client, days: int = 21) -> list[ClientSlot]:
    """The free slots of the client's own case manager from today, each with the channels
    the client can book there (video only with a video consent); slots left with no
    channel are dropped. A fixed number of queries, however many slots there are."""
    purposes = active_purposes_of(client=client)
    allowed = [
        channel
        for channel in Channel.values
        if channel != Channel.VIDEO or ConsentPurpose.VIDEO in purposes
    ]
    slots = []
    for slot in office_hours_free_slots(
        case_manager_id=client.case_manager_id, start_day=timezone.localdate(), days=days
    ):
        channels = tuple(channel for channel in allowed if slot.office_hours.offers(channel))
        if channels:
            slots.append(
                ClientSlot(
                    office_hours=slot.office_hours,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    channels=channels,
                )
            )
    return slots


# --- calendar feed ---------------------------------------------------------------------------


def calendar_feed_user_for_token(*, token: str) -> User | None:
    """The staff member a feed token belongs to, if the token is valid and not revoked."""
    if not token or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    feed = (
        CalendarFeedToken.objects.select_related("user")
        .filter(token_hash=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    CalendarFeedToken.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    return feed.user


def calendar_feed_has_active_token(*, user: Any) -> bool:
    """Whether the staff member currently has a feed URL."""
    return CalendarFeedToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).exists()


def calendar_feed_appointments(*, user: Any) -> list[Appointment]:
    """What a staff member's feed shows: their own appointments from 30 days back on."""
    since = timezone.now() - datetime.timedelta(days=30)
    appointments = list(
        Appointment.objects.filter(case_manager_id=user.pk, starts_at__gte=since)
        .exclude(starts_at__isnull=True)
        .order_by("starts_at")
    )
    audit_record(actor=user, action="appointment.feed_read", target_type="calendar_feed")
    return appointments


# --- figures (read by the reporting app; no client data) ---------------------------------------


@dataclass(frozen=True)
class AppointmentFigures:
    """Counts for one month, team and channel. Rates are left to the reader."""

    month: datetime.date
    team_id: int | None
    channel: str
    held: int
    no_show: int
    cancelled_client_early: int
    cancelled_client_late: int
    cancelled_jobcenter: int
    planned_minutes: int
    actual_minutes: int
    actual_count: int

    @property
    def attended_or_missed(self) -> int:
        return self.held + self.no_show

    @property
    def show_rate(self) -> float | None:
        """Held among the appointments that were due to take place (held + no-show)."""
        total = self.attended_or_missed
        return self.held / total if total else None


def appointment_figures(
    *, viewer: Any, start: datetime.date, end: datetime.date
) -> list[AppointmentFigures]:
    """Attendance and cancellation counts by month, team and channel for [start, end).

    Team leads get their own team, administrators every team; everyone else nothing. Only
    counts leave this function: no client, no case manager, no appointment ids.
    """
    role = getattr(viewer, "role", None)
    if not getattr(viewer, "is_authenticated", False) or role not in (Role.TEAM_LEAD, Role.ADMIN):
        return []
    zone = local_zone()
    queryset = Appointment.objects.filter(
        starts_at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        starts_at__lt=datetime.datetime.combine(end, datetime.time.min, tzinfo=zone),
        status__in=[
            AppointmentStatus.HELD,
            AppointmentStatus.NO_SHOW,
            AppointmentStatus.CANCELLED,
        ],
    )
    if role == Role.TEAM_LEAD:
        queryset = queryset.filter(case_manager__team_id=viewer.team_id)
    held = Q(status=AppointmentStatus.HELD)
    rows = (
        queryset.annotate(month=TruncMonth("starts_at", tzinfo=zone))
        .values("month", "case_manager__team_id", "channel")
        .annotate(
            held=Count("pk", filter=held),
            no_show=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
            early=Count("pk", filter=Q(cancellation_class=CancellationClass.CLIENT_EARLY)),
            late=Count("pk", filter=Q(cancellation_class=CancellationClass.CLIENT_LATE)),
            jobcenter=Count("pk", filter=Q(cancellation_class=CancellationClass.JOBCENTER)),
            planned=Sum(F("ends_at") - F("starts_at"), filter=held),
            actual=Sum("actual_minutes", filter=held),
            actual_count=Count("actual_minutes", filter=held),
        )
        .order_by("month", "case_manager__team_id", "channel")
    )
    figures = []
    for row in rows:
        planned = row["planned"] or datetime.timedelta(0)
        month = row["month"]
        figures.append(
            AppointmentFigures(
                month=month.date() if isinstance(month, datetime.datetime) else month,
                team_id=row["case_manager__team_id"],
                channel=row["channel"],
                held=row["held"],
                no_show=row["no_show"],
                cancelled_client_early=row["early"],
                cancelled_client_late=row["late"],
                cancelled_jobcenter=row["jobcenter"],
                planned_minutes=int(planned.total_seconds() // 60),
                actual_minutes=row["actual"] or 0,
                actual_count=row["actual_count"],
            )
        )
    audit_record(actor=viewer, action="appointment.figures_read", target_type="figures")
    return figures
