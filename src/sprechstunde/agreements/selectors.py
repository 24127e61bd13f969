"""Reads of the agreements app. Every object is reached through the access rules in
permissions.py; opening one is audited, and so is every refusal (never content)."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.compiled_queries import CompiledQuery
from sprechstunde.core.sms import sms_enabled

from . import permissions
from .choices import ConfirmationStatus, DecisionStatus, DeliveryEventKind
from .models import (
    Confirmation,
    CooperationPlan,
    Decision,
    DecisionTemplate,
    DeliveryEvent,
    PlanTemplate,
    PlanVersion,
    PostalDelivery,
)
from .rendering import template_is_valid


def _key(pk: Any) -> int | None:
    try:
        return int(pk)
    except (TypeError, ValueError):
        return None


def _denied(*, user: Any, model: Any, pk: Any, entity: str, request: HttpRequest | None) -> None:
    key = _key(pk)
    client_id = (
        model.objects.filter(pk=key).values_list("client_id", flat=True).first()
        if key is not None
        else None
    )
    audit_record(
        actor=user,
        action=f"{entity}.access_denied",
        target_type=model._meta.label_lower,
        target_id=str(pk)[:64],
        client_id=client_id,
        request=request,
    )


def plan_get_for_user(
    *, user: Any, pk: Any, request: HttpRequest | None = None, action: str | None = "plan.view"
) -> CooperationPlan:
    """A plan `user` may read (staff by caseload; the client once shared or issued), audited
    as `action`. Raises Http404 otherwise, leaving a "plan.access_denied" entry."""
    key = _key(pk)
    plan = None
    if key is not None:
        plan = (
            CooperationPlan.objects.filter(client__in=permissions.visible_clients(user=user))
            .select_related("client", "client__case_manager", "client__user", "template")
            .filter(pk=key)
            .first()
        )
    if (
        plan is not None
        and permissions.is_own_client(user=user, client=plan.client)
        and not plan.is_visible_to_client
    ):
        plan = None
    if plan is None:
        _denied(user=user, model=CooperationPlan, pk=pk, entity="plan", request=request)
        raise Http404
    if action:
        audit_record(actor=user, action=action, target=plan, request=request)
    return plan


def plan_list_for_client(*, client: Client) -> list[CooperationPlan]:
    """A client's plans, newest first (callers have checked access and audit the page)."""
    return list(
        CooperationPlan.objects.filter(client=client)
        .select_related("template")
        .order_by("-updated_at", "-pk")
    )


def plan_versions(*, plan: CooperationPlan) -> list[PlanVersion]:
    return list(
        PlanVersion.objects.filter(plan=plan)
        .defer("pdf")
        .select_related("issued_by")
        .order_by("-number")
    )


def plan_version_get(*, plan: CooperationPlan, number: Any) -> PlanVersion:
    key = _key(number)
    version = PlanVersion.objects.filter(plan=plan, number=key).first() if key else None
    if version is None:
        raise Http404
    return version


def plan_templates_offered() -> list[PlanTemplate]:
    """The newest published, active version of each plan template."""
    newest: dict[str, PlanTemplate] = {}
    for template in PlanTemplate.objects.filter(
        is_active=True, published_at__isnull=False
    ).order_by("key", "-version"):
        newest.setdefault(template.key, template)
    return sorted(newest.values(), key=lambda template: template.title)


def decision_templates_offered() -> list[DecisionTemplate]:
    """The newest published, active version of each decision template that passes the check:
    a template with errors is never offered, so it never reaches a client."""
    newest: dict[str, DecisionTemplate] = {}
    for template in DecisionTemplate.objects.filter(
        is_active=True, published_at__isnull=False
    ).order_by("key", "-version"):
        newest.setdefault(template.key, template)
    return sorted(
        (template for template in newest.values() if template_is_valid(template)),
        key=lambda template: template.title,
    )


