"""The one way into the audit trail: `audit_record`. Everyone may call it."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from typing import Any

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditAnchor, AuditEntry

GENESIS_HASH = "0" * 64
# Arbitrary constant key for PostgreSQL's advisory lock that serialises chain appends.
_PG_LOCK_KEY = 0x5A_0D17
_CLIENT_MODEL_LABEL = "clients.client"


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
    """
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
    actor_id, actor_label = _actor_fields(actor)
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-sequence").only("sequence", "entry_hash").first()
        entry = AuditEntry(
            sequence=(last.sequence + 1) if last else 1,
            at=timezone.now(),
            actor_id=actor_id,
            actor_label=actor_label[:200],
            action=action[:60],
            target_type=target_type[:60],
            target_id=str(target_id)[:64],
            client_id=client_id,
            ip_address=_client_ip(request),
            previous_hash=last.entry_hash if last else GENESIS_HASH,
        )
        entry.entry_hash = entry_digest(entry)
        entry.save(force_insert=True)
    return entry


def audit_anchor_create(*, sequence: int, entry_hash: str) -> AuditAnchor:
    """Store a verified chain head as a checkpoint that later verifications must still match."""
    return AuditAnchor.objects.create(
        created_at=timezone.now(), sequence=sequence, entry_hash=entry_hash
    )
