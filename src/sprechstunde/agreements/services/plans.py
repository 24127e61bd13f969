"""Cooperation plans: draft, share, comment, issue a frozen version, review reminder, and
the "offer a talk about it" appointment proposal."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import calendar
import datetime
import hashlib
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.text_input import clean_text

from .. import permissions
from ..choices import COMMENT_MAX_LENGTH, PLAN_REVIEW_MAX_MONTHS, CommentSide, PlanStatus
from ..models import CooperationPlan, PlanComment, PlanReviewReminder, PlanTemplate, PlanVersion
from ..rendering import legal_consequences_terms_in, render_pdf
from .common import (
    client_address,
    client_notice_send,
    content_free_mail,
    require_editor,
)

logger = logging.getLogger(__name__)

MAX_GOALS = 20
MAX_STEPS = 30
MAX_SUPPORT = 20
ITEM_LIMIT = 1000
WHO_LIMIT = 200


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later; the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_date_latest(*, issued_on: datetime.date) -> datetime.date:
    """§ 15 (3) SGB II: reviewed at the latest six months after it was made."""
    return add_months(issued_on, PLAN_REVIEW_MAX_MONTHS)


def _review_date_check(review_on: datetime.date | None, *, issued_on: datetime.date) -> None:
    if review_on is None:
        raise ApplicationError(_("Please set the date of the next review."), field="review_on")
    latest = review_date_latest(issued_on=issued_on)
    if review_on <= issued_on:
        raise ApplicationError(_("The review date must lie in the future."), field="review_on")
    if review_on > latest:
        raise ApplicationError(
            _("The plan must be reviewed within six months, by %(date)s at the latest.")
            % {"date": latest.strftime("%d.%m.%Y")},
            field="review_on",
        )


def _clean_lines(items: Any, *, field: str, limit: int) -> list[str]:
    if not isinstance(items, list | tuple):
        raise ApplicationError(_("Please enter text."), field=field)
    cleaned = [clean_text(item, limit=ITEM_LIMIT, field=field) for item in items]
    cleaned = [item for item in cleaned if item]
    if len(cleaned) > limit:
        raise ApplicationError(
            _("At most %(count)d entries, please.") % {"count": limit}, field=field
        )
    return cleaned


def _clean_steps(steps: Any) -> list[dict[str, str]]:
    if not isinstance(steps, list | tuple):
        raise ApplicationError(_("Please enter the steps."), field="steps")
    cleaned: list[dict[str, str]] = []
    for step in steps:
        if not isinstance(step, dict):
            raise ApplicationError(_("Please enter the steps."), field="steps")
        what = clean_text(step.get("what"), limit=ITEM_LIMIT, field="steps")
        who = clean_text(step.get("who"), limit=WHO_LIMIT, field="steps")
        by = step.get("by") or ""
        if isinstance(by, datetime.date):
            by = by.isoformat()
        if not what and not who and not by:
            continue
        if not what:
            raise ApplicationError(_("Each step needs a description."), field="steps")
        if not who:
            raise ApplicationError(_("Please say who takes each step."), field="steps")
        if by:
            try:
                by = datetime.date.fromisoformat(str(by)).isoformat()
            except ValueError as error:
                raise ApplicationError(_("Please enter a valid date."), field="steps") from error
        cleaned.append({"what": what, "who": who, "by": str(by)})
    if len(cleaned) > MAX_STEPS:
        raise ApplicationError(
            _("At most %(count)d entries, please.") % {"count": MAX_STEPS}, field="steps"
        )
    return cleaned


def plan_create(
    *,
    actor: Any,
    client: Client,
    template: PlanTemplate,
    appointment: Appointment | None = None,
    request: HttpRequest | None = None,
) -> CooperationPlan:
    """Start a draft from a template; the template's suggested support is filled in."""
    require_editor(actor, client)
    if not template.is_active or not template.is_published:
        raise ApplicationError(_("This template cannot be used. Please choose another one."))
    if appointment is not None and appointment.client_id != client.pk:
        appointment = None
    support = [line.strip() for line in template.support_suggestions.splitlines() if line.strip()]
    with transaction.atomic():
        plan = CooperationPlan.objects.create(
            client=client,
            template=template,
            support=support[:MAX_SUPPORT],
            appointment=appointment,
            created_by=actor,
        )
        audit_record(actor=actor, action="plan.create", target=plan, request=request)
    return plan


