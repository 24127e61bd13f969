"""audit_record appends a chained, content-free entry in the caller's transaction."""

import pytest
from django.db import transaction
from django.test import RequestFactory

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.services import GENESIS_HASH, audit_record, entry_digest
from sprechstunde.clients.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_entries_are_numbered_and_each_links_to_the_hash_of_the_one_before(case_manager):
    first = audit_record(actor=case_manager, action="client.read", target_type="clients.client")
    second = audit_record(actor=case_manager, action="client.update", target_type="clients.client")

    assert (first.sequence, second.sequence) == (1, 2)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.entry_hash
    stored = AuditEntry.objects.get(sequence=2)
    assert stored.entry_hash == entry_digest(stored) == second.entry_hash


def test_staff_are_named_by_email_and_the_system_by_name(case_manager):
    staff_entry = audit_record(actor=case_manager, action="client.read")
    system_entry = audit_record(actor=None, action="invitation.expire")

    assert (staff_entry.actor_id, staff_entry.actor_label) == (case_manager.pk, case_manager.email)
    assert (system_entry.actor_id, system_entry.actor_label) == (None, "system")


def test_a_client_actor_is_recorded_by_account_number_not_by_name_or_address(case_manager):
    user = User.objects.create_user(
        "erika.muster@example.org", role=Role.CLIENT, first_name="Erika"
    )
    entry = audit_record(actor=user, action="consent.withdraw")

    assert entry.actor_id == user.pk
    assert entry.actor_label == f"client-account:{user.pk}"
    assert "erika" not in entry.actor_label.lower()


def test_a_client_target_names_its_client_and_holds_no_content(case_manager):
    client = ClientFactory(case_manager=case_manager, first_name="Erika", last_name="Muster")
    entry = audit_record(actor=case_manager, action="client.read", target=client)

    assert (entry.target_type, entry.target_id, entry.client_id) == (
        "clients.client",
        str(client.pk),
        client.pk,
    )
    stored_values = " ".join(str(value) for value in AuditEntry.objects.values().get().values())
    assert "Muster" not in stored_values
    assert client.email not in stored_values


def test_an_object_belonging_to_a_client_names_that_client(case_manager):
    client = ClientFactory(case_manager=case_manager)
    invitation = client.invitations.create(
        token_hash="a" * 64, channel="email", expires_at="2030-01-01T00:00:00Z"
    )
    entry = audit_record(actor=case_manager, action="invitation.create", target=invitation)

    assert entry.client_id == client.pk
    assert entry.target_type == "clients.invitation"


def test_the_ip_address_is_taken_from_the_request_in_one_spelling(case_manager):
    request = RequestFactory().get("/", REMOTE_ADDR="::ffff:192.0.2.7")
    entry = audit_record(actor=case_manager, action="client.read", request=request)

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.ip_address == "192.0.2.7"
    assert entry_digest(stored) == stored.entry_hash


def test_overlong_values_are_cut_before_hashing_so_the_stored_row_verifies(case_manager):
    entry = audit_record(
        actor=None, action="client.read", target_type="x" * 200, target_id="9" * 200
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert len(stored.target_type) == 60
    assert len(stored.target_id) == 64
    assert entry_digest(stored) == stored.entry_hash


def test_a_rolled_back_change_leaves_no_entry_and_no_gap(case_manager):
    audit_record(actor=case_manager, action="client.read")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=case_manager, action="client.update")
        raise RuntimeError("the change failed")
    after = audit_record(actor=case_manager, action="client.read")

    assert list(AuditEntry.objects.order_by("sequence").values_list("action", flat=True)) == [
        "client.read",
        "client.read",
    ]
    assert after.sequence == 2


def test_a_remote_address_that_is_no_ip_address_is_left_out(case_manager):
    request = RequestFactory().get("/", REMOTE_ADDR="proxy.internal")
    entry = audit_record(actor=case_manager, action="client.read", request=request)

    assert AuditEntry.objects.get(pk=entry.pk).ip_address is None


def test_entries_for_each_target_are_the_entries_of_one_call_each_and_keep_the_chain(
    case_manager, django_assert_max_num_queries
):
    from sprechstunde.audit.selectors import audit_chain_verify
    from sprechstunde.audit.services import audit_record_each

    before = audit_record(actor=case_manager, action="client.read", target_type="clients.client")
    clients = [ClientFactory(case_manager=case_manager) for _ in range(5)]
    # One lock, one read of the head, one insert per target (and the savepoint's two).
    with django_assert_max_num_queries(1 + 1 + 5 + 2):
        entries = audit_record_each(actor=case_manager, action="client.list", targets=clients)

    assert [entry.sequence for entry in entries] == list(
        range(before.sequence + 1, before.sequence + 6)
    )
    assert [entry.client_id for entry in entries] == [client.pk for client in clients]
    assert [entry.target_id for entry in entries] == [str(client.pk) for client in clients]
    assert {entry.action for entry in entries} == {"client.list"}
    assert entries[0].previous_hash == before.entry_hash
    stored = list(AuditEntry.objects.filter(sequence__gt=before.sequence).order_by("sequence"))
    assert [entry.entry_hash for entry in stored] == [entry.entry_hash for entry in entries]
    assert audit_chain_verify().problem is None
    assert audit_record_each(actor=case_manager, action="client.list", targets=[]) == []
