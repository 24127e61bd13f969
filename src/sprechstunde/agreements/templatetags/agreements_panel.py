"""The data for the side panel in the staff video call (and on the appointment page)."""

from __future__ import annotations

from typing import Any

from django import template

from sprechstunde.agreements import permissions, selectors
from sprechstunde.agreements.choices import DecisionStatus, PlanStatus
from sprechstunde.agreements.models import CooperationPlan, Decision

register = template.Library()


@register.simple_tag(takes_context=True)
def agreements_panel(context: Any, client: Any) -> dict[str, Any]:
    """Templates to start from and the client's open drafts, if the viewer may edit them."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        client is None
        or user is None
        or not permissions.can_edit_agreements(user=user, client=client)
    ):
        return {"can_edit": False}
    return {
        "can_edit": True,
        "plan_templates": selectors.plan_templates_offered(),
        "decision_templates": selectors.decision_templates_offered(),
        "plan_drafts": list(
            CooperationPlan.objects.filter(client=client, status=PlanStatus.DRAFT).order_by("-pk")[
                :5
            ]
        ),
        "decision_drafts": list(
            Decision.objects.filter(client=client, status=DecisionStatus.DRAFT)
            .select_related("template")
            .defer("pdf", "unsealed_pdf")
            .order_by("-pk")[:5]
        ),
    }
