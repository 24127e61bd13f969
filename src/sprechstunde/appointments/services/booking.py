"""Booking three ways: directly, from proposed slots, and from office hours."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import itertools
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client
from sprechstunde.core.errors import PermissionDeniedError

from .. import permissions
from ..choices import AppointmentStatus, BookingSource, Channel, MailKind, MailRecipient
from ..models import Appointment, OfficeHours, SlotProposal
from ..reminders import reminders_schedule
from .mail_delivery import _queue_mails
from .rules import (
    MAX_PROPOSED_SLOTS,
    BookingError,
    _audit,
    _check_calendar,
    _check_channel,
    _location_for,
    _lock_calendar,
    _reload_for_update,
    _require_own_client_appointment,
    _save_blocking,
)


def appointment_book(
    *,
    actor: Any,
    client: Client,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    channel: str,
    location: str = "",
) -> Appointment:
    """The case manager (or their substitute) books an appointment directly for a client."""
    if not permissions.can_manage_client(user=actor, client=client):
        raise PermissionDeniedError(_("You may not book appointments for this client."))
    location = _location_for(case_manager_id=actor.pk, channel=channel, location=location)
    _check_channel(client=client, channel=channel, location=location)
    with transaction.atomic():
        _lock_calendar(actor.pk)
        _check_calendar(
            case_manager_id=actor.pk, client_id=client.pk, starts_at=starts_at, ends_at=ends_at
        )
        appointment = Appointment(
            case_manager=actor,
            client=client,
            starts_at=starts_at,
            ends_at=ends_at,
            channel=channel,
            location=location.strip(),
            status=AppointmentStatus.BOOKED,
            source=BookingSource.DIRECT,
            created_by=actor,
            booked_at=timezone.now(),
        )
        _save_blocking(appointment)
        _audit(actor, "appointment.book", appointment)
        _queue_mails(appointment, MailKind.BOOKED)
        reminders_schedule(appointment=appointment)
    return appointment


def appointment_propose(
    *,
    actor: Any,
    client: Client,
    slots: Sequence[tuple[datetime.datetime, datetime.datetime]],
    channel: str,
    location: str = "",
) -> Appointment:
    """The case manager proposes one to three slots; the client picks one later (`proposal_accept`).

    Proposed slots do not block the calendar; a slot that is taken meanwhile can no longer
    be picked.
    """
    if not permissions.can_manage_client(user=actor, client=client):
        raise PermissionDeniedError(_("You may not book appointments for this client."))
    if not 1 <= len(slots) <= MAX_PROPOSED_SLOTS:
        raise BookingError(_("Propose one, two or three slots."), field="slots")
    ordered = sorted(slots)
    for (_start, first_end), (second_start, _end) in itertools.pairwise(ordered):
        if second_start < first_end:
            raise BookingError(_("The proposed slots overlap each other."), field="slots")
    location = _location_for(case_manager_id=actor.pk, channel=channel, location=location)
    _check_channel(client=client, channel=channel, location=location)
    with transaction.atomic():
        _lock_calendar(actor.pk)
        for starts_at, ends_at in ordered:
            _check_calendar(
                case_manager_id=actor.pk,
                client_id=client.pk,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        appointment = Appointment.objects.create(
            case_manager=actor,
            client=client,
            channel=channel,
            location=location.strip(),
            status=AppointmentStatus.PROPOSED,
            source=BookingSource.PROPOSAL,
            created_by=actor,
        )
        SlotProposal.objects.bulk_create(
            SlotProposal(appointment=appointment, starts_at=start, ends_at=end)
            for start, end in ordered
        )
        _audit(actor, "appointment.propose", appointment)
        _queue_mails(appointment, MailKind.PROPOSED, [MailRecipient.CLIENT])
    return appointment


def proposal_accept(*, actor: Any, appointment: Appointment, slot_id: int) -> Appointment:
    """The client picks one of the proposed slots; the appointment is booked at that time."""
    with transaction.atomic():
        _lock_calendar(appointment.case_manager_id)
        appointment = _reload_for_update(appointment)
        _require_own_client_appointment(actor, appointment)
        if appointment.status != AppointmentStatus.PROPOSED:
            raise BookingError(_("This proposal is no longer open."))
        slot = appointment.proposed_slots.filter(pk=slot_id).first()
        if slot is None:
            raise BookingError(_("Please choose one of the proposed times."), field="slot")
        _check_calendar(
            case_manager_id=appointment.case_manager_id,
            client_id=appointment.client_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
        appointment.starts_at = slot.starts_at
        appointment.ends_at = slot.ends_at
        appointment.status = AppointmentStatus.BOOKED
        appointment.booked_at = timezone.now()
        appointment.other_time_requested_at = None
        _save_blocking(appointment)
        _audit(actor, "appointment.accept_proposal", appointment)
        _queue_mails(appointment, MailKind.BOOKED)
        reminders_schedule(appointment=appointment)
    return appointment


def appointment_book_from_office_hours(
    *, actor: Any, office_hours: OfficeHours, starts_at: datetime.datetime, channel: str
) -> Appointment:
    """The client books a free slot of their case manager's office hours themselves."""
    from ..selectors import office_hours_slot_fits

    client = permissions.client_profile_of(user=actor)
    if client is None or office_hours.case_manager_id != client.case_manager_id:
        raise PermissionDeniedError(_("These office hours are not open to you."))
    if not office_hours.is_client_bookable:
        raise BookingError(_("These office hours cannot be booked online."))
    if not office_hours.offers(channel):
        raise BookingError(_("This channel is not offered at that time."), field="channel")
    if not office_hours_slot_fits(office_hours=office_hours, starts_at=starts_at):
        raise BookingError(_("Please choose one of the offered times."), field="starts_at")
    ends_at = starts_at + datetime.timedelta(minutes=office_hours.slot_minutes)
    location = office_hours.on_site_address if channel == Channel.ON_SITE else ""
    _check_channel(client=client, channel=channel, location=location)
    with transaction.atomic():
        _lock_calendar(office_hours.case_manager_id)
        _check_calendar(
            case_manager_id=office_hours.case_manager_id,
            client_id=client.pk,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        appointment = Appointment(
            case_manager_id=office_hours.case_manager_id,
            client=client,
            starts_at=starts_at,
            ends_at=ends_at,
            channel=channel,
            location=location,
            status=AppointmentStatus.BOOKED,
            source=BookingSource.OFFICE_HOURS,
            created_by=actor,
            booked_at=timezone.now(),
        )
        _save_blocking(appointment)
        _audit(actor, "appointment.book_office_hours", appointment)
        _queue_mails(appointment, MailKind.BOOKED)
        reminders_schedule(appointment=appointment)
    return appointment
