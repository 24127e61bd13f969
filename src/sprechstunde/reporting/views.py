"""The figures page and its CSV export, for team leads (own team) and administrators."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.role_pages import is_role_page_request, other_role_response
from sprechstunde.audit.services import audit_record

from .csv_export import figures_csv
from .figure_charts import figures_charts
from .forms import FiguresFilterForm, default_range
from .permissions import can_choose_team, can_view_figures
from .selectors import figures_report

TARGET_TYPE = "figures"


class FiguresAccessMixin(LoginRequiredMixin):
    """Anonymous visitors go to the login; anyone but team leads and admins gets the page that
    says who uses it (ADR 0061), logged."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_view_figures(user=request.user):
            audit_record(
                actor=request.user,
                action="figures.access_denied",
                target_type=TARGET_TYPE,
                request=request,
            )
            if is_role_page_request(request, kwargs):
                return other_role_response(request, roles=[Role.TEAM_LEAD, Role.ADMIN])
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def filter_form(self, request: HttpRequest) -> FiguresFilterForm:
        """The filter, bound to the query string; a missing date means the default range."""
        data: QueryDict = request.GET.copy()
        first, last = default_range()
        if "date_from" not in data:
            data["date_from"] = first.isoformat()
        if "date_to" not in data:
            data["date_to"] = last.isoformat()
        return FiguresFilterForm(data, can_choose_team=can_choose_team(user=request.user))


class FiguresView(FiguresAccessMixin, View):
    """Show rate by channel, team and month; short-notice cancellations; durations."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = self.filter_form(request)
        report = None
        if form.is_valid():
            report = figures_report(viewer=request.user, **form.filters())
            if report is None:
                raise Http404
        context: dict[str, Any] = {"form": form, "report": report}
        if report is not None:
            context["charts"] = figures_charts(report) if report.total.total else {}
            context["export_query"] = request.GET.urlencode()
        return render(request, "reporting/figures.html", context)


class FiguresExportView(FiguresAccessMixin, View):
    """The same figures as the page, as one CSV file with a row per slice."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = self.filter_form(request)
        if not form.is_valid():
            # The page shows the same form with its errors.
            return redirect(f"{reverse('reporting:figures')}?{request.GET.urlencode()}")
        report = figures_report(viewer=request.user, **form.filters())
        if report is None:
            raise Http404
        audit_record(
            actor=request.user, action="figures.export", target_type=TARGET_TYPE, request=request
        )
        name = f"figures-{report.start:%Y%m%d}-{report.last_day:%Y%m%d}.csv"
        response = HttpResponse(figures_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