def decision_get_for_user(
    *, user: Any, pk: Any, request: HttpRequest | None = None, action: str | None = "decision.view"
) -> Decision:
    """A decision `user` may read: staff by caseload; the client only once it is in their
    portal postbox. Audited as `action`; else Http404 and "decision.access_denied"."""
    key = _key(pk)
    decision = None
    if key is not None:
        decision = (
            Decision.objects.filter(client__in=permissions.visible_clients(user=user))
            .select_related("client", "client__case_manager", "client__user", "template")
            .select_related("issued_by")
            .filter(pk=key)
            .first()
        )
    if (
        decision is not None
        and permissions.is_own_client(user=user, client=decision.client)
        and decision.status != DecisionStatus.IN_POSTBOX
    ):
        decision = None
    if decision is None:
        _denied(user=user, model=Decision, pk=pk, entity="decision", request=request)
        raise Http404
    if action:
        audit_record(actor=user, action=action, target=decision, request=request)
    return decision


def decision_list_for_client(*, client: Client) -> list[Decision]:
    return list(
        Decision.objects.filter(client=client)
        .select_related("template")
        .defer("pdf", "unsealed_pdf")
        .order_by("-created_at", "-pk")
    )


def delivery_events(*, decision: Decision) -> list[DeliveryEvent]:
    return list(DeliveryEvent.objects.filter(decision=decision).order_by("sequence"))


def postal_pending_for_user(
    *, user: Any, request: HttpRequest | None = None
) -> QuerySet[PostalDelivery]:
    """Decisions of the visible caseload still to be sent by post, oldest first. Audited."""
    audit_record(
        actor=user,
        action="postal_delivery.list",
        target_type="agreements.postaldelivery",
        request=request,
    )
    return (
        PostalDelivery.objects.filter(
            sent_on__isnull=True,
            decision__client__in=permissions.visible_clients(user=user),
        )
        .select_related("decision", "decision__client", "decision__template")
        .defer("decision__pdf", "decision__unsealed_pdf")
        .order_by("created_at", "pk")
    )


def appointment_letters_pending_for_user(
    *, user: Any, request: HttpRequest | None = None
) -> list[Appointment]:
    """Booked appointments still ahead, of visible clients who hear of them neither by e-mail
    nor by SMS (no address; no number, or no SMS gateway): the rule of
    `client_hears_of_appointments`. A letter is their news of it. Soonest first. Audited."""
    audit_record(
        actor=user,
        action="postal_letter.list",
        target_type="appointments.appointment",
        request=request,
    )
    unreachable = Q(client__email="")
    if sms_enabled():
        unreachable &= Q(client__mobile_number="")
    return list(
        Appointment.objects.filter(
            unreachable,
            client__in=permissions.visible_clients(user=user),
            status=AppointmentStatus.BOOKED,
            starts_at__gte=timezone.now(),
        )
        .select_related("client", "case_manager")
        .order_by("starts_at", "pk")[:200]
    )


