"""Decision and plan templates managed in the app (ADR 0079): team leads and administrators
create them, edit them as drafts, preview them with sample data and publish them.

A published version is never changed. Saving an edit writes the key's open draft (the
newest version while unpublished: no document can use it yet) or starts the next version
as a draft. Publishing makes a draft the version offered to staff; older versions stay,
because plans and decisions keep the version they were made from.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import permissions
from ..choices import DeliveryChannel, FieldType
from ..models import Decision, DecisionTemplate, PlanTemplate, VersionedTemplate
from ..rendering import field_specs, render_pdf
from .plans import add_months

TemplateT = TypeVar("TemplateT", DecisionTemplate, PlanTemplate)

# What each kind of template lets its authors write (besides key, version and the state).
DECISION_TEXT_FIELDS = ("title", "body", "fields", "legal_remedy")
PLAN_TEXT_FIELDS = ("title", "intro", "support_suggestions", "closing")
SAMPLE_CLIENT = ("Erika", "Mustermann")
SAMPLE_MONEY = "123.45"
SAMPLE_NUMBER = "3"


def _require_manager(actor: Any) -> None:
    if not permissions.can_manage_templates(user=actor):
        raise PermissionDeniedError(_("Only team leads and administrators manage templates."))


def _text_fields(model: type[VersionedTemplate]) -> tuple[str, ...]:
    return DECISION_TEXT_FIELDS if model is DecisionTemplate else PLAN_TEXT_FIELDS


def _action(template: VersionedTemplate) -> str:
    return "decision_template" if isinstance(template, DecisionTemplate) else "plan_template"


def template_create(
    *,
    actor: Any,
    model: type[TemplateT],
    key: str,
    values: dict[str, Any],
    request: HttpRequest | None = None,
) -> TemplateT:
    """A new template (a new key) as draft version 1. Raises ValidationError per field."""
    _require_manager(actor)
    with transaction.atomic():
        if model.objects.filter(key=key).exists():
            raise ValidationError(
                {"key": [str(_("A template with this key exists already."))]},
            )
        template = model(key=key, version=1, created_by=actor, created_at=timezone.now())
        for name in _text_fields(model):
            setattr(template, name, values.get(name, getattr(template, name)))
        template.full_clean()
        template.save()
        audit_record(
            actor=actor, action=f"{_action(template)}.create", target=template, request=request
        )
    return template


def template_draft_save(
    *,
    actor: Any,
    model: type[TemplateT],
    key: str,
    values: dict[str, Any],
    request: HttpRequest | None = None,
) -> TemplateT:
    """Save an edit of template `key` as a draft: into the open draft if there is one,
    else as the next version. Published versions stay as they are. Raises ValidationError
    per field (the lint included) and then changes nothing."""
    _require_manager(actor)
    with transaction.atomic():
        newest = model.objects.select_for_update().filter(key=key).order_by("-version").first()
        if newest is None:
            raise ApplicationError(_("This template does not exist."))
        if newest.is_published:
            draft = model(key=key, version=newest.version + 1, is_active=newest.is_active)
            draft.created_by = actor
        else:
            draft = newest
        draft.created_at = timezone.now()
        for name in _text_fields(model):
            setattr(draft, name, values.get(name, getattr(newest, name)))
        draft.full_clean()
        draft.save()
        audit_record(
            actor=actor, action=f"{_action(draft)}.draft_save", target=draft, request=request
        )
    return draft


def template_publish(
    *, actor: Any, template: TemplateT, request: HttpRequest | None = None
) -> TemplateT:
    """Publish a draft: from now on it is the version of its key offered to staff."""
    _require_manager(actor)
    model = type(template)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=template.pk)
        if locked.is_published:
            raise ApplicationError(_("This version is published already."))
        if model.objects.filter(key=locked.key, version__gt=locked.version).exists():
            raise ApplicationError(_("There is a newer version; please publish that one."))
        try:
            locked.full_clean()
        except ValidationError as error:
            raise ApplicationError(
                _("This version has errors. Please edit it before publishing.")
            ) from error
        locked.published_at = timezone.now()
        locked.published_by = actor
        locked.is_active = True
        locked.save(update_fields=["published_at", "published_by", "is_active"])
        audit_record(
            actor=actor, action=f"{_action(locked)}.publish", target=locked, request=request
        )
    return locked


# --- Preview with sample data --------------------------------------------------------------


def decision_template_sample_values(template: DecisionTemplate) -> dict[str, str]:
    """A stored value for every typed field, so the preview shows each in its format."""
    today = timezone.localdate()
    values: dict[str, str] = {}
    for spec in field_specs(template):
        if spec.type == FieldType.DATE:
            values[spec.name] = today.isoformat()
        elif spec.type == FieldType.MONEY:
            values[spec.name] = SAMPLE_MONEY
        elif spec.type == FieldType.NUMBER:
            values[spec.name] = SAMPLE_NUMBER
        elif spec.type == FieldType.CHOICE:
            values[spec.name] = spec.choices[0]
        else:
            values[spec.name] = f"[{spec.label}]"
    return values


def _sample_client() -> Client:
    first_name, last_name = SAMPLE_CLIENT
    return Client(first_name=first_name, last_name=last_name)


def decision_template_preview_context(
    *, actor: Any, template: DecisionTemplate, request: HttpRequest | None = None
) -> dict[str, Any]:
    """What a decision from this version looks like, filled with sample values for a
    made-up client; nothing is saved but the audit entry."""
    from .decisions import document_context

    _require_manager(actor)
    decision = Decision(
        client=_sample_client(),
        template=template,
        values=decision_template_sample_values(template),
        channel=DeliveryChannel.POST,
        reference=gettext("PREVIEW"),
        created_by=actor,
    )
    audit_record(actor=actor, action="decision_template.preview", target=template, request=request)
    return document_context(decision, issued_at=None)


def decision_template_preview_pdf(
    *, actor: Any, template: DecisionTemplate, request: HttpRequest | None = None
) -> bytes:
    """The preview as the PDF/A a client would receive (unsealed)."""
    with translation.override(settings.LANGUAGE_CODE):
        context = decision_template_preview_context(actor=actor, template=template, request=request)
    return render_pdf("agreements/pdf/decision.html", context)


def plan_template_preview_content(
    *, actor: Any, template: PlanTemplate, request: HttpRequest | None = None
) -> dict[str, Any]:
    """A plan made from this version with sample goals and steps for a made-up client."""
    _require_manager(actor)
    today = timezone.localdate()
    support = [line.strip() for line in template.support_suggestions.splitlines() if line.strip()]
    with translation.override(settings.LANGUAGE_CODE):
        content = {
            "title": template.title,
            "template_key": template.key,
            "template_version": template.version,
            "intro": template.intro,
            "goals": [gettext("Sample goal: a job as a warehouse clerk")],
            "steps": [
                {
                    "what": gettext("Sample step: send three applications"),
                    "who": " ".join(SAMPLE_CLIENT),
                    "by": (today + datetime.timedelta(days=28)).isoformat(),
                }
            ],
            "support": support,
            "closing": template.closing,
            "client_name": " ".join(SAMPLE_CLIENT),
            "case_manager_name": getattr(actor, "display_name", ""),
        }
    audit_record(actor=actor, action="plan_template.preview", target=template, request=request)
    return content


def plan_template_preview_pdf(
    *, actor: Any, template: PlanTemplate, request: HttpRequest | None = None
) -> bytes:
    content = plan_template_preview_content(actor=actor, template=template, request=request)
    today = timezone.localdate()
    return render_pdf(
        "agreements/pdf/plan.html",
        {
            "content": content,
            "number": template.version,
            "issued_at": timezone.now(),
            "review_on": add_months(today, 6),
        },
    )
