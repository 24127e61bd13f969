"""Decisions: fill, issue, seal (PAdES B-LT, retried while the sealing service is down,
never delivered unsealed), deliver to the portal postbox or by post, and keep the
hash-chained delivery log from which the announcement date follows (§ 37 SGB X)."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import hashlib
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.translation import gettext_lazy as _

from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.fault_points import fault_point
from sprechstunde.core.handover import handover_once
from sprechstunde.core.models import Handover

from .. import letters, permissions, sealing
from ..choices import DecisionStatus, DeliveryChannel, DeliveryEventKind
from ..models import Decision, DecisionTemplate, DeliveryEvent, PostalDelivery
from ..rendering import (
    decision_body_html,
    decision_remedy_html,
    decision_values_clean,
    render_pdf,
    template_is_valid,
)
from .common import client_notice_send, require_editor, retry_delay

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# § 37 (2a) SGB X: a decision provided for retrieval counts as announced on the third day
# after the notice about it was sent. By post (§ 37 (2) SGB X) the days are counted from the
# day it was handed to the post. Both are settings so that a change of the law is a setting.
DEFAULT_PORTAL_ANNOUNCEMENT_DAYS = 3
DEFAULT_POSTAL_ANNOUNCEMENT_DAYS = 4


class DecisionValuesError(ApplicationError):
    """Form input that does not fit the template's fields; `errors` names them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(_("Please correct the marked fields."))
        self.errors = errors


def portal_announcement_days() -> int:
    return int(
        getattr(settings, "DECISION_PORTAL_ANNOUNCEMENT_DAYS", DEFAULT_PORTAL_ANNOUNCEMENT_DAYS)
    )


def postal_announcement_days() -> int:
    return int(
        getattr(settings, "DECISION_POSTAL_ANNOUNCEMENT_DAYS", DEFAULT_POSTAL_ANNOUNCEMENT_DAYS)
    )


def _values_or_error(template: DecisionTemplate, raw: dict[str, Any]) -> dict[str, str]:
    values, errors = decision_values_clean(template, raw)
    if errors:
        raise DecisionValuesError(errors)
    return values


def decision_create(
    *,
    actor: Any,
    client: Client,
    template: DecisionTemplate,
    values: dict[str, Any],
    appointment: Appointment | None = None,
    request: HttpRequest | None = None,
) -> Decision:
    """Fill a template for a client: a draft the case manager can preview and issue."""
    require_editor(actor, client)
    if not template.is_active or not template.is_published or not template_is_valid(template):
        raise ApplicationError(_("This template cannot be used. Please choose another one."))
    if appointment is not None and appointment.client_id != client.pk:
        appointment = None
    cleaned = _values_or_error(template, values)
    with transaction.atomic():
        decision = Decision.objects.create(
            client=client,
            template=template,
            values=cleaned,
            appointment=appointment,
            created_by=actor,
        )
        audit_record(actor=actor, action="decision.create", target=decision, request=request)
    return decision


def decision_update(
    *,
    actor: Any,
    decision: Decision,
    values: dict[str, Any],
    request: HttpRequest | None = None,
) -> Decision:
    """Change the values of a draft; an issued decision is never changed."""
    require_editor(actor, decision.client)
    if decision.status != DecisionStatus.DRAFT:
        raise ApplicationError(_("This decision has been issued and can no longer be changed."))
    cleaned = _values_or_error(decision.template, values)
    with transaction.atomic():
        decision.values = cleaned
        decision.save(update_fields=["values"])
        audit_record(actor=actor, action="decision.update", target=decision, request=request)
    return decision


def _names_address(html: str, address: str) -> bool:
    """Does the rendered remedy text already carry the address (its first line suffices)?"""
    first_line = next((line.strip() for line in address.splitlines() if line.strip()), "")
    return bool(first_line) and conditional_escape(first_line) in html