def plan_update(
    *,
    actor: Any,
    plan: CooperationPlan,
    goals: Sequence[str],
    steps: Sequence[dict[str, Any]],
    support: Sequence[str],
    review_on: datetime.date | None,
    request: HttpRequest | None = None,
) -> CooperationPlan:
    """Save the draft (also after an issue: the draft of the next version)."""
    require_editor(actor, plan.client)
    cleaned_goals = _clean_lines(list(goals), field="goals", limit=MAX_GOALS)
    cleaned_steps = _clean_steps(list(steps))
    cleaned_support = _clean_lines(list(support), field="support", limit=MAX_SUPPORT)
    if review_on is not None:
        _review_date_check(review_on, issued_on=timezone.localdate())
    with transaction.atomic():
        plan.goals = cleaned_goals
        plan.steps = cleaned_steps
        plan.support = cleaned_support
        plan.review_on = review_on
        plan.status = PlanStatus.DRAFT
        plan.updated_at = timezone.now()
        plan.save()
        audit_record(actor=actor, action="plan.update", target=plan, request=request)
    return plan


def plan_share(
    *, actor: Any, plan: CooperationPlan, request: HttpRequest | None = None
) -> CooperationPlan:
    """Show the draft to the client in the portal, so they can comment before it is issued."""
    require_editor(actor, plan.client)
    if not permissions.can_use_portal(client=plan.client):
        raise ApplicationError(
            _("This client does not use the portal. Please discuss the draft by phone or on site.")
        )
    with transaction.atomic():
        plan.shared_at = timezone.now()
        plan.save(update_fields=["shared_at"])
        audit_record(actor=actor, action="plan.share", target=plan, request=request)
        transaction.on_commit(partial(_notify_client, plan.client_id), robust=True)
    return plan


def plan_comment_add(
    *, actor: Any, plan: CooperationPlan, body: Any, request: HttpRequest | None = None
) -> PlanComment:
    """A remark or proposed change by the client (on their own plan) or by staff."""
    client = plan.client
    if permissions.is_own_client(user=actor, client=client):
        if not (plan.is_visible_to_client and permissions.can_use_portal(client=client)):
            raise PermissionDeniedError(_("You cannot comment on this plan."))
        side = CommentSide.CLIENT
    else:
        require_editor(actor, client)
        side = CommentSide.STAFF
    text = clean_text(body, limit=COMMENT_MAX_LENGTH, field="body", required=True)
    with transaction.atomic():
        comment = PlanComment.objects.create(
            plan=plan,
            author=actor,
            side=side,
            version=plan.current_version if plan.status == PlanStatus.ISSUED else 0,
            body=text,
        )
        CooperationPlan.objects.filter(pk=plan.pk).update(updated_at=timezone.now())
        audit_record(
            actor=actor, action="plan.comment", target=plan, client_id=client.pk, request=request
        )
    return comment


def plan_mark_seen(*, actor: Any, plan: CooperationPlan) -> bool:
    """The client opened their plan: its newest issued version is no longer new in the
    postbox. Only the plan's own client counts; staff reading it change nothing."""
    if not permissions.is_own_client(user=actor, client=plan.client):
        return False
    if plan.current_version <= plan.client_seen_version:
        return False
    # A plain conditional update: two tabs opening the plan at once write the same number.
    updated = CooperationPlan.objects.filter(
        pk=plan.pk, client_seen_version__lt=plan.current_version
    ).update(client_seen_version=plan.current_version)
    plan.client_seen_version = plan.current_version
    return bool(updated)


def _plan_content(plan: CooperationPlan) -> dict[str, Any]:
    template = plan.template
    return {
        "title": template.title,
        "template_key": template.key,
        "template_version": template.version,
        "intro": template.intro,
        "goals": list(plan.goals),
        "steps": list(plan.steps),
        "support": list(plan.support),
        "closing": template.closing,
        "client_name": plan.client.full_name,
        "case_manager_name": plan.client.case_manager.display_name,
    }


