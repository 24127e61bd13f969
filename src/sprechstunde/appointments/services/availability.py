"""Office hours, absences and the private calendar feed tokens of staff."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from ..choices import Channel
from ..models import Absence, CalendarFeedToken, OfficeHours
from .rules import _lock_calendar


def office_hours_create(
    *,
    actor: Any,
    weekday: int,
    start_time: datetime.time,
    end_time: datetime.time,
    slot_minutes: int,
    channels: Sequence[str],
    on_site_address: str = "",
    is_client_bookable: bool = True,
) -> OfficeHours:
    """Add a weekly block of office hours for the acting case manager; blocks may not overlap."""
    if actor.role != "case_manager":
        raise PermissionDeniedError(_("Only case managers have office hours."))
    if end_time <= start_time:
        raise ApplicationError(_("The end must be after the start."), field="end_time")
    if not 5 <= slot_minutes <= 240:
        raise ApplicationError(_("A slot lasts between 5 and 240 minutes."), field="slot_minutes")
    block = datetime.datetime.combine(datetime.date.min, end_time) - datetime.datetime.combine(
        datetime.date.min, start_time
    )
    if block < datetime.timedelta(minutes=slot_minutes):
        raise ApplicationError(_("The block is shorter than one slot."), field="slot_minutes")
    channels = [channel for channel in Channel.values if channel in set(channels)]
    if not channels:
        raise ApplicationError(_("Offer at least one channel."), field="channels")
    if Channel.ON_SITE in channels and not on_site_address.strip():
        raise ApplicationError(_("On-site office hours need an address."), field="on_site_address")
    with transaction.atomic():
        _lock_calendar(actor.pk)
        overlap = OfficeHours.objects.filter(
            case_manager=actor, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
        )
        if overlap.exists():
            raise ApplicationError(
                _("These office hours overlap with office hours you already have."),
                field="start_time",
            )
        office_hours = OfficeHours.objects.create(
            case_manager=actor,
            weekday=weekday,
            start_time=start_time,
            end_time=end_time,
            slot_minutes=slot_minutes,
            channels=channels,
            on_site_address=on_site_address.strip(),
            is_client_bookable=is_client_bookable,
        )
        audit_record(actor=actor, action="office_hours.create", target=office_hours)
    return office_hours


def office_hours_delete(*, actor: Any, office_hours: OfficeHours) -> None:
    """Remove a block of office hours; appointments already booked stay."""
    if office_hours.case_manager_id != actor.pk:
        raise PermissionDeniedError(_("These are not your office hours."))
    with transaction.atomic():
        audit_record(actor=actor, action="office_hours.delete", target=office_hours)
        office_hours.delete()


def absence_create(*, actor: Any, starts_on: datetime.date, ends_on: datetime.date) -> Absence:
    """Record that the acting staff member is away; no bookings can be made for those days."""
    if ends_on < starts_on:
        raise ApplicationError(_("The last day must not be before the first."), field="ends_on")
    with transaction.atomic():
        absence = Absence.objects.create(user=actor, starts_on=starts_on, ends_on=ends_on)
        audit_record(actor=actor, action="absence.create", target=absence)
    return absence


def absence_delete(*, actor: Any, absence: Absence) -> None:
    """Remove one of the acting staff member's absences."""
    if absence.user_id != actor.pk:
        raise PermissionDeniedError(_("This is not your absence."))
    with transaction.atomic():
        audit_record(actor=actor, action="absence.delete", target=absence)
        absence.delete()


def _feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def calendar_feed_token_create(*, user: Any) -> str:
    """Issue a new private feed token for a staff member, revoking the old one.

    Returns the token itself; only its hash is stored, so it is shown exactly once.
    """
    if not getattr(user, "is_staff_member", False):
        raise PermissionDeniedError(_("Only staff have a calendar feed."))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        feed = CalendarFeedToken.objects.create(user=user, token_hash=_feed_token_hash(token))
        audit_record(actor=user, action="calendar_feed.create", target=feed)
    return token


def calendar_feed_token_revoke(*, user: Any) -> int:
    """Revoke the staff member's feed URL; calendars subscribed to it stop updating."""
    with transaction.atomic():
        count = CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if count:
            audit_record(
                actor=user, action="calendar_feed.revoke", target_type="calendar_feed_token"
            )
    return count
