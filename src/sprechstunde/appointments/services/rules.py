"""The booking rules every service shares: times, holidays, absences, conflicts, locks."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.models import User
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client, Consent
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import permissions
from ..choices import BLOCKING_STATUSES, Channel
from ..models import Absence, Appointment, OfficeHours, PublicHoliday
from ..selectors import local_zone

# The longest a single appointment may last; anything longer is a typing error.
MAX_APPOINTMENT_MINUTES = 8 * 60
MAX_PROPOSED_SLOTS = 3


class BookingError(ApplicationError):
    """The requested time cannot be booked (past, absence, holiday, conflict, bad times)."""


def _audit(actor: Any, action: str, appointment: Appointment) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=appointment,
        client_id=appointment.client_id,
    )


def _lock_calendar(case_manager_id: int) -> None:
    """Serialise bookings for one case manager.

    On PostgreSQL the row lock makes a second, concurrent booking wait until the first has
    committed, so its overlap check sees the first booking. On SQLite transactions are
    opened IMMEDIATE (settings), which already serialises writers.
    """
    User.objects.select_for_update().filter(pk=case_manager_id).first()


def _validate_times(*, starts_at: datetime.datetime, ends_at: datetime.datetime) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise BookingError(_("The time is missing its time zone."))
    if ends_at <= starts_at:
        raise BookingError(_("The end must be after the start."), field="ends_at")
    if ends_at - starts_at > datetime.timedelta(minutes=MAX_APPOINTMENT_MINUTES):
        raise BookingError(_("An appointment can last at most eight hours."), field="ends_at")
    zone = local_zone()
    if starts_at.astimezone(zone).date() != ends_at.astimezone(zone).date():
        raise BookingError(_("An appointment must start and end on the same day."), field="ends_at")
    if starts_at <= timezone.now():
        raise BookingError(_("This time is in the past."), field="starts_at")


def _check_calendar(
    *,
    case_manager_id: int,
    client_id: int,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    exclude_pk: int | None = None,
) -> None:
    """Raise BookingError if the slot falls on a holiday, an absence or another appointment."""
    _validate_times(starts_at=starts_at, ends_at=ends_at)
    day = starts_at.astimezone(local_zone()).date()
    holiday = PublicHoliday.objects.filter(day=day).first()
    if holiday is not None:
        raise BookingError(
            _("%(day)s is a public holiday (%(name)s).")
            % {"day": day.strftime("%d.%m.%Y"), "name": holiday.name},
            field="starts_at",
        )
    if Absence.objects.filter(user_id=case_manager_id, starts_on__lte=day, ends_on__gte=day):
        raise BookingError(_("The case manager is absent on that day."), field="starts_at")
    overlapping = Appointment.objects.filter(
        Q(case_manager_id=case_manager_id) | Q(client_id=client_id),
        status__in=BLOCKING_STATUSES,
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
    )
    if exclude_pk is not None:
        overlapping = overlapping.exclude(pk=exclude_pk)
    if overlapping.exists():
        raise BookingError(
            _("This time is already taken. Please choose another."), field="starts_at"
        )


def _check_channel(*, client: Client, channel: str, location: str) -> None:
    if channel not in Channel.values:
        raise BookingError(_("Please choose video, phone or on site."), field="channel")
    if channel == Channel.ON_SITE and not location.strip():
        raise BookingError(_("An on-site appointment needs an address."), field="location")
    if channel == Channel.VIDEO and not _has_video_consent(client):
        raise BookingError(
            _(
                "The client has not consented to video consultations. "
                "Choose phone or on site, or ask the client to give consent."
            ),
            field="channel",
        )


def _location_for(*, case_manager_id: int, channel: str, location: str) -> str:
    """On site without an address: the address of the case manager's office hours."""
    location = location.strip()
    if channel == Channel.ON_SITE and not location:
        office = (
            OfficeHours.objects.filter(case_manager_id=case_manager_id)
            .exclude(on_site_address="")
            .first()
        )
        location = office.on_site_address if office else ""
    return location


def _has_video_consent(client: Client) -> bool:
    return Consent.objects.filter(
        client=client, purpose=ConsentPurpose.VIDEO, withdrawn_at__isnull=True
    ).exists()


def _require_change_right(actor: Any, appointment: Appointment) -> None:
    if not permissions.can_change_appointment(user=actor, appointment=appointment):
        raise PermissionDeniedError(_("You may not change this appointment."))


def _require_own_client_appointment(actor: Any, appointment: Appointment) -> None:
    if not permissions.is_client_of(user=actor, appointment=appointment):
        raise PermissionDeniedError(_("You may not change this appointment."))


def _reload_for_update(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().select_related("client").get(pk=appointment.pk)


def _save_blocking(appointment: Appointment, **save_kwargs: Any) -> None:
    """Save; a collision with the unique start constraint is a conflict, not a crash."""
    try:
        with transaction.atomic():
            appointment.save(**save_kwargs)
    except IntegrityError as error:
        raise BookingError(_("This time is already taken. Please choose another.")) from error


def access_denied_record(
    *,
    user: Any,
    target_type: str,
    target_id: int | str,
    action: str = "appointment.access_denied",
) -> None:
    """Log a refused access (the page answers 404, so the person learns nothing)."""
    audit_record(
        actor=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
    )