def document_context(decision: Decision, *, issued_at: datetime.datetime | None) -> dict[str, Any]:
    """What the decision's page and its PDF show (plain data and escaped HTML only)."""
    channel_open = (
        decision.channel == DeliveryChannel.PORTAL
        if decision.channel
        else permissions.portal_channel_open(client=decision.client)
    )
    official = decision.issued_by or decision.created_by
    remedy_html = decision_remedy_html(decision.template)
    objection_address = getattr(settings, "JOBCENTER_OBJECTION_ADDRESS", "")
    return {
        "title": decision.template.title,
        "reference": decision.reference,
        "client_name": decision.client.full_name,
        "issued_on": timezone.localdate(issued_at) if issued_at else timezone.localdate(),
        "official_name": official.display_name if official else "",
        # The document is in the office language (the template's), whatever the UI's is.
        "body_html": _in_office_language(decision_body_html, decision.template, decision.values),
        "remedy_html": remedy_html,
        "electronic_filing": channel_open,
        "jobcenter_address": getattr(settings, "JOBCENTER_ADDRESS", ""),
        "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
        # Where an objection is lodged (required once decisions are enabled: agreements.checks);
        # a line of its own unless the template's remedy text names it ({{ objection_address }}).
        "objection_address": ""
        if _names_address(remedy_html, objection_address)
        else objection_address,
        "demo_seal": sealing.seal_is_demo(),
        # DIN 5008 window block, as on the letters: the client's name, then her address.
        "sender_line": letters.sender_line(),
        "recipient": letters.recipient_lines(
            client=decision.client, address=letters.client_address_text(decision.client)
        ),
    }


def _in_office_language(function: Any, *args: Any) -> Any:
    with translation.override(settings.LANGUAGE_CODE):
        return function(*args)


def decision_issue(
    *, actor: Any, decision: Decision, request: HttpRequest | None = None
) -> Decision:
    """Issue the decision: fix the delivery channel (portal only with the consent of
    § 37 (2a) SGB X), render the PDF/A-2b and queue the seal. It is delivered only sealed."""
    require_editor(actor, decision.client)
    if decision.status != DecisionStatus.DRAFT:
        raise ApplicationError(_("This decision has already been issued."))
    template = decision.template
    _values_or_error(template, decision.values)
    if not template_is_valid(template):
        raise ApplicationError(_("This template cannot be used. Please choose another one."))
    with transaction.atomic():
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if locked.status != DecisionStatus.DRAFT:
            raise ApplicationError(_("This decision has already been issued."))
        channel = (
            DeliveryChannel.PORTAL
            if permissions.portal_channel_open(client=decision.client)
            else DeliveryChannel.POST
        )
        if channel == DeliveryChannel.POST and not decision.client.postal_address_lines:
            # A letter with only a name in the window never arrives (issue 15).
            raise ApplicationError(
                _(
                    "This decision goes by post, but the client has no postal address. Please "
                    "add it under “Change contact data” on the client's page, then issue it."
                )
            )
        issued_at = timezone.now()
        decision.issued_at = issued_at
        decision.issued_by = actor
        decision.channel = channel
        decision.reference = f"{timezone.localdate(issued_at):%Y}-{decision.pk:06d}"
        decision.unsealed_pdf = render_pdf(
            "agreements/pdf/decision.html", document_context(decision, issued_at=issued_at)
        )
        decision.status = DecisionStatus.WAITING_FOR_SEAL
        decision.next_seal_at = issued_at
        decision.save()
        audit_record(actor=actor, action="decision.issue", target=decision, request=request)
        transaction.on_commit(partial(_enqueue_seal, decision.pk), robust=True)
    return decision


def _enqueue_seal(decision_id: int) -> None:
    from ..tasks import decision_seal

    decision_seal.enqueue(decision_id)


def seals_due_ids(*, now: datetime.datetime | None = None) -> list[int]:
    """Decisions waiting for their seal whose next attempt is due (the retry sweep)."""
    moment = now or timezone.now()
    return list(
        Decision.objects.filter(
            status=DecisionStatus.WAITING_FOR_SEAL, next_seal_at__lte=moment
        ).values_list("pk", flat=True)
    )


