"""Plans, decisions and delivery events in a client's timeline, and the "draft a plan or
decision" actions (clients.timeline)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from sprechstunde.clients.timeline import ClientAction, QuerySource, TimelineEntry

from . import permissions
from .choices import DecisionStatus
from .models import CooperationPlan, Decision, DeliveryEvent, PlanTemplate, PlanVersion

_DECISION_TONES = {
    DecisionStatus.IN_POSTBOX: "ok",
    DecisionStatus.POSTED: "ok",
    DecisionStatus.WAITING_FOR_SEAL: "warn",
    DecisionStatus.AWAITING_POST: "warn",
}


def _plan(plan: CooperationPlan) -> TimelineEntry:
    return TimelineEntry(
        at=plan.created_at,
        kind="plan",
        source="plan",
        key=plan.pk,
        title=_("Cooperation plan started: %(title)s") % {"title": plan.template.title},
        url=reverse("agreements:plan", args=[plan.pk]),
        state=str(plan.get_status_display()),
    )


def _plan_version(version: PlanVersion) -> TimelineEntry:
    return TimelineEntry(
        at=version.issued_at,
        kind="plan",
        source="plan_version",
        key=version.pk,
        title=_("Cooperation plan issued: version %(number)s") % {"number": version.number},
        url=reverse("agreements:plan", args=[version.plan_id]),
        tone="ok",
    )


def _decision(decision: Decision) -> TimelineEntry:
    return TimelineEntry(
        at=decision.created_at,
        kind="decision",
        source="decision",
        key=decision.pk,
        title=_("Decision: %(title)s") % {"title": decision.template.title},
        detail=decision.reference,
        url=reverse("agreements:decision", args=[decision.pk]),
        state=str(decision.get_status_display()),
        tone=_DECISION_TONES.get(decision.status, "neutral"),  # type: ignore[call-overload]
    )


def _delivery(event: DeliveryEvent) -> TimelineEntry:
    return TimelineEntry(
        at=event.at,
        kind="delivery",
        source="delivery",
        key=event.pk,
        title=_("Decision %(kind)s: %(title)s")
        % {"kind": event.get_kind_display(), "title": event.decision.template.title},
        detail=event.actor_label,
        url=reverse("agreements:decision", args=[event.decision_id]),
    )


def sources() -> list[Any]:
    return [
        QuerySource(
            kind="plan",
            code="plan",
            rows=lambda client: (
                CooperationPlan.objects.filter(client=client)
                .select_related("template")
                .only("pk", "created_at", "status", "template__title")
            ),
            at_field="created_at",
            make=_plan,
        ),
        QuerySource(
            kind="plan",
            code="plan_version",
            rows=lambda client: PlanVersion.objects.filter(plan__client=client).only(
                "pk", "plan_id", "number", "issued_at"
            ),
            at_field="issued_at",
            make=_plan_version,
        ),
        QuerySource(
            kind="decision",
            code="decision",
            rows=lambda client: (
                Decision.objects.filter(client=client)
                .select_related("template")
                .only("pk", "created_at", "status", "reference", "template__title")
            ),
            at_field="created_at",
            make=_decision,
        ),
        QuerySource(
            kind="delivery",
            code="delivery",
            rows=lambda client: (
                DeliveryEvent.objects.filter(decision__client=client)
                .select_related("decision__template")
                .only("pk", "at", "kind", "actor_label", "decision_id", "decision__template__title")
            ),
            at_field="at",
            make=_delivery,
        ),
    ]


def actions(*, user: Any, client: Any) -> list[ClientAction]:
    """Drafting opens for the case manager and today's substitutes; a plan needs a template
    (the plans section of the agreements page holds the choice)."""
    if not permissions.can_edit_agreements(user=user, client=client):
        return []
    offered = []
    if PlanTemplate.objects.filter(is_active=True, published_at__isnull=False).exists():
        offered.append(
            ClientAction(
                label=_("Draft a plan"),
                url=reverse("agreements:client", args=[client.pk]) + "#plans-heading",
                order=40,
            )
        )
    offered.append(
        ClientAction(
            label=_("Draft a decision"),
            url=reverse("agreements:decision_create", args=[client.pk]),
            order=50,
        )
    )
    return offered
