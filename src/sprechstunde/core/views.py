"""Entry page, dev outbox, health checks (liveness, readiness) and metrics."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import DetailView, ListView, View

from .metrics import metrics_address_allowed, metrics_exposition
from .models import OutboxAttachment, OutboxMessage
from .readiness import readiness_report
from .sms import sms_status_record

# The roles with a caseload (accounts.Role values; core does not import accounts).
DESK_ROLES = frozenset({"case_manager", "team_lead"})

# Start pages by staff role (ADR 0061); a role without one starts at the caseload.
ROLE_HOMES = {"admin": "accounts:staff_list", "dpo": "audit:list"}


class HomeView(View):
    """Sends each person to their start page: clients to the portal, staff to their work."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect("account_login")
        if getattr(user, "is_client", False):
            return redirect("clients:portal_home")
        if getattr(user, "role", None) in DESK_ROLES:
            # Case managers and team leads start the day on their desk (ADR 0058).
            return redirect("desk:today")
        role_home = ROLE_HOMES.get(str(getattr(user, "role", "")))
        if role_home is not None:
            return redirect(role_home)
        return redirect("clients:list")


class DevOutboxMixin(LoginRequiredMixin):
    """The dev outbox exists only in embedded mode and only for staff."""

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if not settings.DEV_OUTBOX_ENABLED:
            raise Http404
        if request.user.is_authenticated and not getattr(request.user, "is_staff_member", False):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


def _messages_with_attachments() -> QuerySet[OutboxMessage]:
    """Mails with their attachments' names, types and sizes (not their bytes)."""
    return OutboxMessage.objects.prefetch_related(
        Prefetch("attachments", queryset=OutboxAttachment.objects.defer("content"))
    )


class OutboxListView(DevOutboxMixin, ListView[OutboxMessage]):
    template_name = "core/outbox_list.html"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[OutboxMessage]:
        return _messages_with_attachments()


class OutboxDetailView(DevOutboxMixin, DetailView[OutboxMessage]):
    template_name = "core/outbox_detail.html"

    def get_queryset(self) -> QuerySet[OutboxMessage]:
        return _messages_with_attachments()


class OutboxAttachmentView(DevOutboxMixin, View):
    """One attachment, byte for byte as it was sent, always as a download: a mail's HTML or
    SVG attachment must never run as a page of this site."""

    def get(self, request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
        attachment = OutboxAttachment.objects.filter(pk=attachment_pk, message_id=pk).first()
        if attachment is None:
            raise Http404
        response = HttpResponse(bytes(attachment.content), content_type=attachment.mimetype)
        response["Content-Disposition"] = (
            content_disposition_header(True, attachment.filename) or "attachment"
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: is the database reachable?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def liveness(request: HttpRequest) -> JsonResponse:
    """For the supervisor: the process answers. Touches nothing else (no database), so a
    database outage does not get every node restarted."""
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> JsonResponse:
    """For the load balancer and monitoring: can this node do its work? 503 names the part
    that failed (database, redis, object_storage, worker), never why in detail."""
    ready, report = readiness_report()
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": report},
        status=200 if ready else 503,
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, only for the addresses in METRICS_ALLOWED_IPS; everyone else gets
    the same 404 as for a path that does not exist."""
    if not metrics_address_allowed(request.META.get("REMOTE_ADDR")):
        raise Http404
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)


@method_decorator(csrf_exempt, name="dispatch")
class SmsStatusView(View):
    """Delivery reports from the SMS gateway: ``{"id": ..., "status": "delivered"|"failed"}``
    with the shared bearer token (SMS_STATUS_TOKEN). Without a token set, reports are refused."""

    def post(self, request: HttpRequest) -> HttpResponse:
        expected = getattr(settings, "SMS_STATUS_TOKEN", "")
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not expected or not constant_time_compare(given, expected):
            return HttpResponse(status=403)
        try:
            report = json.loads(request.body or b"{}")
            provider_id, status = str(report["id"]), str(report["status"])
        except (ValueError, KeyError, TypeError):
            return JsonResponse({"error": 'expected {"id": ..., "status": ...}'}, status=400)
        known = sms_status_record(provider_id=provider_id[:100], status=status)
        return JsonResponse({"recorded": known}, status=200 if known else 404)
