"""The append-only audit trail. Each entry is chained to the one before it by a hash.

The guards here (a model and queryset that refuse updates and deletes, and on PostgreSQL a
trigger, see migration 0003) stop mistakes, not attackers: whoever controls the database can
drop a trigger or write raw SQL. The proof that the trail is intact is the hash chain, checked
by `manage.py audit_verify`, together with head hashes kept outside the database.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a row of the audit trail."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """A queryset that can add and read rows, but refuses bulk updates and deletes.

    `bulk_create` is refused too: it would skip the hash chain kept by `audit_record`.
    """

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be deleted.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated.")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        raise AppendOnlyError(f"{self.model.__name__} rows are added one by one, in order.")


class AppendOnlyModel(models.Model):
    """A model whose rows are written once and then never changed or deleted through the ORM."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted.")


class AuditEntry(AppendOnlyModel):
    """Who did what to which object of which client, when. Never any content.

    `entry_hash` = SHA-256 over this entry's fields and the previous entry's hash, so an
    edited, deleted or reordered row breaks the chain (see `audit_verify`). The append-only
    guards only prevent accidents; the chain is the proof.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(_("time"), editable=False, db_index=True)
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True, editable=False)
    actor_label = models.CharField(_("actor"), max_length=200, editable=False)
    action = models.CharField(_("action"), max_length=60, editable=False, db_index=True)
    target_type = models.CharField(_("object type"), max_length=60, editable=False)
    target_id = models.CharField(_("object"), max_length=64, blank=True, editable=False)
    client_id = models.BigIntegerField(
        _("client"), null=True, blank=True, editable=False, db_index=True
    )
    ip_address = models.GenericIPAddressField(
        _("IP address"), null=True, blank=True, editable=False
    )
    # A summary row of refused accesses (see DenialWindow): how many more refusals it stands for.
    # 0 for an ordinary row, and then left out of the hash, so older chains verify unchanged.
    repeat_count = models.PositiveIntegerField(_("further refusals"), default=0, editable=False)
    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False, unique=True)

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.target_type}:{self.target_id}"


class AuditAnchor(AppendOnlyModel):
    """A checkpoint: the chain's head (sequence and hash) as it was verified at one moment.

    `audit_verify` checks that every anchored entry still exists with the same hash, which
    reveals a chain cut off or rewritten behind the anchor. Anchors live in the same
    database, so operators should also copy the printed head somewhere else.
    """

    created_at = models.DateTimeField(_("created at"), editable=False)
    sequence = models.PositiveBigIntegerField(_("sequence"), editable=False)
    entry_hash = models.CharField(_("hash"), max_length=64, editable=False)

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit anchor")
        verbose_name_plural = _("audit anchors")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.entry_hash[:12]}"


class AuditTrim(AppendOnlyModel):
    """A prefix of the chain deleted when its retention period was over, and the new anchor.

    `last_sequence`/`last_hash` are the last deleted entry: the first remaining entry must
    link to `last_hash`, so `audit_verify` starts its walk here instead of at the genesis.
    Each trim also names the one before it (`first_sequence`), so the trims form a gapless
    series from #1 (docs/decisions/0063-audit-trail-trimmed-by-prefix-with-checkpoint.md).
    """

    created_at = models.DateTimeField(_("trimmed at"), editable=False)
    first_sequence = models.PositiveBigIntegerField(_("first deleted entry"), editable=False)
    last_sequence = models.PositiveBigIntegerField(
        _("last deleted entry"), unique=True, editable=False
    )
    last_hash = models.CharField(_("hash of the last deleted entry"), max_length=64, editable=False)
    deleted_before = models.DateTimeField(_("entries older than"), editable=False)
    rule = models.CharField(_("rule"), max_length=200, editable=False)

    class Meta:
        ordering = ["-last_sequence"]
        verbose_name = _("audit trim")
        verbose_name_plural = _("audit trims")

    def __str__(self) -> str:
        return f"#{self.first_sequence}-#{self.last_sequence} {self.last_hash[:12]}"


class DenialWindow(models.Model):
    """Refused accesses of one actor (account and address) on one route in one minute.

    The first refusal is an ordinary chained entry (`first_sequence`); later ones in the same
    minute only count up here, outside the chain, and become one chained summary entry when
    the minute is over (`audit.services.audit_denial_windows_close`). So a flood of refusals
    cannot flood the trail, and the trail stays append-only. Rows are deleted once summarised.
    """

    minute = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    ip_address = models.CharField(max_length=45, blank=True)  # "" when unknown, never NULL
    action = models.CharField(max_length=60)
    route = models.CharField(max_length=200, blank=True)
    first_sequence = models.PositiveBigIntegerField()
    repeat_count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()
    # The client all refusals of the window named; None once they named different ones.
    client_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "actor_label", "ip_address", "action", "route"],
                name="audit_denialwindow_one_per_actor_route_minute",
            )
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.actor_label} {self.action} +{self.repeat_count}"
