"""Pages of the agreements app: staff (caseload) pages and the client's portal pages.
Thin: parse, call one service or selector, render. Outside the rules every page is a 404."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View

from sprechstunde.accounts.role_pages import CASELOAD_ROLES, CLIENT_ONLY
from sprechstunde.appointments import selectors as appointment_selectors
from sprechstunde.appointments.forms import AppointmentProposeForm
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.services import audit_denial_record, audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients import selectors as client_selectors
from sprechstunde.clients import services as client_services
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from . import letters, permissions, selectors, services
from .choices import ConfirmationStatus, DecisionStatus, DeliveryChannel
from .forms import (
    CodeForm,
    CommentForm,
    ConfirmationCreateForm,
    LetterAddressForm,
    PlanForm,
    PostalSentForm,
    TemplateChoiceForm,
    decision_form_fields,
    decision_raw_values,
)
from .models import CooperationPlan, Decision, PlanComment
from .pdf_exports import delivery_log_pdf
from .rendering import field_specs
from .services.decisions import DecisionValuesError, document_context

APPOINTMENT_PARAMETER = "termin"


def _pdf(data: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(bytes(data), content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _form_error(form: Any, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


class CaseloadStaffMixin(LoginRequiredMixin):
    """Case managers and team leads; everybody else gets 404."""

    page_roles = CASELOAD_ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not client_permissions.is_caseload_staff(user=user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


def _appointment_for(request: HttpRequest, client: Client) -> Appointment | None:
    """The call (appointment) a plan or decision is drafted in, if named and the client's."""
    value = request.POST.get(APPOINTMENT_PARAMETER) or request.GET.get(APPOINTMENT_PARAMETER) or ""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return Appointment.objects.filter(pk=int(value), client=client).first()


# --- Staff: overview ----------------------------------------------------------------------


class HomeView(CaseloadStaffMixin, View):
    """'Pläne und Bescheide': what needs doing: post to send, plans due for review."""

    def get(self, request: HttpRequest) -> HttpResponse:
        postal = list(selectors.postal_pending_for_user(user=request.user, request=request))
        soon = timezone.localdate() + datetime.timedelta(days=30)
        due = list(
            CooperationPlan.objects.filter(
                client__in=permissions.visible_clients(user=request.user),
                current_version__gt=0,
                review_on__lte=soon,
            )
            .select_related("client", "template")
            .order_by("review_on")[:100]
        )
        waiting = list(
            Decision.objects.filter(
                client__in=permissions.visible_clients(user=request.user),
                status=DecisionStatus.WAITING_FOR_SEAL,
            )
            .select_related("client", "template")
            .defer("pdf", "unsealed_pdf")[:100]
        )
        return render(
            request,
            "agreements/home.html",
            {"postal": postal, "due": due, "waiting": waiting},
        )


class ClientAgreementsView(CaseloadStaffMixin, View):
    """One client's plans, decisions and confirmations, with buttons to start new ones."""

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        audit_record(actor=request.user, action="agreements.view", target=client, request=request)
        return render(
            request,
            "agreements/client.html",
            {
                "client": client,
                "plans": selectors.plan_list_for_client(client=client),
                "decisions": selectors.decision_list_for_client(client=client),
                "confirmations": selectors.confirmations_for_client(client=client),
                "can_edit": permissions.can_edit_agreements(user=request.user, client=client),
                "plan_templates": selectors.plan_templates_offered(),
                "decision_templates": selectors.decision_templates_offered(),
                "portal_channel_open": permissions.portal_channel_open(client=client),
                "uses_portal": permissions.can_use_portal(client=client),
            },
        )


# --- Staff: plans ---------------------------------------------------------------------------