def plan_issue(
    *, actor: Any, plan: CooperationPlan, request: HttpRequest | None = None
) -> PlanVersion:
    """Freeze the draft as the next version, in text form and without any signature step
    (§ 15 SGB II since 2023). Renders the PDF/A, schedules the review reminder and tells
    the client (without content) that there is something new in the portal."""
    require_editor(actor, plan.client)
    today = timezone.localdate()
    if not plan.goals:
        raise ApplicationError(_("Please enter at least one goal."), field="goals")
    if not plan.steps:
        raise ApplicationError(_("Please enter at least one step."), field="steps")
    _review_date_check(plan.review_on, issued_on=today)
    assert plan.review_on is not None  # checked above
    content = _plan_content(plan)
    words = " ".join(
        [*content["goals"], *content["support"], *(step["what"] for step in content["steps"])]
    )
    found = legal_consequences_terms_in(words)
    if found:
        raise ApplicationError(
            _(
                "A cooperation plan must not contain a Rechtsfolgenbelehrung (found: "
                "%(terms)s). Legal consequences belong only in a separate request letter."
            )
            % {"terms": ", ".join(found)}
        )
    with transaction.atomic():
        locked = CooperationPlan.objects.select_for_update().get(pk=plan.pk)
        number = locked.current_version + 1
        issued_at = timezone.now()
        pdf = render_pdf(
            "agreements/pdf/plan.html",
            {
                "content": content,
                "number": number,
                "issued_at": issued_at,
                "review_on": plan.review_on,
            },
        )
        version = PlanVersion.objects.create(
            plan=plan,
            number=number,
            content=content,
            review_on=plan.review_on,
            issued_at=issued_at,
            issued_by=actor,
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        )
        CooperationPlan.objects.filter(pk=plan.pk).update(
            current_version=number, status=PlanStatus.ISSUED, updated_at=issued_at
        )
        plan.current_version = number
        plan.status = PlanStatus.ISSUED
        PlanReviewReminder.objects.create(
            version=version,
            due_on=max(today, plan.review_on - datetime.timedelta(days=14)),
        )
        audit_record(actor=actor, action="plan.issue", target=plan, request=request)
        transaction.on_commit(partial(_notify_client, plan.client_id), robust=True)
    return version


def _notify_client(client_id: int) -> None:
    """Tell the client by e-mail, without content, that the portal holds something new."""
    client = Client.objects.select_related("user").filter(pk=client_id).first()
    if client is None or not permissions.can_use_portal(client=client):
        return
    try:
        client_notice_send(
            client=client,
            kind="document",
            path_name="agreements:portal",
            dedupe_key=None,
        )
    except Exception:
        # The plan is issued either way; the client sees it at their next visit.
        logger.warning("Plan notice to client %s could not be sent", client_id, exc_info=True)


def plan_offer_talk(
    *,
    actor: Any,
    plan: CooperationPlan,
    slots: Sequence[tuple[datetime.datetime, datetime.datetime]],
    channel: str,
    location: str = "",
    request: HttpRequest | None = None,
) -> Appointment:
    """ "Offer a talk about it": propose up to three times through the appointments app."""
    from sprechstunde.appointments import services as appointment_services

    require_editor(actor, plan.client)
    with transaction.atomic():
        appointment = appointment_services.appointment_propose(
            actor=actor, client=plan.client, slots=slots, channel=channel, location=location
        )
        audit_record(actor=actor, action="plan.offer_talk", target=plan, request=request)
    return appointment


def plan_review_reminders_send_due(*, today: datetime.date | None = None) -> int:
    """Send every due review reminder once: a content-free notice to the case manager
    (and to the client when they use the portal). Returns how many were sent."""
    today = today or timezone.localdate()
    sent = 0
    due = PlanReviewReminder.objects.filter(sent_at__isnull=True, due_on__lte=today).select_related(
        "version__plan__client__case_manager", "version__plan__client__user"
    )
    for reminder in due:
        plan = reminder.version.plan
        if plan.current_version != reminder.version.number:
            # A newer version was issued meanwhile: it has its own reminder.
            PlanReviewReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
            continue
        case_manager = plan.client.case_manager
        with transaction.atomic():
            claimed = PlanReviewReminder.objects.filter(
                pk=reminder.pk, sent_at__isnull=True
            ).update(sent_at=timezone.now())
            if not claimed:
                continue
            if case_manager.is_active and case_manager.email:
                content_free_mail(
                    address=case_manager.email,
                    language=case_manager.preferred_language,
                    kind="review_staff",
                    path_name="agreements:home",
                )
            if permissions.can_use_portal(client=plan.client):
                address, language = client_address(plan.client)
                if address:
                    content_free_mail(
                        address=address,
                        language=language,
                        kind="review_client",
                        path_name="agreements:portal",
                    )
            audit_record(
                actor=None, action="plan.review_reminder", target=plan, client_id=plan.client_id
            )
        sent += 1
    return sent
