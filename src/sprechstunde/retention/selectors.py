"""Reads for the retention pages: one client's records sorted into what may be erased now
and what must be kept (with the rule), the requests, the holds and the deletion records."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client

from . import permissions
from .choices import RecordKind, RequestStatus
from .models import DataSubjectRequest, DeletionRecord, LegalHold
from .rules import RULES, Rule, Source, start_annotated
from .services import cutoff_for, protection_current

CLIENT_TARGET_TYPE = "clients.client"


@dataclass
class InventoryItem:
    """One record of the client: when its period started, and whether it may go now."""

    pk: Any
    label: str
    start: datetime.datetime | None
    due: bool
    held: bool
    erasable: bool


@dataclass
class InventoryGroup:
    """The client's records of one kind and source, with the rule that applies."""

    rule: Rule
    source: Source
    rule_text: str
    keep_reason: str
    items: list[InventoryItem] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(self.rule.kind.label)

    @property
    def start_event(self) -> str:
        return str(self.rule.source_event(self.source))

    @property
    def erasable_ids(self) -> list[Any]:
        return [item.pk for item in self.items if item.erasable]

    @property
    def erasable_count(self) -> int:
        return len(self.erasable_ids)

    @property
    def kept_count(self) -> int:
        return len(self.items) - self.erasable_count


@dataclass
class Inventory:
    """Everything stored of one client that has a retention rule, by kind."""

    groups: list[InventoryGroup]
    held: bool

    @property
    def erasable_count(self) -> int:
        return sum(group.erasable_count for group in self.groups)

    @property
    def kept_count(self) -> int:
        return sum(group.kept_count for group in self.groups)


def client_inventory(*, client: Client, now: datetime.datetime | None = None) -> Inventory:
    """What an erasure on request would take now and what it must keep, with the reason.

    A record may go when its period is over, or when its kind may be erased on request;
    a hold on the client or the matter keeps it either way. A restriction does not keep
    it from an erasure the client asked for.
    """
    now = now or timezone.now()
    protection = protection_current()
    client_held = LegalHold.objects.filter(
        client=client, lifted_at__isnull=True, target_type=""
    ).exists()
    groups: list[InventoryGroup] = []
    for rule in RULES:
        if rule.kind in (RecordKind.AUDIT_ENTRY, RecordKind.OUTBOX_MAIL, RecordKind.CLIENT_RECORD):
            continue
        for source in rule.sources:
            rows = start_annotated(source)
            if rows is None or source.client_path is None:
                continue
            rows = rows.filter(**{source.client_path: client.pk}).order_by("retention_start", "pk")
            cutoff = cutoff_for(rule, source, now)
            group = InventoryGroup(
                rule=rule,
                source=source,
                rule_text=rule.describe(source),
                keep_reason=str(source.keep_reason or ""),
            )
            for row in rows[:500]:
                start = row.retention_start
                due = start is not None and start < cutoff
                held = client_held or _matter_held(source, row, protection.matters)
                group.items.append(
                    InventoryItem(
                        pk=row.pk,
                        label=source.label(row),
                        start=start,
                        due=due,
                        held=held,
                        erasable=not held and (due or source.erasable_on_request),
                    )
                )
            if group.items:
                groups.append(group)
    return Inventory(groups=groups, held=client_held)


def _matter_held(source: Source, row: Any, matters: dict[str, set[str]]) -> bool:
    for matter_type, path in source.matters:
        ids = matters.get(matter_type)
        if not ids:
            continue
        value: Any = row
        for part in path.split("__"):
            value = getattr(value, "pk" if part == "pk" else part)
        if str(value) in ids:
            return True
    return False


def client_get_for_retention(
    *, user: Any, pk: int | str, request: HttpRequest | None = None
) -> Client:
    """The client for the retention page: the DPO reaches every client, a restricted one
    too; caseload staff only those they may see. Audited; anything else is a 404."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    client = Client.objects.select_related("case_manager").filter(pk=key).first()
    if client is None or not permissions.can_view_client_retention(user=user, client=client):
        audit_record(
            actor=user,
            action="retention.access_denied",
            target_type=CLIENT_TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=client.pk if client else None,
            request=request,
        )
        raise Http404
    audit_record(actor=user, action="retention.client_view", target=client, request=request)
    return client


def legal_holds_for_client(*, client: Client) -> QuerySet[LegalHold]:
    return LegalHold.objects.filter(client=client).select_related("set_by", "lifted_by")


def legal_holds_active() -> QuerySet[LegalHold]:
    return LegalHold.objects.filter(lifted_at__isnull=True).select_related("client", "set_by")


def requests_for_client(*, client: Client) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(client_id=client.pk).select_related(
        "recorded_by", "closed_by"
    )


def requests_open() -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(status=RequestStatus.OPEN).select_related(
        "recorded_by"
    )


def request_get_for_user(*, user: Any, pk: int | str) -> DataSubjectRequest:
    """A request the DPO decides; 404 for everyone else."""
    if not permissions.can_decide_requests(user=user):
        raise Http404
    subject_request = DataSubjectRequest.objects.filter(pk=pk).first()
    if subject_request is None:
        raise Http404
    return subject_request


def deletion_records_recent(*, limit: int = 50) -> list[DeletionRecord]:
    return list(DeletionRecord.objects.order_by("-created_at", "-pk")[:limit])
