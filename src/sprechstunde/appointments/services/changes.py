"""Changes to a booked appointment: cancel, another time, confirm, move, off video, attendance."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import permissions
from ..choices import (
    BLOCKING_STATUSES,
    SHORT_NOTICE,
    AppointmentStatus,
    CancellationClass,
    Channel,
    MailKind,
    MailRecipient,
)
from ..models import Appointment, OfficeHours
from ..reminders import reminders_schedule
from .mail_delivery import _queue_mails
from .rules import (
    MAX_APPOINTMENT_MINUTES,
    BookingError,
    _audit,
    _check_calendar,
    _check_channel,
    _location_for,
    _lock_calendar,
    _reload_for_update,
    _require_change_right,
    _require_own_client_appointment,
    _save_blocking,
)


def cancellation_class_for(
    *, by_client: bool, starts_at: datetime.datetime | None, at: datetime.datetime
) -> str:
    """Classify a cancellation: by the Jobcenter, or by the client early / at short notice."""
    if not by_client:
        return CancellationClass.JOBCENTER
    if starts_at is not None and starts_at - at < SHORT_NOTICE:
        return CancellationClass.CLIENT_LATE
    return CancellationClass.CLIENT_EARLY


def appointment_cancel(*, actor: Any, appointment: Appointment, reason: str) -> Appointment:
    """Either side cancels a booked or proposed appointment, with a reason.

    The cancellation is classed (client ≥ 24 h, client < 24 h, Jobcenter) for the figures,
    and both calendars get an iTIP CANCEL with a raised SEQUENCE.
    """
    reason = reason.strip()
    if not reason:
        raise ApplicationError(_("Please give a reason."), field="reason")
    with transaction.atomic():
        appointment = _reload_for_update(appointment)
        by_client = permissions.is_client_of(user=actor, appointment=appointment)
        if not by_client:
            _require_change_right(actor, appointment)
        if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.PROPOSED):
            raise ApplicationError(_("This appointment can no longer be cancelled."))
        now = timezone.now()
        if appointment.starts_at is not None and appointment.starts_at <= now:
            raise ApplicationError(
                _("This appointment has already started or is over and cannot be cancelled.")
            )
        was_booked = appointment.status == AppointmentStatus.BOOKED
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by = actor
        appointment.cancel_reason = reason
        appointment.cancellation_class = cancellation_class_for(
            by_client=by_client, starts_at=appointment.starts_at, at=now
        )
        if was_booked:
            appointment.sequence += 1
        appointment.save()
        _audit(actor, "appointment.cancel", appointment)
        if was_booked:
            _queue_mails(appointment, MailKind.CANCELLED)
    return appointment


def appointment_request_other_time(*, actor: Any, appointment: Appointment) -> Appointment:
    """The client asks for another time with one tap; the case manager is told by mail.

    Asking twice for the same version of the appointment sends one mail only.
    """
    with transaction.atomic():
        appointment = _reload_for_update(appointment)
        _require_own_client_appointment(actor, appointment)
        if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.PROPOSED):
            raise ApplicationError(_("This appointment is no longer open."))
        if appointment.starts_at is not None and appointment.starts_at <= timezone.now():
            raise ApplicationError(_("This appointment has already started or is over."))
        if appointment.other_time_requested_at is None:
            appointment.other_time_requested_at = timezone.now()
            appointment.save(update_fields=["other_time_requested_at", "updated_at"])
            _audit(actor, "appointment.request_other_time", appointment)
            _queue_mails(appointment, MailKind.OTHER_TIME_REQUESTED, [MailRecipient.CASE_MANAGER])
    return appointment


def appointment_confirm(*, actor: Any, appointment: Appointment) -> Appointment:
    """The client confirms they will come (from the portal or a reminder link)."""
    with transaction.atomic():
        appointment = _reload_for_update(appointment)
        _require_own_client_appointment(actor, appointment)
        if appointment.status != AppointmentStatus.BOOKED:
            raise ApplicationError(_("This appointment is no longer open."))
        if appointment.starts_at is not None and appointment.starts_at <= timezone.now():
            raise ApplicationError(_("This appointment has already started or is over."))
        if appointment.confirmed_at is None:
            appointment.confirmed_at = timezone.now()
            appointment.save(update_fields=["confirmed_at", "updated_at"])
            _audit(actor, "appointment.confirm", appointment)
    return appointment


def appointment_move(
    *,
    actor: Any,
    appointment: Appointment,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    channel: str | None = None,
    location: str | None = None,
) -> Appointment:
    """The case manager moves a booked appointment. It keeps its UID; SEQUENCE goes up by one."""
    with transaction.atomic():
        _lock_calendar(appointment.case_manager_id)
        appointment = _reload_for_update(appointment)
        _require_change_right(actor, appointment)
        if appointment.status != AppointmentStatus.BOOKED:
            raise ApplicationError(_("Only booked appointments can be moved."))
        if appointment.starts_at is not None and appointment.starts_at <= timezone.now():
            raise ApplicationError(_("This appointment has already started or is over."))
        channel = channel or appointment.channel
        location = appointment.location if location is None else location
        _check_channel(client=appointment.client, channel=channel, location=location)
        _check_calendar(
            case_manager_id=appointment.case_manager_id,
            client_id=appointment.client_id,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_pk=appointment.pk,
        )
        appointment.starts_at = starts_at
        appointment.ends_at = ends_at
        appointment.channel = channel
        appointment.location = location.strip()
        appointment.sequence += 1
        appointment.confirmed_at = None
        appointment.other_time_requested_at = None
        _save_blocking(appointment)
        _audit(actor, "appointment.move", appointment)
        _queue_mails(appointment, MailKind.MOVED)
        reminders_schedule(appointment=appointment)
    return appointment


def appointment_move_by_client(
    *,
    actor: Any,
    appointment: Appointment,
    office_hours: OfficeHours,
    starts_at: datetime.datetime,
) -> Appointment:
    """The client moves their own booked appointment to a free slot of their case manager's
    client-bookable office hours, on the same channel. Closer than SHORT_NOTICE to the start
    the office's rule is: no moving online, only cancelling or asking for another time.
    It keeps its UID; SEQUENCE goes up by one and both sides get the new time by mail."""
    from ..selectors import office_hours_slot_fits

    with transaction.atomic():
        _lock_calendar(appointment.case_manager_id)
        appointment = _reload_for_update(appointment)
        _require_own_client_appointment(actor, appointment)
        if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at is None:
            raise ApplicationError(_("Only booked appointments can be moved."))
        now = timezone.now()
        if appointment.starts_at - now < SHORT_NOTICE:
            raise ApplicationError(
                _(
                    "Less than 24 hours before the appointment it can no longer be moved "
                    "here. Please cancel it or ask for another time."
                )
            )
        if (
            office_hours.case_manager_id != appointment.case_manager_id
            or not office_hours.is_client_bookable
        ):
            raise PermissionDeniedError(_("These office hours are not open to you."))
        if not office_hours.offers(appointment.channel):
            raise BookingError(_("This channel is not offered at that time."), field="starts_at")
        if not office_hours_slot_fits(office_hours=office_hours, starts_at=starts_at):
            raise BookingError(_("Please choose one of the offered times."), field="starts_at")
        ends_at = starts_at + datetime.timedelta(minutes=office_hours.slot_minutes)
        location = appointment.location
        if appointment.channel == Channel.ON_SITE and office_hours.on_site_address.strip():
            location = office_hours.on_site_address
        _check_calendar(
            case_manager_id=appointment.case_manager_id,
            client_id=appointment.client_id,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_pk=appointment.pk,
        )
        appointment.starts_at = starts_at
        appointment.ends_at = ends_at
        appointment.location = location.strip()
        appointment.sequence += 1
        appointment.confirmed_at = None
        appointment.other_time_requested_at = None
        _save_blocking(appointment)
        _audit(actor, "appointment.move_by_client", appointment)
        _queue_mails(appointment, MailKind.MOVED)
        reminders_schedule(appointment=appointment)
    return appointment


def appointment_switch_from_video(*, actor: Any, client: Client) -> list[Appointment]:
    """The client's video consent was withdrawn: every future video appointment changes to
    the channel the office set (APPOINTMENT_CHANNEL_WITHOUT_VIDEO), in the caller's transaction.

    Same time, same UID, SEQUENCE + 1: both sides get the new invitation and new reminders.
    Open proposals change too, so that picking one can never book a video call without consent.
    The caller (consent_withdraw) has already checked that `actor` may act for the client.
    """
    now = timezone.now()
    wanted = settings.APPOINTMENT_CHANNEL_WITHOUT_VIDEO
    with transaction.atomic():
        appointments = list(
            Appointment.objects.select_for_update()
            .select_related("client")
            .filter(client=client, channel=Channel.VIDEO)
            .filter(
                Q(status=AppointmentStatus.BOOKED, starts_at__gt=now)
                | Q(status=AppointmentStatus.PROPOSED)
            )
            .order_by("pk")
        )
        for appointment in appointments:
            channel, location = wanted, ""
            if channel == Channel.ON_SITE:
                location = (
                    _location_for(
                        case_manager_id=appointment.case_manager_id, channel=channel, location=""
                    )
                    or settings.JOBCENTER_ADDRESS.strip()
                )
                if not location:
                    channel = Channel.PHONE  # no address known: a call is the only way left
            appointment.channel = channel
            appointment.location = location
            if appointment.status == AppointmentStatus.BOOKED:
                appointment.sequence += 1
            appointment.save(update_fields=["channel", "location", "sequence", "updated_at"])
            _audit(actor, "appointment.channel_change", appointment)
            if appointment.status == AppointmentStatus.BOOKED:
                _queue_mails(appointment, MailKind.CHANNEL_CHANGED)
                # Reminders belong to a version: the old ones (with a join link) are skipped.
                reminders_schedule(appointment=appointment)
    return appointments


def attendance_mark(
    *, actor: Any, appointment: Appointment, status: str, actual_minutes: int | None = None
) -> Appointment:
    """After the start, the case manager records whether the appointment was held or a no-show."""
    if status not in (AppointmentStatus.HELD, AppointmentStatus.NO_SHOW):
        raise ApplicationError(_("Choose held or no-show."), field="status")
    if actual_minutes is not None and not 0 < actual_minutes <= MAX_APPOINTMENT_MINUTES:
        raise ApplicationError(_("The duration is not plausible."), field="actual_minutes")
    with transaction.atomic():
        appointment = _reload_for_update(appointment)
        _require_change_right(actor, appointment)
        if appointment.status not in BLOCKING_STATUSES:
            raise ApplicationError(_("Attendance can only be recorded for booked appointments."))
        if appointment.starts_at is None or appointment.starts_at > timezone.now():
            raise ApplicationError(_("Attendance can be recorded once the appointment has begun."))
        appointment.status = status
        appointment.attendance_marked_at = timezone.now()
        appointment.attendance_marked_by = actor
        if status == AppointmentStatus.HELD:
            appointment.actual_minutes = actual_minutes
        else:
            appointment.actual_minutes = None
        appointment.save()
        _audit(actor, "appointment.attendance", appointment)
    return appointment
