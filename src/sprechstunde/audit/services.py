"""The one way into the audit trail: `audit_record`. Everyone may call it."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditEntry

GENESIS_HASH = "0" * 64
# Arbitrary constant key for PostgreSQL's advisory lock that serialises chain appends.
_PG_LOCK_KEY = 0x5A_0D17


def entry_digest(entry: AuditEntry) -> str:
    """The hash of one entry: its fields and the previous entry's hash, in a fixed order."""
    parts = [
        str(entry.sequence),
        entry.at.isoformat(),
        "" if entry.actor_id is None else str(entry.actor_id),
        entry.actor_label,
        entry.action,
        entry.target_type,
        entry.target_id,
        "" if entry.client_id is None else str(entry.client_id),
        entry.ip_address or "",
        entry.previous_hash,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    ip = request.META.get("REMOTE_ADDR")
    return ip or None


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
    # SQLite: transactions are opened IMMEDIATE (settings), so writers are serialised already.


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

    Runs in the caller's transaction, so a rolled-back change leaves no entry behind.
    """
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id: int | None = actor.pk
        actor_label = str(getattr(actor, "email", "") or actor.pk)
    else:
        actor_id = None
        actor_label = "system" if actor is None else "anonymous"
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-sequence").only("sequence", "entry_hash").first()
        entry = AuditEntry(
            sequence=(last.sequence + 1) if last else 1,
            at=timezone.now(),
            actor_id=actor_id,
            actor_label=actor_label[:200],
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            client_id=client_id,
            ip_address=_client_ip(request),
            previous_hash=last.entry_hash if last else GENESIS_HASH,
        )
        entry.entry_hash = entry_digest(entry)
        entry.save(force_insert=True)
    return entry
