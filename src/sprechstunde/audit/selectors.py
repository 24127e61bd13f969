"""Reading the audit trail: the filtered list for the trail page, and the chain verification."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AuditAnchor, AuditEntry, AuditTrim
from .services import GENESIS_HASH, entry_digest


def _start_of_local_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_entry_list(
    *,
    actor_email: str = "",
    action: str = "",
    client_id: int | None = None,
    target_type: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEntry]:
    """Entries matching the filters, newest first. Dates are local days, both inclusive.

    `action` is an exact code ("client.read") or, without a dot, a whole area ("client").
    """
    entries = AuditEntry.objects.order_by("-sequence")
    if actor_email:
        entries = entries.filter(actor_label__icontains=actor_email.strip())
    if action:
        action = action.strip()
        if "." in action:
            entries = entries.filter(action=action)
        else:
            entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if client_id is not None:
        entries = entries.filter(client_id=client_id)
    if target_type:
        entries = entries.filter(target_type__iexact=target_type.strip())
    if date_from is not None:
        entries = entries.filter(at__gte=_start_of_local_day(date_from))
    if date_to is not None:
        entries = entries.filter(at__lt=_start_of_local_day(date_to + datetime.timedelta(days=1)))
    return entries


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the chain does not hold, and why."""

    sequence: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the whole chain once."""

    entry_count: int
    head_sequence: int
    head_hash: str
    problem: ChainProblem | None
    # The last entry deleted by retention (0: none); the walk starts after it.
    trimmed_through: int = 0

    @property
    def is_intact(self) -> bool:
        return self.problem is None


def audit_chain_verify(
    *, expected_heads: Iterable[tuple[int, str]] = (), chunk_size: int = 2000
) -> ChainReport:
    """Walk the trail in sequence order and recompute every hash and link.

    Also checks that each stored anchor, and each `(sequence, hash)` in `expected_heads`
    (heads an operator noted down earlier), still matches: this reveals a cut-off tail or a
    chain recomputed after tampering, which the chain alone cannot show.
    """
    checkpoints: dict[int, set[str]] = {}
    for anchor_sequence, anchor_hash in AuditAnchor.objects.values_list("sequence", "entry_hash"):
        checkpoints.setdefault(anchor_sequence, set()).add(anchor_hash)
    for head_sequence, head_hash in expected_heads:
        checkpoints.setdefault(head_sequence, set()).add(head_hash)

    count = 0
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    head_sequence = 0
    problem: ChainProblem | None = None
    # Retention deleted a prefix: the walk starts at the last trim's checkpoint. The trims
    # must follow each other without a gap, and a checkpoint at a deleted entry's sequence
    # is compared with the trim's recorded hash where one was kept for it.
    for trim in AuditTrim.objects.order_by("last_sequence"):
        if trim.first_sequence != expected_sequence:
            problem = ChainProblem(
                sequence=expected_sequence,
                reason=(
                    f"a trim starts at #{trim.first_sequence}, but the one before it ended at "
                    f"#{expected_sequence - 1}: the trims do not follow each other"
                ),
            )
            break
        anchored = checkpoints.get(trim.last_sequence)
        if anchored and anchored != {trim.last_hash}:
            problem = ChainProblem(
                sequence=trim.last_sequence,
                reason="its hash recorded by the trim differs from the one anchored earlier",
            )
            break
        expected_sequence = trim.last_sequence + 1
        previous_hash = trim.last_hash
        head_sequence = trim.last_sequence
    trimmed_through = head_sequence
    if problem is not None:
        return ChainReport(
            entry_count=0,
            head_sequence=head_sequence,
            head_hash=previous_hash,
            problem=problem,
            trimmed_through=trimmed_through,
        )
    entries = AuditEntry.objects.filter(sequence__gt=trimmed_through).order_by("sequence")
    for entry in entries.iterator(chunk_size=chunk_size):
        count += 1
        problem = _check_entry(entry, expected_sequence, previous_hash, checkpoints)
        if problem is not None:
            break
        expected_sequence = entry.sequence + 1
        previous_hash = entry.entry_hash
        head_sequence = entry.sequence

    if problem is None:
        beyond = sorted(seq for seq in checkpoints if seq > head_sequence)
        if beyond:
            problem = ChainProblem(
                sequence=head_sequence + 1,
                reason=(
                    f"the chain ends at #{head_sequence}, but an anchor records entry "
                    f"#{beyond[-1]}: entries after #{head_sequence} were removed"
                ),
            )
    return ChainReport(
        entry_count=count,
        head_sequence=head_sequence,
        head_hash=previous_hash,
        problem=problem,
        trimmed_through=trimmed_through,
    )


def _check_entry(
    entry: AuditEntry,
    expected_sequence: int,
    previous_hash: str,
    checkpoints: dict[int, set[str]],
) -> ChainProblem | None:
    if entry.sequence != expected_sequence:
        return ChainProblem(
            sequence=expected_sequence,
            reason=(
                f"entry #{expected_sequence} is missing (the next one is #{entry.sequence}): "
                "rows were deleted or renumbered"
            ),
        )
    if entry.previous_hash != previous_hash:
        return ChainProblem(
            sequence=entry.sequence,
            reason=(
                "its link does not match the hash of the entry before it: "
                "rows were reordered, deleted or inserted"
            ),
        )
    if entry_digest(entry) != entry.entry_hash:
        return ChainProblem(
            sequence=entry.sequence,
            reason="its content does not match its hash: the row was edited",
        )
    anchored = checkpoints.get(entry.sequence)
    if anchored and anchored != {entry.entry_hash}:
        return ChainProblem(
            sequence=entry.sequence,
            reason="its hash differs from the one anchored earlier: the chain was rewritten",
        )
    return None
