"""The accessibility statement (public, linked from every footer) with its feedback form,
and the administrators' list of feedback to answer."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.core.errors import ApplicationError

from . import selectors, services
from .forms import FeedbackAnswerForm, FeedbackForm
from .permissions import can_handle_accessibility_feedback
from .statement import CHECKS, GAPS


def _reviewed_on() -> datetime.date | None:
    value = str(getattr(settings, "ACCESSIBILITY_STATEMENT_REVIEWED_ON", "") or "")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _statement(request: HttpRequest, form: FeedbackForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "accessibility/statement.html",
        {
            "form": form,
            "checks": CHECKS,
            "gaps": GAPS,
            "reviewed_on": _reviewed_on(),
            "answer_days": services.answer_days(),
            "enforcement": {
                "name": getattr(settings, "ACCESSIBILITY_ENFORCEMENT_NAME", ""),
                "address": getattr(settings, "ACCESSIBILITY_ENFORCEMENT_ADDRESS", ""),
                "url": getattr(settings, "ACCESSIBILITY_ENFORCEMENT_URL", ""),
                "email": getattr(settings, "ACCESSIBILITY_ENFORCEMENT_EMAIL", ""),
            },
            "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
            "jobcenter_address": getattr(settings, "JOBCENTER_ADDRESS", ""),
            "contact_email": getattr(settings, "ACCESSIBILITY_CONTACT_EMAIL", ""),
        },
        status=status,
    )


class StatementView(View):
    """'Erklärung zur Barrierefreiheit' (BITV 2.0 § 7): open to everyone, logged in or not."""

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"page": request.GET.get("seite", "")[:300]}
        return _statement(request, FeedbackForm(initial=initial))

    def post(self, request: HttpRequest) -> HttpResponseBase:
        try:
            services.feedback_admit(request=request)
        except services.FeedbackRateLimited as error:
            form = FeedbackForm(request.POST)
            form.is_valid()
            form.add_error(None, str(error.message))
            response = _statement(request, form, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        form = FeedbackForm(request.POST)
        if not form.is_valid():
            return _statement(request, form, status=400)
        try:
            services.feedback_submit(request=request, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field, str(error.message))
            return _statement(request, form, status=400)
        messages.success(
            request,
            _("Thank you. Your message has reached us; we answer within %(days)d days.")
            % {"days": services.answer_days()},
        )
        return HttpResponseRedirect(reverse("accessibility:statement") + "#feedback")


class FeedbackListView(LoginRequiredMixin, View):
    """Admins: open feedback by due date (overdue first), and the answered ones."""

    page_roles = (Role.ADMIN,)

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if request.user.is_authenticated and not can_handle_accessibility_feedback(
            user=request.user
        ):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def _page(self, request: HttpRequest, *, status: int = 200) -> HttpResponse:
        return render(
            request,
            "accessibility/feedback_list.html",
            {
                "open_items": selectors.feedback_list_for_user(user=request.user),
                "answered_items": selectors.feedback_list_for_user(
                    user=request.user, answered=True
                )[:50],
                "today": timezone.localdate(),
                "answer_form": FeedbackAnswerForm(),
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request)

    def post(self, request: HttpRequest) -> HttpResponseBase:
        raw = str(request.POST.get("feedback", "")).strip()
        open_items = selectors.feedback_list_for_user(user=request.user)
        feedback = open_items.filter(pk=int(raw)).first() if raw.isdigit() else None
        form = FeedbackAnswerForm(request.POST)
        if feedback is None or not form.is_valid():
            messages.error(request, _("This feedback is no longer open, or the note is too long."))
            return self._page(request, status=400)
        try:
            services.feedback_answer(
                actor=request.user,
                feedback=feedback,
                note=form.cleaned_data["note"],
                request=request,
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return self._page(request, status=400)
        messages.success(request, _("Marked as answered."))
        return HttpResponseRedirect(reverse("accessibility:feedback_list"))
