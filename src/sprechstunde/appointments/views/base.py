"""Access mixins and helpers shared by the appointment views: 404 outside the rules."""

from __future__ import annotations

import datetime
from typing import Any, NoReturn

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.role_pages import CASELOAD_ROLES, CLIENT_ONLY
from sprechstunde.core.errors import ApplicationError

from .. import selectors, services
from ..models import Appointment

STAFF_CALENDAR_ROLES = (Role.CASE_MANAGER, Role.TEAM_LEAD)


def _deny(
    user: Any, target_type: str, pk: int, *, action: str = "appointment.access_denied"
) -> NoReturn:
    """Answer 404 for anything outside the access rules, and log the refusal."""
    services.access_denied_record(user=user, action=action, target_type=target_type, target_id=pk)
    raise Http404


def _form_error(form: Any, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


class StaffCalendarMixin(LoginRequiredMixin):
    """Case managers and team leads only; others get 404."""

    page_roles = CASELOAD_ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and getattr(user, "role", None) not in STAFF_CALENDAR_ROLES:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_appointment(self, pk: int) -> Appointment:
        user = self.request.user  # type: ignore[attr-defined]
        appointment = selectors.appointment_get_for_user(user=user, pk=pk)
        if appointment is None:
            _deny(user, "appointments.appointment", pk)
        return appointment


class CaseManagerMixin(StaffCalendarMixin):
    """Pages that change things: case managers only (team leads read)."""

    page_roles = (Role.CASE_MANAGER,)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and getattr(user, "role", None) != Role.CASE_MANAGER:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class ClientPortalMixin(LoginRequiredMixin):
    """Clients only; staff get 404 on the portal pages."""

    page_roles = CLIENT_ONLY

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and getattr(user, "role", None) != Role.CLIENT:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_appointment(self, pk: int) -> Appointment:
        user = self.request.user  # type: ignore[attr-defined]
        appointment = selectors.appointment_get_for_user(user=user, pk=pk)
        if appointment is None:
            _deny(user, "appointments.appointment", pk)
        return appointment


def _parse_day(value: str | None) -> datetime.date:
    if value:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    return timezone.localdate()
