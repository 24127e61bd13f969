"""Entry page, dev outbox and health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.views.generic import DetailView, ListView, View

from .models import OutboxMessage


class HomeView(View):
    """Sends each person to their start page: clients to the portal, staff to their work."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect("account_login")
        if getattr(user, "is_client", False):
            return redirect("clients:portal_home")
        return redirect("clients:list")


class DevOutboxMixin(LoginRequiredMixin):
    """The dev outbox exists only in embedded mode and only for staff."""

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if not settings.DEV_OUTBOX_ENABLED:
            raise Http404
        if request.user.is_authenticated and not getattr(request.user, "is_staff_member", False):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class OutboxListView(DevOutboxMixin, ListView[OutboxMessage]):
    model = OutboxMessage
    template_name = "core/outbox_list.html"
    paginate_by = 50


class OutboxDetailView(DevOutboxMixin, DetailView[OutboxMessage]):
    model = OutboxMessage
    template_name = "core/outbox_detail.html"


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: is the database reachable?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
