"""Staff pages for decision and plan templates (ADR 0079): list, create, edit as a draft,
preview with sample data (page and PDF) and publish. For team leads and administrators;
everyone else gets 404 (or, on the list, the page naming the roles that use it)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.audit.services import audit_denial_record
from sprechstunde.core.errors import ApplicationError

from . import permissions, selectors, services
from .forms import TemplateKeyForm, template_form_class
from .models import DecisionTemplate, PlanTemplate, VersionedTemplate
from .rendering import field_specs, value_display
from .services.templates import decision_template_sample_values

# The URL names a kind by its German word; each maps to its model.
KINDS: dict[str, type[VersionedTemplate]] = {"bescheid": DecisionTemplate, "plan": PlanTemplate}
KIND_LABELS = {"bescheid": _("Decision template"), "plan": _("Plan template")}


def _model(kind: str) -> Any:
    model = KINDS.get(kind)
    if model is None:
        raise Http404
    return model


# The decision form calls the model's `fields` (the typed field list) `field_definitions`.
MODEL_TO_FORM = {"fields": "field_definitions"}


def _initial(template: Any, kind: str) -> dict[str, Any]:
    names = ("title", "body", "fields", "legal_remedy")
    if kind == "plan":
        names = ("title", "intro", "support_suggestions", "closing")
    return {MODEL_TO_FORM.get(name, name): getattr(template, name) for name in names}


def _values(form: Any, kind: str) -> dict[str, Any]:
    values = dict(form.cleaned_data)
    if kind == "bescheid":
        values["fields"] = values.pop("field_definitions", None) or []
    return values


def _errors_to_form(form: Any, error: ValidationError, *, key_form: Any = None) -> None:
    """Put each message at its field (the lint's included); the rest above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            for message in errors:
                if name == "key" and key_form is not None:
                    key_form.add_error("key", message)
                else:
                    name = MODEL_TO_FORM.get(name, name)
                    form.add_error(name if name in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class TemplateManagerMixin(LoginRequiredMixin):
    """Team leads and administrators; a refusal is audited and answers 404."""

    page_roles = (Role.TEAM_LEAD, Role.ADMIN)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not permissions.can_manage_templates(user=user):
            audit_denial_record(
                actor=user,
                action="template.access_denied",
                target_type="template",
                target_id=str(kwargs.get("pk", "")),
                request=request,
            )
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class TemplateListView(TemplateManagerMixin, View):
    """All decision and plan templates with their offered version and any open draft."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "agreements/template_list.html",
            {
                "decision_templates": selectors.template_summaries(DecisionTemplate),
                "plan_templates": selectors.template_summaries(PlanTemplate),
            },
        )


class TemplateCreateView(TemplateManagerMixin, View):
    """A new template (a new key), saved as draft version 1."""

    def _render(self, request: HttpRequest, kind: str, key_form: Any, form: Any) -> HttpResponse:
        return render(
            request,
            "agreements/template_form.html",
            {
                "kind": kind,
                "kind_label": KIND_LABELS[kind],
                "key_form": key_form,
                "form": form,
                "creating": True,
            },
            status=400 if (key_form.is_bound and (key_form.errors or form.errors)) else 200,
        )

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        _model(kind)
        initial: dict[str, Any] = {}
        if kind == "bescheid":
            from .shipped_templates import LEGAL_REMEDY

            initial = {"field_definitions": [], "legal_remedy": LEGAL_REMEDY}
        return self._render(
            request, kind, TemplateKeyForm(), template_form_class(kind)(initial=initial)
        )

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        model = _model(kind)
        key_form = TemplateKeyForm(request.POST)
        form = template_form_class(kind)(request.POST)
        if key_form.is_valid() and form.is_valid():
            try:
                template = services.template_create(
                    actor=request.user,
                    model=model,
                    key=key_form.cleaned_data["key"],
                    values=_values(form, kind),
                    request=request,
                )
            except ValidationError as error:
                _errors_to_form(form, error, key_form=key_form)
            else:
                messages.success(request, _("The draft was saved. Preview it, then publish it."))
                return redirect("agreements:template_detail", kind=kind, pk=template.pk)
        return self._render(request, kind, key_form, form)


class TemplateDetailView(TemplateManagerMixin, View):
    """One version with all versions of its template: edit, preview, publish."""

    def get(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        model = _model(kind)
        template = selectors.template_get(model, pk=pk)
        versions = selectors.template_versions(model, key=template.key)
        offered = next((v for v in versions if v.is_published and v.is_active), None)
        return render(
            request,
            "agreements/template_detail.html",
            {
                "kind": kind,
                "kind_label": KIND_LABELS[kind],
                "template": template,
                "versions": versions,
                "offered": offered,
                "can_publish": not template.is_published and versions[0].pk == template.pk,
                "specs": field_specs(template) if kind == "bescheid" else [],
            },
        )


class TemplateEditView(TemplateManagerMixin, View):
    """Edit starting from one version; saving writes the template's draft, never a
    published version."""

    def _render(self, request: HttpRequest, kind: str, template: Any, form: Any) -> HttpResponse:
        versions = selectors.template_versions(_model(kind), key=template.key)
        newest = versions[0]
        return render(
            request,
            "agreements/template_form.html",
            {
                "kind": kind,
                "kind_label": KIND_LABELS[kind],
                "template": template,
                "form": form,
                "draft_number": newest.version if not newest.is_published else newest.version + 1,
            },
            status=400 if form.is_bound else 200,
        )

    def get(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        template = selectors.template_get(_model(kind), pk=pk)
        form = template_form_class(kind)(initial=_initial(template, kind))
        return self._render(request, kind, template, form)

    def post(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        model = _model(kind)
        template = selectors.template_get(model, pk=pk)
        form = template_form_class(kind)(request.POST)
        if form.is_valid():
            try:
                draft = services.template_draft_save(
                    actor=request.user,
                    model=model,
                    key=template.key,
                    values=_values(form, kind),
                    request=request,
                )
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("The draft was saved. Preview it, then publish it."))
                return redirect("agreements:template_detail", kind=kind, pk=draft.pk)
        return self._render(request, kind, template, form)


class TemplatePreviewView(TemplateManagerMixin, View):
    """The version filled with sample data, as staff and clients would read it."""

    def get(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        model = _model(kind)
        template = selectors.template_get(model, pk=pk)
        context: dict[str, Any] = {"kind": kind, "kind_label": KIND_LABELS[kind]}
        if isinstance(template, DecisionTemplate):
            doc = services.decision_template_preview_context(
                actor=request.user, template=template, request=request
            )
            specs = field_specs(template)
            values = decision_template_sample_values(template)
            context["doc"] = doc
            context["samples"] = [(spec, value_display(spec, values[spec.name])) for spec in specs]
        else:
            assert isinstance(template, PlanTemplate)
            context["content"] = services.plan_template_preview_content(
                actor=request.user, template=template, request=request
            )
        context["template"] = template
        return render(request, "agreements/template_preview.html", context)


class TemplatePreviewPdfView(TemplateManagerMixin, View):
    """The preview as PDF/A, exactly as the document would be rendered (unsealed)."""

    def get(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        model = _model(kind)
        template = selectors.template_get(model, pk=pk)
        if isinstance(template, DecisionTemplate):
            pdf = services.decision_template_preview_pdf(
                actor=request.user, template=template, request=request
            )
        else:
            assert isinstance(template, PlanTemplate)
            pdf = services.plan_template_preview_pdf(
                actor=request.user, template=template, request=request
            )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="vorschau-{template.key}.pdf"'
        response["Cache-Control"] = "no-store"
        return response


class TemplatePublishView(TemplateManagerMixin, View):
    """Publish a draft: staff are offered it from now on."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        model = _model(kind)
        template = selectors.template_get(model, pk=pk)
        try:
            services.template_publish(actor=request.user, template=template, request=request)
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Version %(number)d is published and offered to staff.")
                % {"number": template.version},
            )
        return redirect("agreements:template_detail", kind=kind, pk=template.pk)