def invitation_letters_pending_for_user(
    *, user: Any, request: HttpRequest | None = None
) -> list[tuple[Client, datetime.datetime | None]]:
    """Visible clients without a portal account whom neither an e-mail nor an SMS can
    invite: a letter is their invitation (they give their own address for the login codes
    when they accept, clients.services.invitation_accept). With the day the open letter
    invitation was printed, or None. Closed cases and restricted records are left out; so is
    a client who withdrew the use of the portal. By name. Audited."""
    from sprechstunde.clients.choices import ConsentPurpose, InvitationChannel
    from sprechstunde.clients.models import Consent, Invitation

    audit_record(
        actor=user,
        action="postal_letter.list",
        target_type="clients.invitation",
        request=request,
    )
    unreachable = Q(email="")
    if sms_enabled():
        unreachable &= Q(mobile_number="")
    open_letter = (
        Invitation.objects.filter(
            client=OuterRef("pk"),
            channel=InvitationChannel.LETTER,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    portal_withdrawn = Consent.objects.filter(
        purpose=ConsentPurpose.PORTAL, withdrawn_at__isnull=False
    ).values("client_id")
    clients = (
        permissions.visible_clients(user=user)
        .filter(
            unreachable,
            user__isnull=True,
            case_closed_at__isnull=True,
            processing_restricted_at__isnull=True,
        )
        .exclude(pk__in=portal_withdrawn)
        .annotate(letter_printed_at=Subquery(open_letter))
        .only("pk", "first_name", "last_name")
        .order_by("last_name", "first_name", "pk")[:200]
    )
    return [(client, client.letter_printed_at) for client in clients]


def letters_printed_on(*, action: str, target_ids: list[int]) -> dict[int, datetime.datetime]:
    """When each target's letter was last printed (from the audit trail), by target id."""
    printed: dict[int, datetime.datetime] = {}
    for target_id, at in (
        AuditEntry.objects.filter(action=action, target_id__in=[str(pk) for pk in target_ids])
        .order_by("at")
        .values_list("target_id", "at")
    ):
        printed[int(target_id)] = at
    return printed


def postal_get_for_user(
    *, user: Any, pk: Any, request: HttpRequest | None = None
) -> PostalDelivery:
    key = _key(pk)
    postal = None
    if key is not None:
        postal = (
            PostalDelivery.objects.filter(
                decision__client__in=permissions.visible_clients(user=user)
            )
            .select_related("decision", "decision__client")
            .filter(pk=key)
            .first()
        )
    if postal is None or not permissions.can_edit_agreements(
        user=user, client=postal.decision.client
    ):
        client_id = (
            PostalDelivery.objects.filter(pk=key)
            .values_list("decision__client_id", flat=True)
            .first()
            if key is not None
            else None
        )
        audit_record(
            actor=user,
            action="postal_delivery.access_denied",
            target_type="agreements.postaldelivery",
            target_id=str(pk)[:64],
            client_id=client_id,
            request=request,
        )
        raise Http404
    return postal


def portal_items_for_client(*, client: Client, has_delivery: bool = True) -> dict[str, list[Any]]:
    """What the client's postbox lists: visible plans (with the date the newest version was
    handed over and whether the client has opened it), decisions delivered to the portal
    (with the first opening and the announcement date; only with the consent to electronic
    delivery) and confirmations."""
    newest_issued_at = PlanVersion.objects.filter(
        plan=OuterRef("pk"), number=OuterRef("current_version")
    ).values("issued_at")[:1]
    plans = list(
        CooperationPlan.objects.filter(client=client)
        .filter(Q(current_version__gt=0) | Q(shared_at__isnull=False))
        .annotate(issued_at=Subquery(newest_issued_at))
        .order_by("-updated_at", "-pk")
    )
    for plan in plans:
        plan.is_new = plan.current_version > plan.client_seen_version  # type: ignore[attr-defined]
    decisions: list[Decision] = []
    if has_delivery:
        first_opened = DeliveryEvent.objects.filter(
            decision=OuterRef("pk"), kind=DeliveryEventKind.OPENED
        ).values("at")[:1]
        decisions = list(
            Decision.objects.filter(client=client, status=DecisionStatus.IN_POSTBOX)
            .select_related("template")
            .defer("pdf", "unsealed_pdf", "template__body", "template__legal_remedy")
            .annotate(opened_at=Subquery(first_opened))
            .order_by("-issued_at", "-pk")
        )
    confirmations = list(
        Confirmation.objects.filter(client=client)
        .defer("pdf", "unsealed_pdf")
        .order_by("-created_at", "-pk")
    )
    return {"plans": plans, "decisions": decisions, "confirmations": confirmations}


@dataclass(frozen=True)
class PostboxNews:
    """What home says about the postbox: how many things are new or wait for the client."""

    unread_decisions: int
    new_plans: int
    open_confirmations: int

    @property
    def new_count(self) -> int:
        return self.unread_decisions + self.new_plans


def _count_of(queryset: QuerySet[Any]) -> Coalesce:
    """A scalar subquery counting `queryset`'s rows for the outer client."""
    counted = queryset.order_by().values("client_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# The three counts of the home tile in one query, compiled once: it runs on every portal
# home (ADR 0092).
_POSTBOX_NEWS = CompiledQuery(
    lambda client_id: Client.objects.filter(pk=client_id).values_list(
        _count_of(
            Decision.objects.filter(
                client=OuterRef("pk"), status=DecisionStatus.IN_POSTBOX
            ).exclude(events__kind=DeliveryEventKind.OPENED)
        ),
        _count_of(
            CooperationPlan.objects.filter(
                client=OuterRef("pk"), current_version__gt=F("client_seen_version")
            )
        ),
        _count_of(
            Confirmation.objects.filter(client=OuterRef("pk"), status=ConfirmationStatus.OPEN)
        ),
    ),
    arguments=("client_id",),
    count=False,
)


def postbox_news_for_client(*, client: Client, has_delivery: bool) -> PostboxNews:
    """Counts for the home tile, in one query: decisions in the postbox never opened (only
    with the consent to electronic delivery), issued plan versions the client has not
    opened, and confirmations waiting for the client."""
    rows = _POSTBOX_NEWS.rows(client_id=client.pk)
    unread, new_plans, open_confirmations = (int(n) for n in rows[0]) if rows else (0, 0, 0)
    return PostboxNews(
        unread_decisions=unread if has_delivery else 0,
        new_plans=new_plans,
        open_confirmations=open_confirmations,
    )


def decision_opened_at(*, decision: Decision) -> Any:
    event = DeliveryEvent.objects.filter(decision=decision, kind=DeliveryEventKind.OPENED).first()
    return event.at if event else None


def confirmation_get_for_user(
    *,
    user: Any,
    pk: Any,
    request: HttpRequest | None = None,
    action: str | None = "confirmation.view",
) -> Confirmation:
    """A confirmation of a client `user` may see (the client: their own). Audited."""
    key = _key(pk)
    confirmation = None
    if key is not None:
        confirmation = (
            Confirmation.objects.filter(client__in=permissions.visible_clients(user=user))
            .select_related("client", "client__user")
            .filter(pk=key)
            .first()
        )
    if confirmation is None:
        _denied(user=user, model=Confirmation, pk=pk, entity="confirmation", request=request)
        raise Http404
    if action:
        audit_record(actor=user, action=action, target=confirmation, request=request)
    return confirmation


def confirmations_for_client(*, client: Client) -> list[Confirmation]:
    return list(
        Confirmation.objects.filter(client=client)
        .defer("pdf", "unsealed_pdf")
        .order_by("-created_at", "-pk")
    )


def confirmation_is_open(confirmation: Confirmation) -> bool:
    return confirmation.status == ConfirmationStatus.OPEN


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Template management (team leads and administrators) -----------------------------------


@dataclass(frozen=True)
class TemplateSummary:
    """One template key: its newest version and the version offered to staff (if any)."""

    key: str
    newest: Any
    offered: Any


def template_summaries(model: Any) -> list[TemplateSummary]:
    """Every key of a template model with its newest and its offered (newest published,
    active) version, by title."""
    newest: dict[str, Any] = {}
    offered: dict[str, Any] = {}
    for template in model.objects.order_by("key", "-version"):
        newest.setdefault(template.key, template)
        if template.is_published and template.is_active:
            offered.setdefault(template.key, template)
    return sorted(
        (
            TemplateSummary(key=key, newest=item, offered=offered.get(key))
            for key, item in newest.items()
        ),
        key=lambda summary: summary.newest.title,
    )


def template_versions(model: Any, *, key: str) -> list[Any]:
    """All versions of one template, newest first."""
    return list(
        model.objects.filter(key=key)
        .select_related("created_by", "published_by")
        .order_by("-version")
    )


def template_get(model: Any, *, pk: Any) -> Any:
    """One template version by its id; Http404 if there is none."""
    key = _key(pk)
    template = model.objects.filter(pk=key).first() if key else None
    if template is None:
        raise Http404
    return template
