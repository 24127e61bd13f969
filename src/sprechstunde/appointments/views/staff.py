"""Staff calendar: today, day, week, one appointment, and booking, moving, cancelling."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import ical, permissions, selectors, services
from ..choices import AppointmentStatus, Channel
from ..forms import (
    AppointmentBookForm,
    AppointmentMoveForm,
    AppointmentProposeForm,
    AttendanceForm,
)
from ..forms.portal import AppointmentCancelForm
from ..models import Appointment
from .base import CaseManagerMixin, StaffCalendarMixin, _deny, _form_error, _parse_day

# --- staff: lists ----------------------------------------------------------------------------


class TodayView(StaffCalendarMixin, View):
    """Today's appointments with one-tap held / no-show."""

    def get(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        appointments = selectors.appointment_list_for_day(user=request.user, day=today)
        return render(
            request,
            "appointments/today.html",
            {
                "day": today,
                "appointments": appointments,
                "now": timezone.now(),
                "can_change": request.user.role == Role.CASE_MANAGER,  # type: ignore[union-attr]
            },
        )


class DayView(StaffCalendarMixin, View):
    """One day of one's appointments, with links to the previous and next day."""

    def get(self, request: HttpRequest) -> HttpResponse:
        day = _parse_day(request.GET.get("datum"))
        appointments = selectors.appointment_list_for_day(user=request.user, day=day)
        return render(
            request,
            "appointments/day.html",
            {
                "day": day,
                "previous_day": day - datetime.timedelta(days=1),
                "next_day": day + datetime.timedelta(days=1),
                "appointments": appointments,
            },
        )


class WeekView(StaffCalendarMixin, View):
    """Monday to Sunday of the week containing ?datum=, one list per day."""

    def get(self, request: HttpRequest) -> HttpResponse:
        day = _parse_day(request.GET.get("datum"))
        monday = day - datetime.timedelta(days=day.weekday())
        zone = selectors.local_zone()
        start = datetime.datetime.combine(monday, datetime.time.min, tzinfo=zone)
        end = datetime.datetime.combine(
            monday + datetime.timedelta(days=7), datetime.time.min, tzinfo=zone
        )
        appointments = selectors.appointment_list_for_user(user=request.user, start=start, end=end)
        days = []
        for offset in range(7):
            current = monday + datetime.timedelta(days=offset)
            days.append(
                {
                    "day": current,
                    "appointments": [
                        a
                        for a in appointments
                        if a.starts_at is not None
                        and a.starts_at.astimezone(zone).date() == current
                    ],
                }
            )
        return render(
            request,
            "appointments/week.html",
            {
                "monday": monday,
                "sunday": monday + datetime.timedelta(days=6),
                "days": days,
                "previous_week": monday - datetime.timedelta(days=7),
                "next_week": monday + datetime.timedelta(days=7),
                "today": timezone.localdate(),
            },
        )


class AppointmentDetailView(StaffCalendarMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        can_change = permissions.can_change_appointment(user=request.user, appointment=appointment)
        return render(
            request,
            "appointments/detail.html",
            {
                "appointment": appointment,
                "can_change": can_change,
                "is_open": appointment.status == AppointmentStatus.BOOKED
                and appointment.starts_at is not None
                and appointment.starts_at > timezone.now(),
                "has_begun": appointment.starts_at is not None
                and appointment.starts_at <= timezone.now(),
                "map_url": ical.map_url(appointment.location)
                if appointment.channel == Channel.ON_SITE
                else "",
                "join_url": ical.appointment_url(appointment, "case_manager"),
            },
        )


# --- staff: changes --------------------------------------------------------------------------


class AppointmentMoveView(CaseManagerMixin, View):
    def _render(self, request: HttpRequest, appointment: Appointment, form: Any) -> HttpResponse:
        return render(request, "appointments/move.html", {"appointment": appointment, "form": form})

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        initial: dict[str, Any] = {"channel": appointment.channel, "location": appointment.location}
        if appointment.starts_at and appointment.duration_minutes:
            local = appointment.starts_at.astimezone(selectors.local_zone())
            initial.update(
                day=local.date(), start_time=local.time(), duration=appointment.duration_minutes
            )
        return self._render(request, appointment, AppointmentMoveForm(initial=initial))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        form = AppointmentMoveForm(request.POST)
        if form.is_valid() and "starts_at" in form.cleaned_data:
            try:
                services.appointment_move(
                    actor=request.user,
                    appointment=appointment,
                    starts_at=form.cleaned_data["starts_at"],
                    ends_at=form.cleaned_data["ends_at"],
                    channel=form.cleaned_data["channel"],
                    location=form.cleaned_data["location"],
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The appointment has been moved."))
                return redirect("appointments:detail", pk=appointment.pk)
        return self._render(request, appointment, form)


class AppointmentCancelView(CaseManagerMixin, View):
    def _render(self, request: HttpRequest, appointment: Appointment, form: Any) -> HttpResponse:
        return render(
            request, "appointments/cancel.html", {"appointment": appointment, "form": form}
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, self.get_appointment(pk), AppointmentCancelForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        form = AppointmentCancelForm(request.POST)
        if form.is_valid():
            try:
                services.appointment_cancel(
                    actor=request.user, appointment=appointment, reason=form.cleaned_data["reason"]
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The appointment has been cancelled."))
                return redirect("appointments:detail", pk=appointment.pk)
        return self._render(request, appointment, form)


class AttendanceMarkView(CaseManagerMixin, View):
    """One tap from the 'today' list: held or no-show."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.get_appointment(pk)
        form = AttendanceForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please choose held or no-show."))
        else:
            try:
                services.attendance_mark(
                    actor=request.user,
                    appointment=appointment,
                    status=form.cleaned_data["status"],
                    actual_minutes=form.cleaned_data.get("actual_minutes"),
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                messages.error(request, str(error.message))
            else:
                messages.success(request, _("Attendance recorded."))
        next_url = request.POST.get("next", "")
        if next_url not in (reverse("appointments:today"), reverse("appointments:day")):
            next_url = reverse("appointments:detail", kwargs={"pk": appointment.pk})
        return redirect(next_url)


class ClientBookingMixin(CaseManagerMixin):
    def get_client(self, client_pk: int) -> Any:
        user = self.request.user  # type: ignore[attr-defined]
        client = selectors.client_get_for_booking(user=user, pk=client_pk)
        if client is None:
            _deny(user, "clients.client", client_pk, action="client.access_denied")
        return client


class AppointmentBookView(ClientBookingMixin, View):
    """The case manager books an appointment directly for a client."""

    def _render(self, request: HttpRequest, client: Any, form: Any) -> HttpResponse:
        return render(request, "appointments/book.html", {"client": client, "form": form})

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self.get_client(client_pk)
        form = AppointmentBookForm()
        return self._render(request, client, form)

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self.get_client(client_pk)
        form = AppointmentBookForm(request.POST)
        if form.is_valid() and "starts_at" in form.cleaned_data:
            try:
                appointment = services.appointment_book(
                    actor=request.user,
                    client=client,
                    starts_at=form.cleaned_data["starts_at"],
                    ends_at=form.cleaned_data["ends_at"],
                    channel=form.cleaned_data["channel"],
                    location=form.cleaned_data["location"],
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                if services.client_hears_of_appointments(client=client):
                    messages.success(
                        request, _("The appointment is booked; both sides get an invitation.")
                    )
                else:
                    # Honest: without an e-mail address or SMS nobody tells the client.
                    messages.warning(
                        request,
                        _(
                            "The appointment is booked. Only you get an invitation: this "
                            "client has no e-mail address and no text message can be sent. "
                            "Tell the client by phone or by letter."
                        ),
                    )
                return redirect("appointments:detail", pk=appointment.pk)
        return self._render(request, client, form)


class AppointmentProposeView(ClientBookingMixin, View):
    """The case manager proposes one to three slots; the client picks one in the portal."""

    def _render(self, request: HttpRequest, client: Any, form: Any) -> HttpResponse:
        return render(request, "appointments/propose.html", {"client": client, "form": form})

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self.get_client(client_pk)
        form = AppointmentProposeForm()
        return self._render(request, client, form)

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self.get_client(client_pk)
        form = AppointmentProposeForm(request.POST)
        if form.is_valid():
            try:
                appointment = services.appointment_propose(
                    actor=request.user,
                    client=client,
                    slots=form.cleaned_data["slots"],
                    channel=form.cleaned_data["channel"],
                    location=form.cleaned_data["location"],
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The slots have been proposed to the client."))
                return redirect("appointments:detail", pk=appointment.pk)
        return self._render(request, client, form)
