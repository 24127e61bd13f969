"""Retention pages: the DPO's overview (dry run, open requests, holds, deletions) and one
client's page (what may be erased now and what must be kept, requests, holds, the case)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError

from . import permissions, selectors, services
from .forms import LegalHoldForm, RequestRecordForm
from .models import LegalHold

OVERVIEW_TARGET_TYPE = "retention.overview"


class RetentionOverviewView(LoginRequiredMixin, View):
    """The data-protection officer's page: what the next run would delete, per kind."""

    page_roles = (Role.DATA_PROTECTION_OFFICER,)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not permissions.can_see_retention_overview(user=request.user):
            audit_record(
                actor=request.user,
                action="retention.access_denied",
                target_type=OVERVIEW_TARGET_TYPE,
                request=request,
            )
            raise Http404
        audit_record(
            actor=request.user,
            action="retention.overview_view",
            target_type=OVERVIEW_TARGET_TYPE,
            request=request,
        )
        return render(
            request,
            "retention/overview.html",
            {
                "reports": services.retention_preview(),
                "open_requests": selectors.requests_open(),
                "holds": selectors.legal_holds_active(),
                "deletions": selectors.deletion_records_recent(),
            },
        )


class ClientRetentionView(LoginRequiredMixin, View):
    """One client's records by kind: may be erased now, or kept and why."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = selectors.client_get_for_retention(user=request.user, pk=pk, request=request)
        return _client_page(request, client)


def _client_page(
    request: HttpRequest,
    client: Client,
    *,
    request_form: RequestRecordForm | None = None,
    hold_form: LegalHoldForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    return render(
        request,
        "retention/client.html",
        {
            "client": client,
            "inventory": selectors.client_inventory(client=client),
            "holds": selectors.legal_holds_for_client(client=client),
            "requests": selectors.requests_for_client(client=client),
            "request_form": request_form or RequestRecordForm(),
            "hold_form": hold_form or LegalHoldForm(),
            "is_dpo": permissions.is_dpo(user=user),
            "can_close_case": permissions.can_close_case(user=user, client=client),
        },
        status=status,
    )


class _ClientActionView(LoginRequiredMixin, View, ABC):
    """A POST about one client: look the client up through the access rules, act, go back."""

    def post(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponseBase:
        client = selectors.client_get_for_retention(user=request.user, pk=pk, request=request)
        try:
            response = self.act(request, client, **kwargs)
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("retention:client", pk=client.pk)
        if response is not None:
            return response
        if permissions.can_view_client_retention(user=request.user, client=_fresh(client)):
            return redirect("retention:client", pk=client.pk)
        return redirect("clients:list")

    @abstractmethod
    def act(self, request: HttpRequest, client: Client, **kwargs: Any) -> HttpResponse | None:
        """What the action does; each request or hold view says it."""


def _fresh(client: Client) -> Client:
    client.refresh_from_db()
    return client


class RequestRecordView(_ClientActionView):
    def act(self, request: HttpRequest, client: Client, **kwargs: Any) -> HttpResponse | None:
        form = RequestRecordForm(request.POST)
        if not form.is_valid():
            return _client_page(request, client, request_form=form, status=400)
        try:
            services.data_subject_request_record(
                actor=request.user,
                client=client,
                kind=form.cleaned_data["kind"],
                received_on=form.cleaned_data["received_on"],
                note=form.cleaned_data["note"],
                request=request,
            )
        except ApplicationError as error:
            form.add_error(error.field, str(error.message))
            return _client_page(request, client, request_form=form, status=400)
        messages.success(request, _("The request was recorded."))
        return None


class HoldSetView(_ClientActionView):
    def act(self, request: HttpRequest, client: Client, **kwargs: Any) -> HttpResponse | None:
        if not permissions.can_manage_holds(user=request.user):
            raise Http404
        form = LegalHoldForm(request.POST)
        if not form.is_valid():
            return _client_page(request, client, hold_form=form, status=400)
        services.legal_hold_set(
            actor=request.user,
            client=client,
            reason=form.cleaned_data["reason"],
            target_type=form.cleaned_data["target_type"],
            target_id=form.cleaned_data["target_id"],
            request=request,
        )
        messages.success(request, _("The legal hold is set."))
        return None


class HoldLiftView(_ClientActionView):
    def act(self, request: HttpRequest, client: Client, **kwargs: Any) -> HttpResponse | None:
        if not permissions.can_manage_holds(user=request.user):
            raise Http404
        hold = LegalHold.objects.filter(pk=kwargs["hold_pk"], client=client).first()
        if hold is None:
            raise Http404
        services.legal_hold_lift(actor=request.user, hold=hold, request=request)
        messages.success(request, _("The legal hold is lifted."))
        return None


class RequestDecideView(_ClientActionView):
    """The DPO carries out an erasure, refuses it, or lifts a restriction."""

    def act(self, request: HttpRequest, client: Client, **kwargs: Any) -> HttpResponse | None:
        subject_request = selectors.request_get_for_user(user=request.user, pk=kwargs["request_pk"])
        if subject_request.client_id != client.pk:
            raise Http404
        decision = request.POST.get("decision", "")
        if decision == "erase":
            reports = services.erasure_execute(
                actor=request.user, subject_request=subject_request, request=request
            )
            erased = sum(report.count for report in reports)
            messages.success(
                request, _("%(count)s records were erased; the rest is kept.") % {"count": erased}
            )
        elif decision == "refuse":
            services.data_subject_request_refuse(
                actor=request.user, subject_request=subject_request, request=request
            )
            messages.success(request, _("The request is closed without erasure."))
        elif decision == "lift":
            services.restriction_lift(
                actor=request.user, subject_request=subject_request, request=request
            )
            messages.success(request, _("The restriction is lifted."))
        else:
            raise ApplicationError(_("Choose what to do with the request."))
        return None


class CaseCloseView(_ClientActionView):
    def act(self, request: HttpRequest, client: Client, **kwargs: Any) -> HttpResponse | None:
        if request.POST.get("reopen"):
            services.client_case_reopen(actor=request.user, client=client, request=request)
            messages.success(request, _("The case is open again."))
        else:
            services.client_case_close(actor=request.user, client=client, request=request)
            messages.success(request, _("The case is closed; the retention periods run."))
        return None
