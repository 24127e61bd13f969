"""audit_verify finds edited, deleted and reordered rows, and a cut tail against an anchor."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sprechstunde.audit.models import AuditAnchor, AuditEntry
from sprechstunde.audit.services import GENESIS_HASH, entry_digest

from .conftest import TABLE, build_chain, tamper

pytestmark = pytest.mark.django_db


def verify(*args):
    out = io.StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args):
    with pytest.raises(CommandError) as failure:
        verify(*args)
    assert failure.value.returncode == 1
    return str(failure.value)


def test_an_intact_chain_is_reported_with_its_count_and_head(chain):
    output = verify()

    assert "5 entries, chain intact." in output
    assert f"Head: 5:{chain[-1].entry_hash}" in output


def test_an_empty_trail_is_intact(db):
    assert "0 entries, chain intact." in verify()


def test_a_broken_chain_exits_with_status_one_from_the_command_line(chain):
    from django.core.management import ManagementUtility

    tamper(f"UPDATE {TABLE} SET actor_label = 'someone-else' WHERE sequence = 2")  # noqa: S608
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "audit_verify"]).execute()
    assert exit_info.value.code == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "client.update"),
        ("actor_label", "someone-else@jobcenter.example"),
        ("actor_id", 999),
        ("client_id", 8),
        ("target_id", "8"),
        ("at", "2020-01-01 00:00:00"),
        ("ip_address", "192.0.2.99"),
    ],
)
def test_an_edited_row_is_found_at_its_sequence(chain, column, value):
    tamper(f"UPDATE {TABLE} SET {column} = %s WHERE sequence = 3", [value])  # noqa: S608

    message = verify_fails()
    assert "broken at sequence 3" in message
    assert "edited" in message


def test_an_edited_hash_is_found_by_the_next_link(chain):
    tamper(f"UPDATE {TABLE} SET entry_hash = %s WHERE sequence = 3", ["f" * 64])  # noqa: S608

    assert "broken at sequence 3" in verify_fails()


def test_a_row_deleted_in_the_middle_is_found(chain):
    tamper(f"DELETE FROM {TABLE} WHERE sequence = 3")  # noqa: S608

    message = verify_fails()
    assert "broken at sequence 3" in message
    assert "missing" in message


def test_a_deleted_first_row_is_found(chain):
    tamper(f"DELETE FROM {TABLE} WHERE sequence = 1")  # noqa: S608

    assert "broken at sequence 1" in verify_fails()


def test_a_deleted_row_whose_successors_were_renumbered_is_found(chain):
    tamper(f"DELETE FROM {TABLE} WHERE sequence = 3")  # noqa: S608
    tamper(f"UPDATE {TABLE} SET sequence = sequence + 1000 WHERE sequence > 3")  # noqa: S608
    tamper(f"UPDATE {TABLE} SET sequence = sequence - 1001 WHERE sequence > 1000")  # noqa: S608

    assert "broken at sequence 3" in verify_fails()


def test_swapped_rows_are_found(chain):
    tamper(f"UPDATE {TABLE} SET sequence = 1000 WHERE sequence = 2")  # noqa: S608
    tamper(f"UPDATE {TABLE} SET sequence = 2 WHERE sequence = 4")  # noqa: S608
    tamper(f"UPDATE {TABLE} SET sequence = 4 WHERE sequence = 1000")  # noqa: S608

    assert "broken at sequence 2" in verify_fails()


def test_a_cut_tail_is_not_visible_in_the_chain_alone(chain):
    """The honest limit: the remaining shorter chain is valid. Anchors close this gap."""
    tamper(f"DELETE FROM {TABLE} WHERE sequence > 3")  # noqa: S608

    assert "3 entries, chain intact." in verify()


def test_a_cut_tail_is_found_against_a_stored_anchor(chain):
    assert "Anchor stored for #5." in verify("--anchor")
    assert AuditAnchor.objects.get().entry_hash == chain[-1].entry_hash
    build_chain(2)
    tamper(f"DELETE FROM {TABLE} WHERE sequence > 3")  # noqa: S608

    message = verify_fails()
    assert "broken at sequence 4" in message
    assert "removed" in message


def test_a_cut_tail_is_found_against_a_head_kept_outside_the_database(chain):
    head = f"5:{chain[-1].entry_hash}"
    tamper(f"DELETE FROM {TABLE} WHERE sequence = 5")  # noqa: S608

    assert "broken at sequence 5" in verify_fails("--expect", head)


def test_a_chain_recomputed_after_an_edit_is_found_only_against_an_earlier_head(chain):
    """Whoever can write the database can rebuild every hash; an outside copy reveals it."""
    head = f"5:{chain[-1].entry_hash}"
    tamper(f"UPDATE {TABLE} SET client_id = 8 WHERE sequence = 2")  # noqa: S608
    previous = chain[0].entry_hash
    for entry in AuditEntry.objects.filter(sequence__gte=2).order_by("sequence"):
        entry.previous_hash = previous
        previous = entry_digest(entry)
        tamper(
            f"UPDATE {TABLE} SET previous_hash = %s, entry_hash = %s WHERE sequence = %s",  # noqa: S608
            [entry.previous_hash, previous, entry.sequence],
        )

    assert "5 entries, chain intact." in verify()
    message = verify_fails("--expect", head)
    assert "broken at sequence 5" in message
    assert "rewritten" in message


def test_an_anchor_is_not_stored_for_a_broken_chain(chain):
    tamper(f"DELETE FROM {TABLE} WHERE sequence = 2")  # noqa: S608

    verify_fails("--anchor")
    assert not AuditAnchor.objects.exists()


def test_a_malformed_expected_head_is_refused(chain):
    with pytest.raises(CommandError, match="SEQUENCE:SHA256HEX"):
        verify("--expect", "5:not-a-hash")


def test_the_first_entry_must_link_to_the_genesis_hash(chain):
    assert chain[0].previous_hash == GENESIS_HASH
    tamper(f"UPDATE {TABLE} SET previous_hash = %s WHERE sequence = 1", ["1" * 64])  # noqa: S608

    assert "broken at sequence 1" in verify_fails()
