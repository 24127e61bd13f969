"""The trail cannot be changed or shrunk through the ORM; on PostgreSQL not even by raw SQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from sprechstunde.audit.models import AppendOnlyError, AuditAnchor, AuditEntry
from sprechstunde.audit.selectors import audit_chain_verify
from sprechstunde.audit.services import audit_anchor_create, audit_record

pytestmark = pytest.mark.django_db


def test_saving_an_existing_entry_again_is_refused(chain):
    entry = AuditEntry.objects.get(sequence=3)
    entry.action = "client.update"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.save(update_fields=["action"])
    assert AuditEntry.objects.get(sequence=3).action == "client.read"


def test_the_entry_returned_by_audit_record_cannot_be_saved_again(db):
    entry = audit_record(actor=None, action="client.read", target_type="clients.client")
    with pytest.raises(AppendOnlyError):
        entry.save()


def test_deleting_an_entry_is_refused(chain):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.get(sequence=2).delete()
    assert AuditEntry.objects.count() == 5


@pytest.mark.parametrize(
    "operation",
    [
        lambda qs: qs.update(action="client.update"),
        lambda qs: qs.delete(),
        lambda qs: qs.filter(sequence=1).delete(),
        lambda qs: qs.bulk_update(list(qs), ["action"]),
        lambda qs: qs.bulk_create([AuditEntry(sequence=99)]),
    ],
    ids=["update", "delete", "filtered-delete", "bulk_update", "bulk_create"],
)
def test_bulk_changes_through_manager_and_queryset_are_refused(chain, operation):
    with pytest.raises(AppendOnlyError):
        operation(AuditEntry.objects.all())
    assert AuditEntry.objects.count() == 5
    assert audit_chain_verify().is_intact


def test_anchors_are_append_only_too(chain):
    anchor = audit_anchor_create(sequence=5, entry_hash=chain[-1].entry_hash)
    with pytest.raises(AppendOnlyError):
        anchor.delete()
    with pytest.raises(AppendOnlyError):
        AuditAnchor.objects.update(sequence=1)


def test_raw_sql_changes_are_refused_by_postgresql_and_caught_by_the_chain_elsewhere(chain):
    """PostgreSQL has a trigger; SQLite has none, so there only the chain reveals the edit."""
    table = AuditEntry._meta.db_table
    if connection.vendor == "postgresql":
        for statement in (
            f"UPDATE {table} SET action = 'client.update' WHERE sequence = 3",  # noqa: S608
            f"DELETE FROM {table} WHERE sequence = 3",  # noqa: S608
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                connection.cursor().execute(statement)
        assert audit_chain_verify().is_intact
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET action = 'client.update' WHERE sequence = 3")  # noqa: S608
        report = audit_chain_verify()
        assert report.problem is not None
        assert report.problem.sequence == 3
