"""The client's 'my appointments' in the portal: pick, confirm, cancel, another time, and
self-booking in three short steps (day or next free time, time, confirmation)."""

from __future__ import annotations

import datetime
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import ical, permissions, selectors, services
from ..choices import Channel
from ..forms.portal import (
    AppointmentCancelForm,
    ClientMoveForm,
    OfficeHoursBookForm,
    ProposalAcceptForm,
)
from ..models import Appointment, OfficeHours
from .base import ClientPortalMixin, _deny

# How far ahead the client may move an appointment to (the same span as booking).
MOVE_DAYS_AHEAD = 21


class PortalListView(ClientPortalMixin, View):
    """'Meine Termine': proposals to pick from, upcoming appointments, recent ones."""

    def get(self, request: HttpRequest) -> HttpResponse:
        groups = selectors.appointment_list_for_client_user(user=request.user)
        client = permissions.client_profile_of(user=request.user)
        can_book = bool(
            client and selectors.office_hours_bookable_by_client(client=client).exists()
        )
        return render(request, "appointments/portal_list.html", {**groups, "can_book": can_book})


class PortalDetailView(ClientPortalMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        now = timezone.now()
        return render(
            request,
            "appointments/portal_detail.html",
            {
                "appointment": appointment,
                "slots": [s for s in appointment.proposed_slots.all() if s.starts_at > now],
                "is_upcoming": appointment.starts_at is not None and appointment.starts_at > now,
                "map_url": ical.map_url(appointment.location)
                if appointment.channel == Channel.ON_SITE
                else "",
                "cancel_form": AppointmentCancelForm(),
                "can_move": permissions.client_can_move(appointment=appointment),
            },
        )


class PortalActionView(ClientPortalMixin, View, ABC):
    """Base for the one-tap client actions: run the service, show the outcome."""

    success_message = ""

    @abstractmethod
    def act(self, request: HttpRequest, appointment: Appointment) -> None:
        """The action itself (each subclass calls its service)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        try:
            self.act(request, appointment)
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, self.success_message)
        return redirect("appointments:portal_detail", pk=appointment.pk)


class PortalAcceptView(PortalActionView):
    def act(self, request: HttpRequest, appointment: Appointment) -> None:
        form = ProposalAcceptForm(request.POST)
        if not form.is_valid():
            raise ApplicationError(_("Please choose one of the proposed times."))
        services.proposal_accept(
            actor=request.user, appointment=appointment, slot_id=form.cleaned_data["slot"]
        )
        self.success_message = _("Your appointment is booked. You will get an invitation.")


class PortalConfirmView(PortalActionView):
    def act(self, request: HttpRequest, appointment: Appointment) -> None:
        services.appointment_confirm(actor=request.user, appointment=appointment)
        self.success_message = _("Thank you, you have confirmed the appointment.")


class PortalOtherTimeView(PortalActionView):
    def act(self, request: HttpRequest, appointment: Appointment) -> None:
        services.appointment_request_other_time(actor=request.user, appointment=appointment)
        self.success_message = _("Your case manager will offer you another time.")


class PortalCancelView(PortalActionView):
    def act(self, request: HttpRequest, appointment: Appointment) -> None:
        form = AppointmentCancelForm(request.POST)
        if not form.is_valid():
            raise ApplicationError(_("Please give a reason."))
        services.appointment_cancel(
            actor=request.user, appointment=appointment, reason=form.cleaned_data["reason"]
        )
        self.success_message = _("The appointment has been cancelled.")


# How many days with free times the day picker offers, and how far ahead it looks.
BOOKING_DAYS_SHOWN = 12
BOOKING_HORIZON_DAYS = 21


def _booking_client(request: HttpRequest) -> Client:
    client = permissions.client_profile_of(user=request.user)
    if client is None:
        raise Http404
    return client


def _slot_value(slot: selectors.ClientSlot) -> str:
    """The slot's start as the booking links carry it: local wall-clock time, no offset."""
    return timezone.localtime(slot.starts_at, selectors.local_zone()).strftime("%Y-%m-%dT%H:%M")


def _picker_url(day: datetime.date | None = None, channel: str = "") -> str:
    url = reverse("appointments:portal_book")
    if day is None:
        return url
    query = {"day": day.isoformat(), **({"channel": channel} if channel else {})}
    return f"{url}?{urlencode(query)}"


def _confirm_url(slot: selectors.ClientSlot, channel: str) -> str:
    query = {"office_hours": slot.office_hours.pk, "starts_at": _slot_value(slot)}
    return (
        reverse("appointments:portal_book_confirm") + "?" + urlencode({**query, "channel": channel})
    )


def _channel_links(slot: selectors.ClientSlot) -> list[dict[str, str]]:
    return [
        {"label": str(Channel(channel).label), "url": _confirm_url(slot, channel)}
        for channel in slot.channels
    ]


class PortalBookView(ClientPortalMixin, View):
    """Self-booking, step one and two, as plain links (no JavaScript needed): the next free
    time, or a day from a compact picker and then a time on that day. Nothing is booked
    here; every time leads to the confirmation step."""

    def get(self, request: HttpRequest) -> HttpResponse:
        client = _booking_client(request)
        slots = selectors.office_hours_slots_for_client(client=client, days=BOOKING_HORIZON_DAYS)
        days = list(dict.fromkeys(slot.day for slot in slots))
        day = _parse_optional_day(request.GET.get("day"))
        if day is not None:
            if day not in days:
                messages.info(request, _("There are no free times left on that day."))
                return redirect("appointments:portal_book")
            return self._day(request, day, [slot for slot in slots if slot.day == day])
        return render(
            request,
            "appointments/portal_book.html",
            {
                "next_slot": slots[0] if slots else None,
                "next_channels": _channel_links(slots[0]) if slots else [],
                "days": [{"day": d, "url": _picker_url(d)} for d in days[:BOOKING_DAYS_SHOWN]],
            },
        )

    def _day(
        self, request: HttpRequest, day: datetime.date, slots: list[selectors.ClientSlot]
    ) -> HttpResponse:
        """One day: a channel switch (only if there is a choice) and its times as a grid."""
        offered = [c for c in Channel.values if any(c in slot.channels for slot in slots)]
        channel = request.GET.get("channel")
        if channel not in offered:
            channel = offered[0]
        times = []
        seen = set()
        for slot in slots:
            if channel in slot.channels and slot.starts_at not in seen:
                seen.add(slot.starts_at)
                times.append({"slot": slot, "url": _confirm_url(slot, channel)})
        return render(
            request,
            "appointments/portal_book_day.html",
            {
                "day": day,
                "channel_label": Channel(channel).label,
                "channels": [
                    {
                        "label": Channel(c).label,
                        "url": _picker_url(day, c),
                        "current": c == channel,
                    }
                    for c in offered
                ]
                if len(offered) > 1
                else [],
                "times": times,
            },
        )


class PortalBookConfirmView(ClientPortalMixin, View):
    """Self-booking, last step: "Tuesday 10:00, video: book?" with Book and Back. Only this
    page's POST books; the service checks the slot again under the calendar lock, and a time
    taken meanwhile sends the client back to the picker with a message, nothing booked."""

    def _chosen(
        self, request: HttpRequest, data: Any
    ) -> tuple[Client, OfficeHoursBookForm, OfficeHours | None]:
        client = _booking_client(request)
        form = OfficeHoursBookForm(data)
        if not form.is_valid():
            return client, form, None
        office_hours = (
            selectors.office_hours_bookable_by_client(client=client)
            .filter(pk=form.cleaned_data["office_hours"])
            .first()
        )
        if office_hours is None:
            # Another case manager's office hours, or gone: nothing to show or book.
            _deny(request.user, "appointments.officehours", form.cleaned_data["office_hours"])
        return client, form, office_hours

    def _back_to_picker(
        self, starts_at: datetime.datetime | None, message: str, channel: str = ""
    ) -> HttpResponse:
        messages.error(self.request, message)
        day = timezone.localtime(starts_at, selectors.local_zone()).date() if starts_at else None
        return redirect(_picker_url(day, channel))

    def get(self, request: HttpRequest) -> HttpResponse:
        client, form, office_hours = self._chosen(request, request.GET)
        if office_hours is None:
            return self._back_to_picker(None, _("Please choose one of the offered times."))
        starts_at = form.cleaned_data["starts_at"]
        channel = form.cleaned_data["channel"]
        slot = next(
            (
                slot
                for slot in selectors.office_hours_slots_for_client(
                    client=client, days=BOOKING_HORIZON_DAYS
                )
                if slot.office_hours.pk == office_hours.pk and slot.starts_at == starts_at
            ),
            None,
        )
        if slot is None or channel not in slot.channels:
            return self._back_to_picker(
                starts_at, _("This time is no longer free. Please choose another."), channel
            )
        return render(
            request,
            "appointments/portal_book_confirm.html",
            {
                "slot": slot,
                "channel": channel,
                "channel_label": Channel(channel).label,
                "starts_at_value": _slot_value(slot),
                "back_url": _picker_url(slot.day, channel),
                "address": office_hours.on_site_address if channel == Channel.ON_SITE else "",
            },
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        _client, form, office_hours = self._chosen(request, request.POST)
        if office_hours is None:
            return self._back_to_picker(None, _("Please choose one of the offered times."))
        starts_at = form.cleaned_data["starts_at"]
        try:
            appointment = services.appointment_book_from_office_hours(
                actor=request.user,
                office_hours=office_hours,
                starts_at=starts_at,
                channel=form.cleaned_data["channel"],
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            return self._back_to_picker(starts_at, str(error.message), form.cleaned_data["channel"])
        messages.success(request, _("Your appointment is booked. You will get an invitation."))
        return redirect("appointments:portal_detail", pk=appointment.pk)


@method_decorator(client_permissions.consent_required(ConsentPurpose.VIDEO), name="dispatch")
class PortalVideoView(ClientPortalMixin, View):
    """'Videogespräche': the client's booked video appointments with the join button when
    the call is open, and the recent ones."""

    def get(self, request: HttpRequest) -> HttpResponse:
        groups = selectors.appointment_video_list_for_client_user(user=request.user)
        return render(request, "appointments/portal_video.html", groups)


def _move_slots(appointment: Appointment) -> list[selectors.FreeSlot]:
    """Free slots of the case manager's client-bookable office hours on the same channel."""
    slots = selectors.office_hours_free_slots(
        case_manager_id=appointment.case_manager_id,
        start_day=timezone.localdate(),
        days=MOVE_DAYS_AHEAD,
    )
    return [
        slot
        for slot in slots
        if slot.office_hours.offers(appointment.channel) and slot.starts_at != appointment.starts_at
    ]


class PortalMoveView(ClientPortalMixin, View):
    """The client moves their appointment to another free time of the office hours, within
    the office's rules (not closer than 24 hours to the start)."""

    def _page(
        self, request: HttpRequest, appointment: Appointment, form: ClientMoveForm
    ) -> HttpResponse:
        can_move = permissions.client_can_move(appointment=appointment)
        return render(
            request,
            "appointments/portal_move.html",
            {
                "appointment": appointment,
                "can_move": can_move,
                "is_upcoming": appointment.starts_at is not None
                and appointment.starts_at > timezone.now(),
                "slots": _move_slots(appointment) if can_move else [],
                "form": form,
            },
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        return self._page(request, appointment, ClientMoveForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        form = ClientMoveForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please choose one of the offered times."))
            return redirect("appointments:portal_move", pk=appointment.pk)
        office_hours = (
            selectors.office_hours_bookable_by_client(client=appointment.client)
            .filter(pk=form.cleaned_data["office_hours"])
            .first()
        )
        if office_hours is None:
            messages.error(request, _("Please choose one of the offered times."))
            return redirect("appointments:portal_move", pk=appointment.pk)
        try:
            services.appointment_move_by_client(
                actor=request.user,
                appointment=appointment,
                office_hours=office_hours,
                starts_at=form.cleaned_data["starts_at"],
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("appointments:portal_move", pk=appointment.pk)
        messages.success(
            request, _("Your appointment has been moved. You will get the new invitation.")
        )
        return redirect("appointments:portal_detail", pk=appointment.pk)


def _parse_optional_day(value: str | None) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None