def decision_seal_attempt(*, decision_id: int) -> str:
    """Try to seal a waiting decision once. On a sealing outage it stays "waiting for seal"
    with the next attempt set by back-off ("waiting"); once sealed it is delivered."""
    decision = (
        Decision.objects.select_related("client", "client__user", "template")
        .filter(pk=decision_id)
        .first()
    )
    if decision is None or decision.status != DecisionStatus.WAITING_FOR_SEAL:
        return "nothing to do"
    unsealed = bytes(decision.unsealed_pdf or b"")
    try:
        sealed = sealing.seal(unsealed, reason=f"{decision.template.title} {decision.reference}")
    except sealing.SealingOutage as outage:
        attempts = decision.seal_attempts + 1
        Decision.objects.filter(pk=decision.pk, status=DecisionStatus.WAITING_FOR_SEAL).update(
            seal_attempts=attempts,
            next_seal_at=timezone.now() + retry_delay(attempts),
            seal_waiting_for=outage.service,
        )
        logger.warning(
            "Sealing decision %s failed (attempt %s, service %s); will retry",
            decision.pk,
            attempts,
            outage.service or "-",
        )
        return "waiting"
    with transaction.atomic():
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if locked.status != DecisionStatus.WAITING_FOR_SEAL:
            return "nothing to do"
        decision.pdf = sealed
        decision.pdf_sha256 = hashlib.sha256(sealed).hexdigest()
        decision.seal_attempts += 1
        decision.next_seal_at = None
        decision.seal_waiting_for = ""
        _event_append(decision, DeliveryEventKind.SEALED, actor=None, detail=decision.pdf_sha256)
        if decision.channel == DeliveryChannel.PORTAL:
            decision.status = DecisionStatus.IN_POSTBOX
            _event_append(decision, DeliveryEventKind.PROVIDED, actor=None)
            transaction.on_commit(partial(_enqueue_notice, decision.pk), robust=True)
        else:
            decision.status = DecisionStatus.AWAITING_POST
            PostalDelivery.objects.get_or_create(decision=decision)
            _event_append(decision, DeliveryEventKind.PRINTED, actor=None)
        decision.save()
        audit_record(actor=None, action="decision.seal", target=decision)
        # A worker killed here rolls all of it back: the next attempt seals anew (ADR 0082).
        fault_point("decision_seal.before_commit")
    return "sealed"


def _enqueue_notice(decision_id: int) -> None:
    from ..tasks import decision_notice_send

    decision_notice_send.enqueue(decision_id)


def decision_notice_deliver(*, decision_id: int) -> str:
    """Send the content-free notice about a decision in the postbox (once), and record
    "notified"; the announcement date follows from it. Raises when the mail fails."""
    decision = (
        Decision.objects.select_related("client", "client__user").filter(pk=decision_id).first()
    )
    if decision is None or decision.status != DecisionStatus.IN_POSTBOX:
        return "nothing to do"
    if DeliveryEvent.objects.filter(decision=decision, kind=DeliveryEventKind.NOTIFIED).exists():
        return "already notified"
    told: list[bool] = []
    key = f"decision:{decision.pk}:notice"
    outcome = handover_once(
        key=key,
        send=lambda: told.append(
            client_notice_send(
                client=decision.client,
                kind="decision",
                path_name="agreements:portal",
                dedupe_key=key,
            )
        ),
    )
    if outcome == "busy":
        return "busy"
    if told == [False]:
        Handover.objects.filter(key=key).delete()  # nothing went out: free for a later try
        return "no address"
    # "sent", "already" or "uncertain": the notice went (or may have gone) out; never again.
    with transaction.atomic():
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if DeliveryEvent.objects.filter(decision=locked, kind=DeliveryEventKind.NOTIFIED).exists():
            return "already notified"
        event = _event_append(locked, DeliveryEventKind.NOTIFIED, actor=None)
        announced = timezone.localdate(event.at) + datetime.timedelta(
            days=portal_announcement_days()
        )
        Decision.objects.filter(pk=locked.pk).update(announced_on=announced)
        audit_record(actor=None, action="decision.notify", target=locked)
    return "sent"


