"""The one way into the audit trail: `audit_record`. Everyone may call it.

Refused accesses (actions ending in "access_denied") go through `audit_denial_record`, which
writes at most one chained entry per actor, route and minute plus one summary entry for the
rest (docs/decisions/0042-no-store-pages-and-aggregated-denials.md).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditAnchor, AuditEntry, AuditTrim, DenialWindow

GENESIS_HASH = "0" * 64
# Arbitrary constant key for PostgreSQL's advisory lock that serialises chain appends.
_PG_LOCK_KEY = 0x5A_0D17
_CLIENT_MODEL_LABEL = "clients.client"
# `_append` reads the chain's head unless the caller passes the entry it just appended.
_HEAD_UNREAD = object()
DENIAL_SUFFIX = "access_denied"
# A summary entry names the entry of the window's first refusal as its object.
SUMMARY_TARGET_TYPE = "audit.auditentry"
# Windows summarised per refusal at most, so that one request never does an unbounded sweep.
_CLOSE_PER_DENIAL = 20


def _normalise_ip(value: str | None) -> str:
    """One spelling per address, whatever form the database hands back (inet vs. text)."""
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _hash_time(value: datetime.datetime) -> str:
    """A fixed textual form of the time in UTC, independent of the database's time zone."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_digest(entry: AuditEntry) -> str:
    """The hash of one entry: its fields and the previous entry's hash, in a fixed order."""
    parts = [
        str(entry.sequence),
        _hash_time(entry.at),
        "" if entry.actor_id is None else str(entry.actor_id),
        entry.actor_label,
        entry.action,
        entry.target_type,
        entry.target_id,
        "" if entry.client_id is None else str(entry.client_id),
        _normalise_ip(entry.ip_address),
        entry.previous_hash,
    ]
    if entry.repeat_count:
        # Only summary entries carry a count: ordinary entries hash as they always did.
        parts.append(f"repeats={entry.repeat_count}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or ""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        # Not an address (a test host name, a broken proxy header): record none, never fail.
        return None
    return _normalise_ip(address)


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    """Staff are named by e-mail (accountability); clients only by account id (no social data)."""
    if actor is None:
        return None, "system"
    if not getattr(actor, "is_authenticated", False):
        return None, "anonymous"
    if getattr(actor, "is_client", False):
        return actor.pk, f"client-account:{actor.pk}"
    return actor.pk, str(getattr(actor, "email", "") or actor.pk)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
    # SQLite: transactions are opened IMMEDIATE (settings), so writers are serialised already.


def _target_fields(
    target: models.Model | None, target_type: str, target_id: str | int, client_id: int | None
) -> tuple[str, str, int | None]:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        if client_id is None:
            # A client, or an object that belongs to one, names its client by itself.
            if target._meta.label_lower == _CLIENT_MODEL_LABEL:
                client_id = target.pk
            else:
                owner = getattr(target, "client_id", None)
                # Some models (OAuth apps) have a textual `client_id` that is no client.
                client_id = owner if isinstance(owner, int) else None
    return target_type, str(target_id), client_id


def _append(
    *,
    at: datetime.datetime | None = None,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    client_id: int | None,
    ip_address: str | None,
    repeat_count: int = 0,
    last: AuditEntry | object | None = _HEAD_UNREAD,
) -> AuditEntry:
    """Link one entry to the chain's head (`last`, read here unless the caller just wrote
    it). The caller holds the chain lock (`_lock_chain`)."""
    head: tuple[int, str] | None
    if last is _HEAD_UNREAD:
        head = (
            AuditEntry.objects.order_by("-sequence").values_list("sequence", "entry_hash").first()
        )
    elif last is None:
        head = None
    else:
        assert isinstance(last, AuditEntry)
        head = (last.sequence, last.entry_hash)
    entry = AuditEntry(
        sequence=(head[0] + 1) if head else 1,
        at=at or timezone.now(),
        actor_id=actor_id,
        actor_label=actor_label[:200],
        action=action[:60],
        target_type=target_type[:60],
        target_id=target_id[:64],
        client_id=client_id,
        ip_address=ip_address,
        repeat_count=repeat_count,
        previous_hash=head[1] if head else GENESIS_HASH,
    )
    entry.entry_hash = entry_digest(entry)
    entry.save(force_insert=True)
    return entry


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    client_id: int | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one entry to the trail. `actor` is a User, or None for the system.

    Runs in the caller's transaction, so a rolled-back change leaves no entry behind. On
    PostgreSQL the chain lock is then held until that transaction ends: keep it short.
    A refused access ("<entity>.access_denied") is handed to `audit_denial_record`.
    """
    if action.endswith(DENIAL_SUFFIX):
        return audit_denial_record(
            actor=actor,
            action=action,
            target=target,
            target_type=target_type,
            target_id=target_id,
            client_id=client_id,
            request=request,
        )
    target_type, target_id, client_id = _target_fields(target, target_type, target_id, client_id)
    actor_id, actor_label = _actor_fields(actor)
    # No savepoint: an append that fails fails the caller's whole transaction (a change
    # without its entry must not commit), and a savepoint would cost two more statements.
    with transaction.atomic(savepoint=False):
        _lock_chain()
        return _append(
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            target_type=target_type,
            target_id=target_id,
            client_id=client_id,
            ip_address=_client_ip(request),
        )


def audit_record_each(
    *,
    actor: Any,
    action: str,
    targets: Iterable[models.Model],
    request: HttpRequest | None = None,
) -> list[AuditEntry]:
    """One entry per target, the same entries `audit_record` appends one call at a time, but
    under one hold of the chain lock and one read of the chain's head: a list page of 40
    appointments took the lock 40 times, with five queries each (issue 16, point 7)."""
    targets = list(targets)
    if action.endswith(DENIAL_SUFFIX):
        return [
            audit_record(actor=actor, action=action, target=target, request=request)
            for target in targets
        ]
    if not targets:
        return []
    actor_id, actor_label = _actor_fields(actor)
    ip_address = _client_ip(request)
    entries: list[AuditEntry] = []
    with transaction.atomic():
        _lock_chain()
        last: AuditEntry | object | None = _HEAD_UNREAD
        for target in targets:
            target_type, target_id, client_id = _target_fields(target, "", "", None)
            last = _append(
                actor_id=actor_id,
                actor_label=actor_label,
                action=action,
                target_type=target_type,
                target_id=target_id,
                client_id=client_id,
                ip_address=ip_address,
                last=last,
            )
            entries.append(last)
    return entries


def _route(request: HttpRequest | None) -> str:
    """The URL name the refused request was for ("" without a request): enumerating ids on
    one route is one route, not one per id."""
    match = getattr(request, "resolver_match", None)
    return (match.view_name or "")[:200] if match is not None else ""


def audit_denial_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    client_id: int | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Record a refused access without letting a flood of them flood the trail.

    The first refusal of an actor (account and address) on a route and action in a minute is
    an ordinary chained entry, which is returned; further ones that minute only count up in
    a DenialWindow and return that first entry. A later refusal (or the trail page) closes
    the past minutes' windows into one chained summary entry each, saying how many more
    there were. All of it under the chain lock: counting, closing and appending are
    serialised with every other append, on SQLite and PostgreSQL alike.
    """
    target_type, target_id, client_id = _target_fields(target, target_type, target_id, client_id)
    actor_id, actor_label = _actor_fields(actor)
    actor_label = actor_label[:200]
    action = action[:60]
    ip_address = _client_ip(request)
    route = _route(request)
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        _lock_chain()
        _close_windows(before=minute, limit=_CLOSE_PER_DENIAL)
        window = (
            DenialWindow.objects.select_for_update()
            .filter(
                minute=minute,
                actor_label=actor_label,
                ip_address=ip_address or "",
                action=action,
                route=route,
            )
            .first()
        )
        if window is None:
            entry = _append(
                at=now,
                actor_id=actor_id,
                actor_label=actor_label,
                action=action,
                target_type=target_type,
                target_id=target_id,
                client_id=client_id,
                ip_address=ip_address,
            )
            DenialWindow.objects.create(
                minute=minute,
                actor_id=actor_id,
                actor_label=actor_label,
                ip_address=ip_address or "",
                action=action,
                route=route,
                first_sequence=entry.sequence,
                last_at=now,
                client_id=client_id,
            )
            return entry
        window.repeat_count += 1
        window.last_at = now
        if window.client_id != client_id:
            window.client_id = None
        window.save(update_fields=["repeat_count", "last_at", "client_id"])
        return AuditEntry.objects.get(sequence=window.first_sequence)


def _close_windows(*, before: datetime.datetime, limit: int | None) -> int:
    """Summarise windows of minutes before `before`; the caller holds the chain lock."""
    windows = DenialWindow.objects.select_for_update().filter(minute__lt=before)
    windows = windows.order_by("minute", "pk")
    closed = 0
    for window in windows[:limit] if limit is not None else windows:
        if window.repeat_count:
            _append(
                at=window.last_at,
                actor_id=window.actor_id,
                actor_label=window.actor_label,
                action=window.action,
                target_type=SUMMARY_TARGET_TYPE,
                target_id=str(window.first_sequence),
                client_id=window.client_id,
                ip_address=window.ip_address or None,
                repeat_count=window.repeat_count,
            )
        window.delete()
        closed += 1
    return closed


def audit_denial_windows_close(*, before: datetime.datetime | None = None) -> int:
    """Write the summary entries of all refusal windows whose minute is over (or that began
    before `before`). Called by the trail page, so that it shows every refusal counted."""
    if before is None:
        before = timezone.now().replace(second=0, microsecond=0)
    with transaction.atomic():
        _lock_chain()
        return _close_windows(before=before, limit=None)


def audit_anchor_create(*, sequence: int, entry_hash: str) -> AuditAnchor:
    """Store a verified chain head as a checkpoint that later verifications must still match."""
    return AuditAnchor.objects.create(
        created_at=timezone.now(), sequence=sequence, entry_hash=entry_hash
    )


class AuditTrimRefusedError(Exception):
    """The part of the chain due for deletion does not verify: it is kept as evidence."""


def _trim_start() -> tuple[int, str]:
    """The first sequence still in the trail and the hash it must link to."""
    last = AuditTrim.objects.order_by("-last_sequence").first()
    if last is None:
        return 1, GENESIS_HASH
    return last.last_sequence + 1, last.last_hash


def audit_trim_due(
    *, before: datetime.datetime, keep_from_sequence: int | None = None
) -> tuple[int, int]:
    """The prefix (first, last sequence) that a trim at `before` would delete; last < first
    when nothing is due. Only a gapless prefix of entries older than `before` can go, never
    the head, and never an entry at or after `keep_from_sequence` (a legal hold's first)."""
    first, _link = _trim_start()
    head = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    if head is None:
        return first, first - 1
    limit = head - 1
    newer = (
        AuditEntry.objects.filter(sequence__gte=first, at__gte=before)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    if newer is not None:
        limit = min(limit, newer - 1)
    if keep_from_sequence is not None:
        limit = min(limit, keep_from_sequence - 1)
    return first, limit


def audit_trim_before(
    *, before: datetime.datetime, rule: str, keep_from_sequence: int | None = None
) -> AuditTrim | None:
    """Delete the trail's prefix of entries older than `before` (their retention is over)
    and keep the last deleted entry's hash as the new anchor of the chain.

    The prefix is verified first: a broken one is evidence and refuses the trim. On
    PostgreSQL the delete passes the append-only trigger only through `SET LOCAL
    sprechstunde.audit_trim` in this transaction. The trim itself is then audited.
    """
    with transaction.atomic():
        _lock_chain()
        first, last = audit_trim_due(before=before, keep_from_sequence=keep_from_sequence)
        if last < first:
            return None
        _, previous_hash = _trim_start()
        expected = first
        for entry in (
            AuditEntry.objects.filter(sequence__gte=first, sequence__lte=last)
            .order_by("sequence")
            .iterator(chunk_size=2000)
        ):
            if (
                entry.sequence != expected
                or entry.previous_hash != previous_hash
                or entry_digest(entry) != entry.entry_hash
            ):
                raise AuditTrimRefusedError(
                    f"Entry #{expected} does not verify; the trail is not trimmed."
                )
            previous_hash = entry.entry_hash
            expected += 1
        if expected != last + 1:
            raise AuditTrimRefusedError(f"Entry #{expected} is missing; the trail is not trimmed.")
        trim = AuditTrim.objects.create(
            created_at=timezone.now(),
            first_sequence=first,
            last_sequence=last,
            last_hash=previous_hash,
            deleted_before=before,
            rule=rule[:200],
        )
        table = AuditEntry._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL sprechstunde.audit_trim = 'on'")
            cursor.execute(
                f"DELETE FROM {table} WHERE sequence >= %s AND sequence <= %s",  # noqa: S608
                [first, last],
            )
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL sprechstunde.audit_trim = 'off'")
        _append(
            actor_id=None,
            actor_label="system",
            action="audit.trim",
            target_type=trim._meta.label_lower,
            target_id=str(trim.pk),
            client_id=None,
            ip_address=None,
        )
        return trim
