"""The client's 'my appointments' in the portal: pick, confirm, cancel, another time."""

from __future__ import annotations

from abc import ABC, abstractmethod

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import ical, permissions, selectors, services
from ..choices import Channel
from ..forms import AppointmentCancelForm, ClientMoveForm, OfficeHoursBookForm, ProposalAcceptForm
from ..models import Appointment
from .base import ClientPortalMixin

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


class PortalBookView(ClientPortalMixin, View):
    """The client books a free slot of their case manager's office hours."""

    def get(self, request: HttpRequest) -> HttpResponse:
        client = permissions.client_profile_of(user=request.user)
        if client is None:
            raise Http404
        slots = selectors.office_hours_free_slots(
            case_manager_id=client.case_manager_id, start_day=timezone.localdate(), days=21
        )
        return render(
            request,
            "appointments/portal_book.html",
            {"slots": slots, "channel_choices": Channel.choices},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        client = permissions.client_profile_of(user=request.user)
        if client is None:
            raise Http404
        form = OfficeHoursBookForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please choose one of the offered times."))
            return redirect("appointments:portal_book")
        office_hours = (
            selectors.office_hours_bookable_by_client(client=client)
            .filter(pk=form.cleaned_data["office_hours"])
            .first()
        )
        if office_hours is None:
            raise Http404
        try:
            appointment = services.appointment_book_from_office_hours(
                actor=request.user,
                office_hours=office_hours,
                starts_at=form.cleaned_data["starts_at"],
                channel=form.cleaned_data["channel"],
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("appointments:portal_book")
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