def decision_mark_opened(
    *, actor: Any, decision: Decision, request: HttpRequest | None = None
) -> bool:
    """Record the client's first opening of a decision in the postbox (once)."""
    if not permissions.is_own_client(user=actor, client=decision.client):
        return False
    if DeliveryEvent.objects.filter(decision=decision, kind=DeliveryEventKind.OPENED).exists():
        return False
    with transaction.atomic():
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if DeliveryEvent.objects.filter(decision=locked, kind=DeliveryEventKind.OPENED).exists():
            return False
        _event_append(locked, DeliveryEventKind.OPENED, actor=actor)
        audit_record(actor=actor, action="decision.open", target=locked, request=request)
    return True


def postal_mark_sent(
    *,
    actor: Any,
    postal: PostalDelivery,
    sent_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> PostalDelivery:
    """Staff handed the printed decision to the post: record it (for the announcement date)."""
    decision = postal.decision
    if not permissions.can_edit_agreements(user=actor, client=decision.client):
        raise PermissionDeniedError(_("You may not change this client's plans and decisions."))
    day = sent_on or timezone.localdate()
    if day > timezone.localdate():
        raise ApplicationError(
            _("The day it was posted cannot lie in the future."), field="sent_on"
        )
    with transaction.atomic():
        locked = PostalDelivery.objects.select_for_update().get(pk=postal.pk)
        if locked.sent_on is not None:
            raise ApplicationError(_("This decision was already marked as sent."))
        locked.sent_on = day
        locked.sent_by = actor
        locked.save(update_fields=["sent_on", "sent_by"])
        _event_append(decision, DeliveryEventKind.POSTED, actor=actor, detail=day.isoformat())
        Decision.objects.filter(pk=decision.pk).update(
            status=DecisionStatus.POSTED,
            announced_on=day + datetime.timedelta(days=postal_announcement_days()),
        )
        audit_record(actor=actor, action="decision.post", target=decision, request=request)
    return locked


# --- The delivery log: hash-chained, append-only ------------------------------------------


def _actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if getattr(actor, "is_client", False):
        return "client"
    return str(getattr(actor, "email", "") or actor.pk)


def event_digest(event: DeliveryEvent) -> str:
    parts = [
        str(event.decision_id),
        str(event.sequence),
        event.kind,
        event.at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        event.actor_label,
        event.detail,
        event.previous_hash,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _event_append(decision: Decision, kind: str, *, actor: Any, detail: str = "") -> DeliveryEvent:
    """Append one entry; callers hold the decision's row lock (one writer per log)."""
    last = DeliveryEvent.objects.filter(decision=decision).order_by("-sequence").first()
    event = DeliveryEvent(
        decision=decision,
        sequence=(last.sequence + 1) if last else 1,
        kind=kind,
        at=timezone.now(),
        actor_label=_actor_label(actor)[:200],
        detail=detail[:200],
        previous_hash=last.entry_hash if last else GENESIS_HASH,
    )
    event.entry_hash = event_digest(event)
    event.save(force_insert=True)
    return event


def delivery_log_verify(*, decision: Decision) -> bool:
    """Recompute the chain of a decision's delivery log: False if any entry was changed,
    removed or reordered."""
    previous = GENESIS_HASH
    for expected, event in enumerate(
        DeliveryEvent.objects.filter(decision=decision).order_by("sequence"), start=1
    ):
        if event.sequence != expected or event.previous_hash != previous:
            return False
        if event_digest(event) != event.entry_hash:
            return False
        previous = event.entry_hash
    return True
