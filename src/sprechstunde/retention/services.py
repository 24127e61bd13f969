"""Deleting what is due: the daily retention run, an erasure on request, legal holds,
restriction of processing, and the data-subject requests behind them.

Every deletion goes through the rules' `Source.remove` (rules.py), leaves a DeletionRecord
(kind, count, span of start events, rule) and an audit entry naming that record, never a
name or content. A legal hold or a restriction protects a client's data from both.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.services import audit_record, audit_trim_before, audit_trim_due
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from . import permissions
from .choices import DeletionCause, RecordKind, RequestKind, RequestStatus
from .models import DataSubjectRequest, DeletionRecord, LegalHold, RetentionSweep
from .rules import ORPHAN_BLOB_GRACE, RULES, RULES_BY_KIND, Rule, Source, protected_filter

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 300


# --- what is protected ----------------------------------------------------------------------


@dataclass(frozen=True)
class Protection:
    """Clients whose data nothing may delete (an active hold on the client, or processing
    restricted), and single matters under a hold, by type."""

    client_ids: set[int]
    matters: dict[str, set[str]]


def protection_current() -> Protection:
    """The holds and restrictions in force now."""
    client_ids = set(
        LegalHold.objects.filter(lifted_at__isnull=True, target_type="").values_list(
            "client_id", flat=True
        )
    )
    client_ids |= set(
        Client.objects.filter(processing_restricted_at__isnull=False).values_list("pk", flat=True)
    )
    matters: dict[str, set[str]] = {}
    for target_type, target_id in (
        LegalHold.objects.filter(lifted_at__isnull=True)
        .exclude(target_type="")
        .values_list("target_type", "target_id")
    ):
        matters.setdefault(target_type, set()).add(target_id)
    return Protection(client_ids=client_ids, matters=matters)


# --- what is due ----------------------------------------------------------------------------


@dataclass
class KindReport:
    """What a run deletes (or, dry, would delete) of one kind."""

    kind: RecordKind
    count: int = 0
    oldest: datetime.datetime | None = None
    newest: datetime.datetime | None = None
    rules: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def label(self) -> str:
        return str(self.kind.label)


def cutoff_for(rule: Rule, source: Source | None, now: datetime.datetime) -> datetime.datetime:
    days = rule.source_days(source) if source is not None else rule.days
    return now - datetime.timedelta(days=days)


def source_due(
    rule: Rule, source: Source, *, now: datetime.datetime, protection: Protection
) -> QuerySet[Any] | None:
    """The rows of one source whose period is over and that nothing protects."""
    from .rules import start_annotated

    rows = start_annotated(source)
    if rows is None:
        return None
    rows = rows.filter(retention_start__lt=cutoff_for(rule, source, now))
    return rows.exclude(
        protected_filter(source, client_ids=protection.client_ids, matters=protection.matters)
    )


def _audit_keep_from(protection: Protection) -> int | None:
    """The first audit entry of a protected client: the trail's prefix may not reach it."""
    if not protection.client_ids:
        return None
    first = (
        AuditEntry.objects.filter(client_id__in=protection.client_ids)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    return first


def _orphans(now: datetime.datetime) -> list[str]:
    from sprechstunde.documents.services import document_blobs_orphaned
    from sprechstunde.subject_access.models import DataExport

    try:
        unnamed = document_blobs_orphaned(older_than=now - ORPHAN_BLOB_GRACE)
    except Exception:  # the storage may be unset in a fresh install: report, do not stop
        logger.exception("Could not list the document storage for orphaned blobs")
        return []
    # The documents app knows only its own rows; a client's copy of her data (subject_access)
    # is stored beside them and stays until its link expires (data_exports_expire deletes it).
    exports = set(
        DataExport.objects.exclude(storage_name="").values_list("storage_name", flat=True)
    )
    return [name for name in unnamed if name not in exports]


def _span(rows: QuerySet[Any]) -> tuple[int, Any, Any]:
    stats = rows.aggregate(oldest=Min("retention_start"), newest=Max("retention_start"))
    return rows.count(), stats["oldest"], stats["newest"]


def _merge(report: KindReport, count: int, oldest: Any, newest: Any) -> None:
    report.count += count
    if oldest is not None and (report.oldest is None or oldest < report.oldest):
        report.oldest = oldest
    if newest is not None and (report.newest is None or newest > report.newest):
        report.newest = newest


def retention_preview(*, now: datetime.datetime | None = None) -> list[KindReport]:
    """The dry run: per kind, how many records are due, the span of their start events and
    the rule. Reads only."""
    now = now or timezone.now()
    protection = protection_current()
    reports: list[KindReport] = []
    for rule in RULES:
        report = KindReport(kind=rule.kind)
        if rule.kind == RecordKind.AUDIT_ENTRY:
            first, last = audit_trim_due(
                before=cutoff_for(rule, None, now), keep_from_sequence=_audit_keep_from(protection)
            )
            report.count = max(0, last - first + 1)
            report.rules.append(rule.describe())
            reports.append(report)
            continue
        for source in rule.sources:
            report.rules.append(rule.describe(source))
            rows = source_due(rule, source, now=now, protection=protection)
            if rows is None:
                report.note = str(_("No records of this kind exist yet (no forms app)."))
                continue
            _merge(report, *_span(rows))
        if rule.kind == RecordKind.UPLOAD_LEFTOVER:
            orphans = _orphans(now)
            if orphans:
                report.count += len(orphans)
                report.note = str(_("%(count)s stored files that no record names any more.")) % {
                    "count": len(orphans)
                }
        reports.append(report)
    return reports


# --- deleting -------------------------------------------------------------------------------


def _record(
    *,
    kind: RecordKind,
    cause: str,
    count: int,
    oldest: Any,
    newest: Any,
    rule: str,
    actor: Any = None,
    client_id: int | None = None,
    request: DataSubjectRequest | None = None,
    http_request: HttpRequest | None = None,
) -> DeletionRecord:
    record = DeletionRecord.objects.create(
        created_at=timezone.now(),
        kind=kind,
        cause=cause,
        count=count,
        oldest_start=oldest,
        newest_start=newest,
        rule=rule[:300],
        client_id=client_id,
        request=request,
    )
    audit_record(
        actor=actor,
        action="retention.delete" if cause == DeletionCause.RETENTION else "erasure.delete",
        target=record,
        target_id=f"{record.pk}:{kind}:{count}",
        client_id=client_id,
        request=http_request,
    )
    return record


def retention_run(
    *, now: datetime.datetime | None = None, dry_run: bool = False
) -> list[KindReport]:
    """Delete every record whose period is over, kind by kind, each kind in its own
    transaction; a dry run only reports. The audit trail is trimmed last, so this run's own
    entries are never part of what goes."""
    now = now or timezone.now()
    if dry_run:
        return retention_preview(now=now)
    reports: list[KindReport] = []
    for rule in RULES:
        protection = protection_current()
        report = KindReport(kind=rule.kind)
        if rule.kind == RecordKind.AUDIT_ENTRY:
            cutoff = cutoff_for(rule, None, now)
            trim = audit_trim_before(
                before=cutoff,
                rule=rule.describe(),
                keep_from_sequence=_audit_keep_from(protection),
            )
            if trim is not None:
                report.count = trim.last_sequence - trim.first_sequence + 1
                with transaction.atomic():
                    _record(
                        kind=rule.kind,
                        cause=DeletionCause.RETENTION,
                        count=report.count,
                        oldest=None,
                        newest=cutoff,
                        rule=rule.describe(),
                    )
            report.rules.append(rule.describe())
            reports.append(report)
            continue
        for source in rule.sources:
            report.rules.append(rule.describe(source))
            with transaction.atomic():
                rows = source_due(rule, source, now=now, protection=protection)
                if rows is None:
                    continue
                count, oldest, newest = _span(rows)
                if not count:
                    continue
                source.remove(rows)
                _merge(report, count, oldest, newest)
                _record(
                    kind=rule.kind,
                    cause=DeletionCause.RETENTION,
                    count=count,
                    oldest=oldest,
                    newest=newest,
                    rule=rule.describe(source),
                )
        if rule.kind == RecordKind.UPLOAD_LEFTOVER:
            _orphans_remove(now=now, report=report)
        reports.append(report)
    return reports


def _orphans_remove(*, now: datetime.datetime, report: KindReport) -> None:
    from sprechstunde.documents.services import document_blobs_delete

    orphans = _orphans(now)
    if not orphans:
        return
    document_blobs_delete(names=orphans)
    report.count += len(orphans)
    with transaction.atomic():
        _record(
            kind=RecordKind.UPLOAD_LEFTOVER,
            cause=DeletionCause.RETENTION,
            count=len(orphans),
            oldest=None,
            newest=now - ORPHAN_BLOB_GRACE,
            rule=f"stored files no record names, older than {ORPHAN_BLOB_GRACE.days} day",
        )


# --- the schedule ---------------------------------------------------------------------------


def _next_slot(moment: datetime.datetime) -> datetime.datetime:
    """The next run: RETENTION_RUN_HOUR o'clock local time, today if still ahead, else tomorrow."""
    local = timezone.localtime(moment)
    slot = local.replace(hour=settings.RETENTION_RUN_HOUR, minute=0, second=0, microsecond=0)
    if slot <= local:
        slot += datetime.timedelta(days=1)
    return slot


def retention_schedule(*, now: datetime.datetime | None = None) -> bool:
    """Make sure the next daily run waits in the queue; True when this call queued it.
    Without a persistent queue (the tests' immediate backend) nothing is queued."""
    from django_tasks import task_backends

    from .tasks import retention_run_task

    if not task_backends[retention_run_task.backend].supports_defer:
        return False
    run_at = _next_slot(now or timezone.now())
    try:
        with transaction.atomic():
            _slot, created = RetentionSweep.objects.get_or_create(run_at=run_at)
            if created:
                retention_run_task.using(run_after=run_at).enqueue(run_at.isoformat())
    except IntegrityError:
        return False
    RetentionSweep.objects.filter(
        run_at__lt=(now or timezone.now()) - datetime.timedelta(days=7)
    ).delete()
    return created


# --- legal holds ----------------------------------------------------------------------------


def legal_hold_set(
    *,
    actor: Any,
    client: Client,
    reason: str,
    target_type: str = "",
    target_id: str = "",
    request: HttpRequest | None = None,
) -> LegalHold:
    """Stop deletion of the client's data (or of one matter) until the hold is lifted."""
    if not permissions.can_manage_holds(user=actor):
        raise PermissionDeniedError(_("You cannot set legal holds."))
    reason = reason.strip()
    if not reason:
        raise ApplicationError(_("Say why the data must be kept."), field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise ApplicationError(_("The reason is too long."), field="reason")
    if bool(target_type) != bool(target_id):
        raise ApplicationError(_("Name the matter's type and number together."), field="target_id")
    with transaction.atomic():
        hold = LegalHold.objects.create(
            client=client,
            target_type=target_type[:60],
            target_id=str(target_id)[:64],
            reason=reason,
            set_at=timezone.now(),
            set_by=actor,
        )
        audit_record(actor=actor, action="legal_hold.set", target=hold, request=request)
    return hold


def legal_hold_lift(*, actor: Any, hold: LegalHold, request: HttpRequest | None = None) -> None:
    """End a hold: from the next run on, the data's own periods apply again."""
    if not permissions.can_manage_holds(user=actor):
        raise PermissionDeniedError(_("You cannot lift legal holds."))
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.lifted_at is not None:
            raise ApplicationError(_("This hold was lifted already."))
        locked.lifted_at = timezone.now()
        locked.lifted_by = actor
        locked.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(actor=actor, action="legal_hold.lift", target=locked, request=request)
    hold.refresh_from_db()


# --- requests (Art. 17 and 18 GDPR) ---------------------------------------------------------


def data_subject_request_record(
    *,
    actor: Any,
    client: Client,
    kind: str,
    received_on: datetime.date,
    note: str = "",
    request: HttpRequest | None = None,
) -> DataSubjectRequest:
    """Staff record a client's request. A restriction takes effect at once: from then on
    nobody but the data-protection officer reaches the client's data."""
    if not permissions.can_record_request(user=actor, client=client):
        raise PermissionDeniedError(_("You cannot record requests for this client."))
    if kind not in RequestKind.values:
        raise ApplicationError(_("Choose what the client asked for."), field="kind")
    if received_on > timezone.localdate():
        raise ApplicationError(_("The request cannot arrive in the future."), field="received_on")
    with transaction.atomic():
        subject_request = DataSubjectRequest.objects.create(
            client_id=client.pk,
            kind=kind,
            received_on=received_on,
            note=note.strip()[:500],
            recorded_at=timezone.now(),
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action=f"{kind}_request.record",
            target=subject_request,
            request=request,
        )
        if kind == RequestKind.RESTRICTION:
            Client.objects.filter(pk=client.pk).update(processing_restricted_at=timezone.now())
            audit_record(actor=actor, action="client.restrict", target=client, request=request)
    return subject_request


def _open_request(subject_request: DataSubjectRequest, kind: str) -> DataSubjectRequest:
    locked = DataSubjectRequest.objects.select_for_update().get(pk=subject_request.pk)
    if locked.kind != kind or locked.status != RequestStatus.OPEN:
        raise ApplicationError(_("This request is no longer open."))
    return locked


def erasure_execute(
    *,
    actor: Any,
    subject_request: DataSubjectRequest,
    request: HttpRequest | None = None,
) -> list[KindReport]:
    """Erase what may be erased now (rules.py: due, or erasable on request), with the same
    deletion as retention; what must be kept stays and is listed with its rule."""
    from .selectors import client_inventory

    if not permissions.can_decide_requests(user=actor):
        raise PermissionDeniedError(_("Only the data-protection officer carries out erasures."))
    client = Client.objects.filter(pk=subject_request.client_id).first()
    if client is None:
        raise ApplicationError(_("This client's record no longer exists."))
    reports: list[KindReport] = []
    with transaction.atomic():
        locked = _open_request(subject_request, RequestKind.ERASURE)
        inventory = client_inventory(client=client)
        for group in inventory.groups:
            if not group.erasable_ids:
                continue
            rows = group.source.queryset()
            assert rows is not None
            rows = rows.filter(pk__in=group.erasable_ids).annotate(
                retention_start=group.source.start()
            )
            count, oldest, newest = _span(rows)
            group.source.remove(rows)
            report = KindReport(kind=group.rule.kind)
            _merge(report, count, oldest, newest)
            report.rules.append(group.rule_text)
            reports.append(report)
            _record(
                kind=group.rule.kind,
                cause=DeletionCause.ERASURE,
                count=count,
                oldest=oldest,
                newest=newest,
                rule=f"Art. 17 GDPR request {locked.pk}; {group.rule_text}",
                actor=actor,
                client_id=client.pk,
                request=locked,
                http_request=request,
            )
        locked.status = RequestStatus.DONE
        locked.closed_at = timezone.now()
        locked.closed_by = actor
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        audit_record(actor=actor, action="erasure_request.execute", target=locked, request=request)
    subject_request.refresh_from_db()
    return reports


def restriction_lift(
    *, actor: Any, subject_request: DataSubjectRequest, request: HttpRequest | None = None
) -> None:
    """End a restriction (the reason is gone, Art. 18 (3) GDPR: the client is told first)."""
    if not permissions.can_decide_requests(user=actor):
        raise PermissionDeniedError(_("Only the data-protection officer lifts restrictions."))
    with transaction.atomic():
        locked = _open_request(subject_request, RequestKind.RESTRICTION)
        locked.status = RequestStatus.LIFTED
        locked.closed_at = timezone.now()
        locked.closed_by = actor
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        still_restricted = (
            DataSubjectRequest.objects.filter(
                client_id=locked.client_id,
                kind=RequestKind.RESTRICTION,
                status=RequestStatus.OPEN,
            )
            .exclude(pk=locked.pk)
            .exists()
        )
        if not still_restricted:
            Client.objects.filter(pk=locked.client_id).update(processing_restricted_at=None)
        audit_record(
            actor=actor,
            action="restriction_request.lift",
            target=locked,
            client_id=locked.client_id,
            request=request,
        )
    subject_request.refresh_from_db()


def data_subject_request_refuse(
    *, actor: Any, subject_request: DataSubjectRequest, request: HttpRequest | None = None
) -> None:
    """Close an erasure request without erasing (the client is told why, Art. 12 (4) GDPR)."""
    if not permissions.can_decide_requests(user=actor):
        raise PermissionDeniedError(_("Only the data-protection officer decides requests."))
    with transaction.atomic():
        locked = _open_request(subject_request, RequestKind.ERASURE)
        locked.status = RequestStatus.REFUSED
        locked.closed_at = timezone.now()
        locked.closed_by = actor
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        audit_record(actor=actor, action="erasure_request.refuse", target=locked, request=request)
    subject_request.refresh_from_db()


# --- the case closing (start of most periods) -----------------------------------------------


def client_case_close(
    *,
    actor: Any,
    client: Client,
    closed_at: datetime.datetime | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Record that the case is closed: the periods that start there begin to run."""
    if not permissions.can_close_case(user=actor, client=client):
        raise PermissionDeniedError(_("You cannot close this case."))
    if client.case_closed_at is not None:
        raise ApplicationError(_("This case is closed already."))
    with transaction.atomic():
        client.case_closed_at = closed_at or timezone.now()
        client.save(update_fields=["case_closed_at", "updated_at"])
        audit_record(actor=actor, action="client.case_close", target=client, request=request)


def client_case_reopen(*, actor: Any, client: Client, request: HttpRequest | None = None) -> None:
    """The client is back: periods that started at the closing stop running."""
    if not permissions.can_close_case(user=actor, client=client):
        raise PermissionDeniedError(_("You cannot reopen this case."))
    if client.case_closed_at is None:
        raise ApplicationError(_("This case is open."))
    with transaction.atomic():
        client.case_closed_at = None
        client.save(update_fields=["case_closed_at", "updated_at"])
        audit_record(actor=actor, action="client.case_reopen", target=client, request=request)


def rule_for(kind: str) -> Rule:
    return RULES_BY_KIND[kind]
