"""Retention deletes a prefix of the trail; the chain stays verifiable from the trim's
recorded hash, and every kind of tampering is still found afterwards."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from sprechstunde.audit.models import AuditEntry, AuditTrim
from sprechstunde.audit.services import audit_anchor_create, audit_trim_before

from .conftest import TABLE, build_chain, tamper

pytestmark = pytest.mark.django_db


def verify(*args):
    out = io.StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def age(entries, days):
    """Move entries back in time as raw SQL would; their hashes are then recomputed."""
    from sprechstunde.audit.services import entry_digest

    previous = None
    for entry in AuditEntry.objects.order_by("sequence"):
        at = (
            entry.at - datetime.timedelta(days=days)
            if entry.pk in {e.pk for e in entries}
            else entry.at
        )
        entry.at = at
        if previous is not None:
            entry.previous_hash = previous
        entry.entry_hash = entry_digest(entry)
        tamper(
            f"UPDATE {TABLE} SET at = %s, previous_hash = %s, entry_hash = %s WHERE id = %s",  # noqa: S608
            [at, entry.previous_hash, entry.entry_hash, entry.pk],
        )
        previous = entry.entry_hash


def test_a_trimmed_trail_still_verifies_and_says_where_it_starts(db):
    old = build_chain(4)
    build_chain(2)
    age(old, 400)
    before = verify()
    head = before.split("Head: ")[1].strip()

    trim = audit_trim_before(before=timezone.now() - datetime.timedelta(days=365), rule="R=365")

    assert (trim.first_sequence, trim.last_sequence) == (1, 4)
    assert not AuditEntry.objects.filter(sequence__lte=4).exists()
    output = verify("--expect", head)
    assert "chain intact" in output
    assert "Entries up to #4 were deleted by retention" in output
    assert AuditEntry.objects.filter(action="audit.trim", target_id=str(trim.pk)).exists()


def test_a_second_trim_continues_the_first(db):
    first = build_chain(3)
    second = build_chain(3)
    build_chain(1)
    age(first, 800)
    age(second, 400)
    audit_trim_before(before=timezone.now() - datetime.timedelta(days=700), rule="R")
    audit_trim_before(before=timezone.now() - datetime.timedelta(days=365), rule="R")

    assert list(
        AuditTrim.objects.order_by("last_sequence").values_list("first_sequence", "last_sequence")
    ) == [
        (1, 3),
        (4, 6),
    ]
    assert "chain intact" in verify()


def test_the_head_and_entries_of_a_protected_client_are_never_trimmed(db):
    entries = (
        build_chain(3, client_id=1) + build_chain(2, client_id=2) + build_chain(2, client_id=1)
    )
    age(entries, 400)

    trim = audit_trim_before(
        before=timezone.now(),
        rule="R",
        keep_from_sequence=4,  # client 2's first entry
    )

    assert trim.last_sequence == 3
    assert AuditEntry.objects.filter(client_id=2).count() == 2
    assert "chain intact" in verify()


def test_an_anchor_at_the_trimmed_entry_is_checked_against_the_trim(db):
    entries = build_chain(3)
    build_chain(1)
    age(entries, 400)
    third = AuditEntry.objects.get(sequence=3)
    audit_anchor_create(sequence=3, entry_hash=third.entry_hash)
    audit_trim_before(before=timezone.now() - datetime.timedelta(days=365), rule="R")
    assert "chain intact" in verify()

    with pytest.raises(CommandError, match="differs from the one anchored"):
        verify("--expect", f"3:{'a' * 64}")


def test_editing_or_deleting_after_a_trim_is_still_found(db):
    entries = build_chain(3)
    build_chain(3)
    age(entries, 400)
    audit_trim_before(before=timezone.now() - datetime.timedelta(days=365), rule="R")

    tamper(f"DELETE FROM {TABLE} WHERE sequence = 4")  # noqa: S608
    with pytest.raises(CommandError, match=r"#4 is missing|link does not match"):
        verify()


def test_a_broken_prefix_is_kept_as_evidence(db):
    from sprechstunde.audit.services import AuditTrimRefusedError

    entries = build_chain(4)
    age(entries, 400)
    tamper(f"UPDATE {TABLE} SET action = 'edited' WHERE sequence = 2")  # noqa: S608

    with pytest.raises(AuditTrimRefusedError):
        audit_trim_before(before=timezone.now(), rule="R")
    assert AuditEntry.objects.count() == 4
    assert not AuditTrim.objects.exists()


def test_the_trail_cannot_be_deleted_outside_a_trim(db):
    from sprechstunde.audit.models import AppendOnlyError

    build_chain(2)
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
