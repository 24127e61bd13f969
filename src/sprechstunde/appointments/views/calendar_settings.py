"""Staff settings: office hours, absences, and the private ICS feed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.core.errors import ApplicationError

from .. import ical, selectors, services
from ..forms import AbsenceForm, OfficeHoursForm
from .base import CaseManagerMixin, StaffCalendarMixin, _form_error


class OfficeHoursView(CaseManagerMixin, View):
    def _render(self, request: HttpRequest, form: Any) -> HttpResponse:
        return render(
            request,
            "appointments/office_hours.html",
            {
                "office_hours": selectors.office_hours_list_for_user(user=request.user),
                "form": form,
            },
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, OfficeHoursForm(initial={"is_client_bookable": True}))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = OfficeHoursForm(request.POST)
        if form.is_valid():
            try:
                services.office_hours_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Office hours saved."))
                return redirect("appointments:office_hours")
        return self._render(request, form)


class OfficeHoursDeleteView(CaseManagerMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        office_hours = selectors.office_hours_list_for_user(user=request.user).filter(pk=pk).first()
        if office_hours is None:
            raise Http404
        services.office_hours_delete(actor=request.user, office_hours=office_hours)
        messages.success(request, _("Office hours removed."))
        return redirect("appointments:office_hours")


class AbsenceView(CaseManagerMixin, View):
    def _render(self, request: HttpRequest, form: Any) -> HttpResponse:
        return render(
            request,
            "appointments/absences.html",
            {"absences": selectors.absence_list_for_user(user=request.user), "form": form},
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, AbsenceForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AbsenceForm(request.POST)
        if form.is_valid():
            try:
                services.absence_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Absence saved."))
                return redirect("appointments:absences")
        return self._render(request, form)


class AbsenceDeleteView(CaseManagerMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        absence = selectors.absence_list_for_user(user=request.user).filter(pk=pk).first()
        if absence is None:
            raise Http404
        services.absence_delete(actor=request.user, absence=absence)
        messages.success(request, _("Absence removed."))
        return redirect("appointments:absences")


class CalendarFeedSettingsView(StaffCalendarMixin, View):
    """Create, regenerate or revoke one's private ICS feed URL (shown once on creation)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "appointments/feed_settings.html",
            {"has_feed": selectors.calendar_feed_has_active_token(user=request.user)},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        feed_url = ""
        if request.POST.get("action") == "revoke":
            services.calendar_feed_token_revoke(user=request.user)
            messages.success(request, _("The feed address no longer works."))
        else:
            token = services.calendar_feed_token_create(user=request.user)
            feed_url = request.build_absolute_uri(
                reverse("appointments:feed", kwargs={"token": token})
            )
        return render(
            request,
            "appointments/feed_settings.html",
            {
                "has_feed": selectors.calendar_feed_has_active_token(user=request.user),
                "feed_url": feed_url,
            },
        )


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private ICS feed; the token in the URL is the only credential."""
    user = selectors.calendar_feed_user_for_token(token=token)
    if user is None:
        raise Http404
    body = ical.feed_calendar(selectors.calendar_feed_appointments(user=user), user=user)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="sprechstunde.ics"'
    return response