class PlanCreateView(CaseloadStaffMixin, View):
    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        form = TemplateChoiceForm(request.POST, templates=selectors.plan_templates_offered())
        if not form.is_valid() or form.chosen() is None:
            messages.error(request, _("Please choose a template."))
            return redirect("agreements:client", client_pk=client.pk)
        try:
            plan = services.plan_create(
                actor=request.user,
                client=client,
                template=form.chosen(),
                appointment=_appointment_for(request, client),
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        return redirect("agreements:plan", pk=plan.pk)


def _plan_page(
    request: HttpRequest,
    plan: CooperationPlan,
    *,
    form: PlanForm | None = None,
    comment_form: CommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_edit = permissions.can_edit_agreements(user=request.user, client=plan.client)
    return render(
        request,
        "agreements/plan.html",
        {
            "plan": plan,
            "client": plan.client,
            "form": form or PlanForm.for_plan(plan),
            "comment_form": comment_form or CommentForm(),
            "versions": selectors.plan_versions(plan=plan),
            "comments": PlanComment.objects.filter(plan=plan).select_related("author"),
            "can_edit": can_edit,
            "uses_portal": permissions.can_use_portal(client=plan.client),
            "latest_review": services.review_date_latest(issued_on=timezone.localdate()),
        },
        status=status,
    )


class PlanView(CaseloadStaffMixin, View):
    """Edit the draft; save, show it to the client, issue it; comments and versions."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(user=request.user, pk=pk, request=request)
        return _plan_page(request, plan)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(user=request.user, pk=pk, request=request, action=None)
        action = request.POST.get("action", "save")
        try:
            if action == "comment":
                comment_form = CommentForm(request.POST)
                if not comment_form.is_valid():
                    return _plan_page(request, plan, comment_form=comment_form, status=400)
                services.plan_comment_add(
                    actor=request.user,
                    plan=plan,
                    body=comment_form.cleaned_data["body"],
                    request=request,
                )
                return redirect(reverse("agreements:plan", kwargs={"pk": plan.pk}) + "#kommentare")
            form = PlanForm(request.POST)
            if not form.is_valid():
                return _plan_page(request, plan, form=form, status=400)
            data = form.cleaned_plan()
            try:
                services.plan_update(actor=request.user, plan=plan, **data, request=request)
                if action == "share":
                    services.plan_share(actor=request.user, plan=plan, request=request)
                    messages.success(request, _("The client can now read the draft and comment."))
                elif action == "issue":
                    version = services.plan_issue(actor=request.user, plan=plan, request=request)
                    messages.success(
                        request,
                        _("Version %(number)d of the plan is issued.") % {"number": version.number},
                    )
                else:
                    messages.success(request, _("The draft is saved."))
            except ApplicationError as error:
                if isinstance(error, PermissionDeniedError):
                    raise
                _form_error(form, error)
                return _plan_page(request, plan, form=form, status=400)
        except PermissionDeniedError as error:
            raise Http404 from error
        return redirect("agreements:plan", pk=plan.pk)


class PlanPdfView(CaseloadStaffMixin, View):
    def get(self, request: HttpRequest, pk: int, number: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(
            user=request.user, pk=pk, request=request, action="plan.download"
        )
        version = selectors.plan_version_get(plan=plan, number=number)
        return _pdf(version.pdf, f"kooperationsplan-{plan.pk}-v{version.number}.pdf")


class PlanOfferTalkView(CaseloadStaffMixin, View):
    """ "Offer a talk about it": propose times through the appointments app."""

    def _page(
        self, request: HttpRequest, plan: CooperationPlan, form: Any, status: int = 200
    ) -> HttpResponse:
        return render(
            request, "agreements/offer_talk.html", {"plan": plan, "form": form}, status=status
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(user=request.user, pk=pk, request=request)
        return self._page(request, plan, AppointmentProposeForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(user=request.user, pk=pk, request=request, action=None)
        form = AppointmentProposeForm(request.POST)
        if form.is_valid():
            try:
                services.plan_offer_talk(
                    actor=request.user,
                    plan=plan,
                    slots=form.cleaned_data["slots"],
                    channel=form.cleaned_data["channel"],
                    location=form.cleaned_data["location"],
                    request=request,
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The times are proposed to the client."))
                return redirect("agreements:plan", pk=plan.pk)
        return self._page(request, plan, form, status=400)


# --- Staff: decisions -----------------------------------------------------------------------


def _decision_fields(specs: Any, values: dict[str, Any], errors: dict[str, str]) -> list[Any]:
    form = decision_form_fields(specs, {k: str(v) for k, v in values.items()})
    return [(form[f"field_{spec.name}"], errors.get(spec.name, "")) for spec in specs]


class DecisionCreateView(CaseloadStaffMixin, View):
    """Choose a template (?vorlage=), fill its fields, save as a draft to preview."""

    def _client(self, request: HttpRequest, client_pk: int) -> Client:
        return client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )

    def _template(self, request: HttpRequest) -> Any:
        templates = {t.pk: t for t in selectors.decision_templates_offered()}
        value = request.POST.get("template") or request.GET.get("vorlage") or ""
        if value.isascii() and value.isdigit() and len(value) < 18:
            return templates.get(int(value)), templates
        return None, templates

    def _page(
        self,
        request: HttpRequest,
        client: Client,
        template: Any,
        templates: Any,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> HttpResponse:
        specs = field_specs(template) if template else []
        return render(
            request,
            "agreements/decision_create.html",
            {
                "client": client,
                "template": template,
                "templates": sorted(templates.values(), key=lambda t: t.title),
                "fields": _decision_fields(specs, values, errors),
                "appointment": _appointment_for(request, client),
                "error": bool(errors),
            },
            status=status,
        )

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self._client(request, client_pk)
        template, templates = self._template(request)
        return self._page(request, client, template, templates, {}, {})

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = self._client(request, client_pk)
        template, templates = self._template(request)
        if template is None:
            return self._page(request, client, None, templates, {}, {"template": "x"}, 400)
        raw = decision_raw_values(field_specs(template), request.POST)
        try:
            decision = services.decision_create(
                actor=request.user,
                client=client,
                template=template,
                values=raw,
                appointment=_appointment_for(request, client),
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except DecisionValuesError as error:
            return self._page(request, client, template, templates, raw, error.errors, 400)
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return self._page(request, client, template, templates, raw, {}, 400)
        return redirect("agreements:decision", pk=decision.pk)


class DecisionView(CaseloadStaffMixin, View):
    """Preview of a decision, its fields while a draft, issue button, status and the
    delivery log with the announcement date."""

    def _page(
        self,
        request: HttpRequest,
        decision: Decision,
        *,
        values: Any = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        specs = field_specs(decision.template)
        preview = document_context(decision, issued_at=decision.issued_at)
        return render(
            request,
            "agreements/decision.html",
            {
                "decision": decision,
                "client": decision.client,
                "doc": preview,
                "fields": _decision_fields(specs, values or decision.values, errors or {}),
                "events": selectors.delivery_events(decision=decision),
                "log_intact": services.delivery_log_verify(decision=decision),
                "can_edit": permissions.can_edit_agreements(
                    user=request.user, client=decision.client
                ),
                "is_draft": decision.status == DecisionStatus.DRAFT,
                "portal_channel_open": permissions.portal_channel_open(client=decision.client),
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = selectors.decision_get_for_user(user=request.user, pk=pk, request=request)
        return self._page(request, decision)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = selectors.decision_get_for_user(
            user=request.user, pk=pk, request=request, action=None
        )
        action = request.POST.get("action", "save")
        try:
            if action == "issue":
                services.decision_issue(actor=request.user, decision=decision, request=request)
                decision.refresh_from_db()
                if decision.status == DecisionStatus.WAITING_FOR_SEAL:
                    messages.info(
                        request,
                        _(
                            "The decision is issued and waits for the seal. It is delivered "
                            "as soon as it is sealed, never without the seal."
                        ),
                    )
                else:
                    messages.success(request, _("The decision is sealed and on its way."))
            else:
                raw = decision_raw_values(field_specs(decision.template), request.POST)
                try:
                    services.decision_update(
                        actor=request.user, decision=decision, values=raw, request=request
                    )
                except DecisionValuesError as error:
                    return self._page(
                        request, decision, values=raw, errors=error.errors, status=400
                    )
                messages.success(request, _("The draft is saved. Check the preview below."))
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return self._page(request, decision, status=400)
        return redirect("agreements:decision", pk=decision.pk)


class DecisionPdfView(CaseloadStaffMixin, View):
    """The sealed PDF (print-ready for postal delivery)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = selectors.decision_get_for_user(
            user=request.user, pk=pk, request=request, action="decision.download"
        )
        if not decision.pdf:
            raise Http404
        return _pdf(decision.pdf, f"bescheid-{decision.reference}.pdf")


class DeliveryLogPdfView(CaseloadStaffMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = selectors.decision_get_for_user(
            user=request.user, pk=pk, request=request, action="decision.log_export"
        )
        return _pdf(
            delivery_log_pdf(decision=decision),
            f"zustellnachweis-{decision.reference or decision.pk}.pdf",
        )


class PostalListView(CaseloadStaffMixin, View):
    """Decisions to send by post, and beside them the appointment and invitation letters for
    clients who have neither an e-mail address nor a mobile number."""

    def get(self, request: HttpRequest) -> HttpResponse:
        postal = selectors.postal_pending_for_user(user=request.user, request=request)
        appointments = selectors.appointment_letters_pending_for_user(
            user=request.user, request=request
        )
        printed = selectors.letters_printed_on(
            action="appointment.letter", target_ids=[item.pk for item in appointments]
        )
        invitations = selectors.invitation_letters_pending_for_user(
            user=request.user, request=request
        )
        return render(
            request,
            "agreements/postal_list.html",
            {
                "postal": list(postal[:200]),
                "today": timezone.localdate(),
                "letters": [(item, printed.get(item.pk)) for item in appointments],
                "invitation_letters": invitations,
            },
        )


class PostalSentView(CaseloadStaffMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        postal = selectors.postal_get_for_user(user=request.user, pk=pk, request=request)
        form = PostalSentForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please enter the day it was handed to the post."))
            return redirect("agreements:postal_list")
        try:
            services.postal_mark_sent(
                actor=request.user,
                postal=postal,
                sent_on=form.cleaned_data["sent_on"],
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Marked as sent by post."))
        return redirect("agreements:postal_list")


# --- Staff: letters by post ---------------------------------------------------------------


def _pdf_download(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class AppointmentLetterView(CaseloadStaffMixin, View):
    """The appointment letter for a client reached by post: staff type the postal address
    (not stored) and download the PDF/A. Every print is audited."""

    def _appointment(self, request: HttpRequest, pk: int) -> Appointment:
        appointment = appointment_selectors.appointment_get_for_user(user=request.user, pk=pk)
        if appointment is None or appointment.starts_at is None:
            audit_denial_record(
                actor=request.user,
                action="appointment.access_denied",
                target_type="appointments.appointment",
                target_id=pk,
                request=request,
            )
            raise Http404
        return appointment

    def _page(self, request: HttpRequest, appointment: Appointment, form: Any) -> HttpResponse:
        return render(
            request,
            "agreements/letter_form.html",
            {
                "form": form,
                "client": appointment.client,
                "title": _("Appointment letter"),
                "what": _(
                    "The letter names the time, the way and the case manager of this "
                    "appointment, in the client's language and in German."
                ),
                "back_url": reverse("appointments:detail", args=[appointment.pk]),
            },
            status=400 if form.is_bound else 200,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self._appointment(request, pk)
        initial = {"address": letters.client_address_text(appointment.client)}
        return self._page(request, appointment, LetterAddressForm(initial=initial))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self._appointment(request, pk)
        form = LetterAddressForm(request.POST)
        if not form.is_valid():
            return self._page(request, appointment, form)
        pdf = letters.appointment_letter_pdf(
            appointment=appointment, address=form.cleaned_data["address"]
        )
        audit_record(
            actor=request.user,
            action="appointment.letter",
            target=appointment,
            client_id=appointment.client_id,
            request=request,
        )
        return _pdf_download(pdf, f"termin-{appointment.pk}.pdf")


class InvitationLetterView(CaseloadStaffMixin, View):
    """The invitation by letter: a new single-use link that exists only in the downloaded
    PDF/A (earlier links stop working). Issuing is audited as "invitation.letter"."""

    def _page(self, request: HttpRequest, client: Client, form: Any) -> HttpResponse:
        return render(
            request,
            "agreements/letter_form.html",
            {
                "form": form,
                "client": client,
                "title": _("Invitation by letter"),
                "what": _(
                    "Downloading makes a new invitation link, valid once, that only "
                    "this letter carries; earlier invitation links stop working. Print "
                    "the letter at once."
                ),
                "back_url": reverse("clients:detail", args=[client.pk]),
            },
            status=400 if form.is_bound else 200,
        )

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request
        )
        initial = {"address": letters.client_address_text(client)}
        return self._page(request, client, LetterAddressForm(initial=initial))

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        form = LetterAddressForm(request.POST)
        if not form.is_valid():
            return self._page(request, client, form)
        try:
            issued = client_services.invitation_letter_issue(
                client=client, actor=request.user, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("clients:detail", pk=client.pk)
        pdf = letters.invitation_letter_pdf(
            invitation=issued.invitation, token=issued.token, address=form.cleaned_data["address"]
        )
        return _pdf_download(pdf, f"einladung-{client.pk}.pdf")


class ConfirmationCreateView(CaseloadStaffMixin, View):
    def _page(
        self, request: HttpRequest, client: Client, form: Any, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "agreements/confirmation_create.html",
            {"client": client, "form": form},
            status=status,
        )

    def get(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        return self._page(request, client, ConfirmationCreateForm())

    def post(self, request: HttpRequest, client_pk: int) -> HttpResponse:
        client = client_selectors.client_get_for_user(
            user=request.user, pk=client_pk, request=request, record_view=False
        )
        form = ConfirmationCreateForm(request.POST)
        if form.is_valid():
            try:
                services.confirmation_create(
                    actor=request.user, client=client, request=request, **form.cleaned_data
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The client can now confirm it in the portal."))
                return redirect("agreements:client", client_pk=client.pk)
        return self._page(request, client, form, status=400)


class ConfirmationPdfView(CaseloadStaffMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        confirmation = selectors.confirmation_get_for_user(
            user=request.user, pk=pk, request=request, action="confirmation.download"
        )
        if not confirmation.pdf:
            raise Http404
        return _pdf(confirmation.pdf, f"bestaetigung-{confirmation.pk}.pdf")


# --- The client portal ------------------------------------------------------------------------


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalView(View):
    """'Postfach': the one place for what the Jobcenter sent the client: decisions in the
    postbox (with the consent to electronic delivery) with read state and announcement date,
    issued plan versions, and declarations to confirm."""

    page_roles = CLIENT_ONLY

    def get(self, request: HttpRequest) -> HttpResponse:
        client, purposes = client_permissions.portal_state(request)
        audit_record(actor=request.user, action="agreements.portal", target=client, request=request)
        has_delivery = ConsentPurpose.ELECTRONIC_DELIVERY in purposes
        items = selectors.portal_items_for_client(client=client, has_delivery=has_delivery)
        return render(
            request,
            "agreements/portal.html",
            {**items, "has_delivery": has_delivery, "client": client},
        )


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalPlanView(View):
    """The plan as a readable page on the phone, with the PDF one tap away, and comments."""

    def _page(
        self, request: HttpRequest, plan: CooperationPlan, form: CommentForm, status: int = 200
    ) -> HttpResponse:
        versions = selectors.plan_versions(plan=plan)
        latest = versions[0] if versions else None
        showing_draft = latest is None or request.GET.get("entwurf") == "1"
        if not showing_draft:
            services.plan_mark_seen(actor=request.user, plan=plan)
        content = (
            latest.content
            if latest is not None and not showing_draft
            else {
                "title": plan.template.title,
                "intro": plan.template.intro,
                "goals": plan.goals,
                "steps": plan.steps,
                "support": plan.support,
                "closing": plan.template.closing,
            }
        )
        return render(
            request,
            "agreements/portal_plan.html",
            {
                "plan": plan,
                "content": content,
                "latest": latest,
                "showing_draft": showing_draft,
                "has_newer_draft": bool(plan.shared_at and latest and plan.status == "draft"),
                "comments": PlanComment.objects.filter(plan=plan).select_related("author"),
                "form": form,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(user=request.user, pk=pk, request=request)
        return self._page(request, plan, CommentForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(user=request.user, pk=pk, request=request, action=None)
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                services.plan_comment_add(
                    actor=request.user, plan=plan, body=form.cleaned_data["body"], request=request
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Thank you. Your case manager will read your comment."))
                return redirect(
                    reverse("agreements:portal_plan", kwargs={"pk": plan.pk}) + "#kommentare"
                )
        return self._page(request, plan, form, status=400)


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalPlanPdfView(View):
    def get(self, request: HttpRequest, pk: int, number: int) -> HttpResponse:
        plan = selectors.plan_get_for_user(
            user=request.user, pk=pk, request=request, action="plan.download"
        )
        version = selectors.plan_version_get(plan=plan, number=number)
        return _pdf(version.pdf, f"kooperationsplan-v{version.number}.pdf")


@method_decorator(
    client_permissions.consent_required(ConsentPurpose.ELECTRONIC_DELIVERY), name="dispatch"
)
class PortalDecisionView(View):
    """A decision in the postbox as a readable page; the first opening is logged."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = selectors.decision_get_for_user(user=request.user, pk=pk, request=request)
        services.decision_mark_opened(actor=request.user, decision=decision, request=request)
        return render(
            request,
            "agreements/portal_decision.html",
            {"decision": decision, "doc": document_context(decision, issued_at=decision.issued_at)},
        )


@method_decorator(
    client_permissions.consent_required(ConsentPurpose.ELECTRONIC_DELIVERY), name="dispatch"
)
class PortalDecisionPdfView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = selectors.decision_get_for_user(
            user=request.user, pk=pk, request=request, action="decision.download"
        )
        services.decision_mark_opened(actor=request.user, decision=decision, request=request)
        return _pdf(decision.pdf or b"", f"bescheid-{decision.reference}.pdf")


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalConfirmationView(View):
    """Read the whole text, ask for a code, enter it: the confirmation is recorded."""

    def _page(
        self, request: HttpRequest, confirmation: Any, form: CodeForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "agreements/portal_confirmation.html",
            {
                "confirmation": confirmation,
                "form": form,
                "code_sent": bool(confirmation.code_hash),
                "is_open": confirmation.status == ConfirmationStatus.OPEN,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        confirmation = selectors.confirmation_get_for_user(
            user=request.user, pk=pk, request=request
        )
        return self._page(request, confirmation, CodeForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        confirmation = selectors.confirmation_get_for_user(
            user=request.user, pk=pk, request=request, action=None
        )
        form = CodeForm(request.POST) if request.POST.get("action") == "confirm" else CodeForm()
        try:
            if request.POST.get("action") == "confirm":
                if form.is_valid():
                    services.confirmation_confirm(
                        actor=request.user,
                        confirmation=confirmation,
                        code=form.cleaned_data["code"],
                        request=request,
                    )
                    messages.success(request, _("Thank you. Your confirmation is recorded."))
                    return redirect("agreements:portal_confirmation", pk=confirmation.pk)
            else:
                services.confirmation_code_send(
                    actor=request.user, confirmation=confirmation, request=request
                )
                messages.info(request, _("We have sent you a code by e-mail."))
                return redirect("agreements:portal_confirmation", pk=confirmation.pk)
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            _form_error(form, error)
        confirmation.refresh_from_db()
        return self._page(request, confirmation, form, status=400)


@method_decorator(client_permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalConfirmationPdfView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        confirmation = selectors.confirmation_get_for_user(
            user=request.user, pk=pk, request=request, action="confirmation.download"
        )
        if not confirmation.pdf:
            raise Http404
        return _pdf(confirmation.pdf, f"bestaetigung-{confirmation.pk}.pdf")


__all__ = ["DeliveryChannel"]
