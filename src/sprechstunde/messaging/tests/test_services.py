"""The messaging services and selectors against the database: numbering, idempotent resend,
who may read and write, read state, unread counts, and the audit trail."""

from __future__ import annotations

import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from sprechstunde.accounts.factories import CaseManagerFactory, TeamLeadFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Consent
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.messaging import frames, selectors, services
from sprechstunde.messaging.choices import MESSAGE_MAX_LENGTH, Side
from sprechstunde.messaging.models import Conversation, Message, ReadState

pytestmark = pytest.mark.django_db


def send(conversation, sender, body="Hallo", client_msg_id=None):
    return services.message_send(
        conversation=conversation,
        sender=sender,
        body=body,
        client_msg_id=client_msg_id or uuid.uuid4(),
    )


# --- numbering and idempotency --------------------------------------------------------------


def test_messages_are_numbered_one_after_another_per_conversation(
    conversation, portal_client, case_manager, foreign_client, other_case_manager
):
    other = services.conversation_get_or_create(client=foreign_client)

    first = send(conversation, case_manager)
    second = send(conversation, portal_client.user)
    elsewhere = send(other, other_case_manager)
    third = send(conversation, case_manager)

    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert elsewhere.sequence == 1
    conversation.refresh_from_db()
    assert conversation.last_sequence == 3
    assert conversation.last_message_at == third.created_at
    assert [first.sender_side, second.sender_side] == [Side.STAFF, Side.CLIENT]


def test_a_resend_with_the_same_id_returns_the_stored_message_and_stores_nothing(
    conversation, portal_client
):
    message_id = uuid.uuid4()
    first = send(conversation, portal_client.user, "Ich komme später", message_id)
    audits = AuditEntry.objects.filter(action="message.send").count()

    again = send(conversation, portal_client.user, "Ich komme später", str(message_id))

    assert again.pk == first.pk
    assert again.sequence == 1
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert AuditEntry.objects.filter(action="message.send").count() == audits
    conversation.refresh_from_db()
    assert conversation.last_sequence == 1


def test_an_id_used_by_someone_else_is_refused(conversation, portal_client, case_manager):
    message_id = uuid.uuid4()
    send(conversation, portal_client.user, "Hallo", message_id)

    with pytest.raises(ApplicationError) as caught:
        send(conversation, case_manager, "Hallo", message_id)

    assert caught.value.field == "client_msg_id"
    assert Message.objects.count() == 1


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid", None, 12, "../../etc"])
def test_a_missing_or_malformed_message_id_is_refused(conversation, portal_client, bad_id):
    with pytest.raises(ApplicationError):
        services.message_send(
            conversation=conversation, sender=portal_client.user, body="Hi", client_msg_id=bad_id
        )
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_distinct_numbers_without_gaps(portal_client, case_manager):
    conversation = services.conversation_get_or_create(client=portal_client)
    senders = [case_manager, portal_client.user]
    errors: list[BaseException] = []

    def write(sender, count):
        try:
            for _ in range(count):
                send(conversation, sender)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(senders[i % 2], 8)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = list(
        Message.objects.filter(conversation=conversation).values_list("sequence", flat=True)
    )
    assert sorted(numbers) == list(range(1, 49))
    conversation.refresh_from_db()
    assert conversation.last_sequence == 48


# --- the text ---------------------------------------------------------------------------------


def test_the_text_is_trimmed_and_control_characters_are_removed(conversation, portal_client):
    message = send(conversation, portal_client.user, "  Guten\r\nTag\x00\x07 \u202e!\t ")

    assert message.body == "Guten\nTag \u202e!"


@pytest.mark.parametrize("body", ["", "   \n\t", "\x00\x01", None, 5])
def test_an_empty_message_is_refused(conversation, portal_client, body):
    with pytest.raises(ApplicationError) as caught:
        send(conversation, portal_client.user, body)

    assert caught.value.field == "body"
    assert not Message.objects.exists()


def test_a_message_may_be_as_long_as_the_limit_but_not_longer(conversation, portal_client):
    longest = send(conversation, portal_client.user, "ä" * MESSAGE_MAX_LENGTH)
    with pytest.raises(ApplicationError) as caught:
        send(conversation, portal_client.user, "a" * (MESSAGE_MAX_LENGTH + 1))

    assert len(longest.body) == MESSAGE_MAX_LENGTH
    assert "too long" in str(caught.value.message)
    assert Message.objects.count() == 1


# --- who may write ----------------------------------------------------------------------------


def test_the_case_manager_and_the_client_write(conversation, portal_client, case_manager):
    send(conversation, case_manager)
    send(conversation, portal_client.user)

    assert Message.objects.count() == 2


def test_a_substitute_writes_while_standing_in(conversation, substitute):
    message = send(conversation, substitute)

    assert message.sender == substitute
    assert message.sender_side == Side.STAFF


def test_a_team_lead_reads_but_does_not_write(conversation, team_lead, case_manager):
    send(conversation, case_manager)

    with pytest.raises(PermissionDeniedError):
        send(conversation, team_lead)
    visible = selectors.message_list_for_conversation(conversation=conversation, viewer=team_lead)

    assert [m.sequence for m in visible] == [1]


def test_a_team_lead_who_is_the_case_manager_writes(team):
    from sprechstunde.messaging.factories import portal_client_create

    lead = TeamLeadFactory(team=team)
    client = portal_client_create(case_manager=lead, email="lead-client@example.org")
    conversation = services.conversation_get_or_create(client=client)

    assert send(conversation, lead).sequence == 1


@pytest.mark.parametrize("role", ["other_case_manager", "admin_user", "dpo"])
def test_strangers_neither_write_nor_read(conversation, case_manager, role, request):
    stranger = request.getfixturevalue(role)
    send(conversation, case_manager)

    with pytest.raises(PermissionDeniedError):
        send(conversation, stranger)
    with pytest.raises(PermissionDeniedError):
        selectors.message_list_for_conversation(conversation=conversation, viewer=stranger)
    with pytest.raises(PermissionDeniedError):
        services.conversation_mark_read(conversation=conversation, reader=stranger, sequence=1)
    assert Message.objects.count() == 1


def test_another_client_cannot_write_in_a_conversation(conversation, foreign_client):
    with pytest.raises(PermissionDeniedError):
        send(conversation, foreign_client.user)


def test_a_client_who_withdrew_portal_consent_cannot_write(conversation, portal_client):
    from django.utils import timezone

    Consent.objects.filter(client=portal_client, purpose=ConsentPurpose.PORTAL).update(
        withdrawn_at=timezone.now()
    )

    with pytest.raises(PermissionDeniedError):
        send(conversation, portal_client.user)


def test_staff_cannot_write_to_a_client_without_the_portal(case_manager):
    from sprechstunde.clients.factories import ClientFactory

    offline = ClientFactory(case_manager=case_manager)
    conversation = services.conversation_get_or_create(client=offline)

    with pytest.raises(ApplicationError) as caught:
        send(conversation, case_manager)

    assert "does not use the portal" in str(caught.value.message)
    assert not Message.objects.exists()


def test_a_former_substitute_can_no_longer_write(conversation, substitute):
    from sprechstunde.accounts.models import Substitution

    Substitution.objects.filter(substitute=substitute).delete()

    with pytest.raises(PermissionDeniedError):
        send(conversation, substitute)


# --- the audit trail --------------------------------------------------------------------------


def test_sending_is_audited_without_the_text(conversation, portal_client):
    message = send(conversation, portal_client.user, "Meine Steuer-ID ist 12345")

    entry = AuditEntry.objects.get(action="message.send")
    assert entry.actor_id == portal_client.user.pk
    assert entry.client_id == portal_client.pk
    assert (entry.target_type, entry.target_id) == ("messaging.message", str(message.pk))
    stored = " ".join(str(value) for value in AuditEntry.objects.values_list())
    assert "12345" not in stored


# --- pushes after commit ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_stored_message_is_pushed_to_the_conversation_group(portal_client, case_manager):
    conversation = services.conversation_get_or_create(client=portal_client)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(frames.group_name(conversation.pk), channel)

    message = send(conversation, case_manager, "Bitte Unterlagen mitbringen")
    event = async_to_sync(layer.receive)(channel)

    assert event["type"] == "conversation.event"
    assert event["frame"]["sequence"] == message.sequence
    assert event["frame"]["body"] == "Bitte Unterlagen mitbringen"
    assert event["frame"]["client_msg_id"] == str(message.client_msg_id)
    assert event["frame"]["side"] == "staff"


def test_nothing_is_pushed_before_the_transaction_commits(
    conversation, case_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        send(conversation, case_manager)

    # One push and one notice job, both waiting for the commit.
    assert len(callbacks) == 2


# --- read state and receipts ------------------------------------------------------------------


def test_marking_read_moves_forward_only_and_not_past_the_last_message(
    conversation, portal_client, case_manager
):
    for _ in range(3):
        send(conversation, case_manager)

    assert (
        services.conversation_mark_read(
            conversation=conversation, reader=portal_client.user, sequence=2
        )
        == 2
    )
    assert (
        services.conversation_mark_read(
            conversation=conversation, reader=portal_client.user, sequence=1
        )
        == 2
    )
    assert (
        services.conversation_mark_read(
            conversation=conversation, reader=portal_client.user, sequence=99
        )
        == 3
    )
    state = ReadState.objects.get(user=portal_client.user)
    assert (state.last_read_sequence, state.side, state.is_addressee) == (3, "client", True)
    assert AuditEntry.objects.filter(action="conversation.read").count() == 2


def test_read_receipts_count_addressees_only(conversation, portal_client, case_manager, team_lead):
    send(conversation, portal_client.user)
    send(conversation, portal_client.user)

    services.conversation_mark_read(conversation=conversation, reader=team_lead, sequence=2)
    looked_on = selectors.read_positions(conversation=conversation, viewer=portal_client.user)
    services.conversation_mark_read(conversation=conversation, reader=case_manager, sequence=1)
    answered = selectors.read_positions(conversation=conversation, viewer=portal_client.user)

    assert looked_on.staff == 0
    assert answered.staff == 1
    assert selectors.read_positions(conversation=conversation, viewer=team_lead).own == 2


def test_unread_counts_follow_the_read_position(
    conversation, portal_client, case_manager, team_lead
):
    for _ in range(3):
        send(conversation, portal_client.user)
    send(conversation, case_manager)

    assert selectors.unread_count_for_user(user=case_manager) == 3
    assert selectors.unread_count_for_user(user=team_lead) == 3
    assert selectors.unread_count_for_user(user=portal_client.user) == 1

    services.conversation_mark_read(conversation=conversation, reader=case_manager, sequence=2)

    assert selectors.unread_count_for_user(user=case_manager) == 1
    assert selectors.unread_count_for_user(user=team_lead) == 3


def test_the_inbox_lists_visible_conversations_with_unread_counts(
    conversation, portal_client, case_manager, foreign_client, other_case_manager
):
    foreign = services.conversation_get_or_create(client=foreign_client)
    send(foreign, foreign_client.user)
    send(conversation, portal_client.user)
    send(conversation, portal_client.user)
    # A conversation without messages is not listed.
    from sprechstunde.messaging.factories import portal_client_create

    quiet = portal_client_create(case_manager=case_manager, email="quiet@example.org")
    services.conversation_get_or_create(client=quiet)

    rows = list(selectors.conversation_list_for_user(user=case_manager))

    assert [(row.pk, row.unread_count) for row in rows] == [(conversation.pk, 2)]
    assert AuditEntry.objects.filter(action="conversation.list", actor_id=case_manager.pk).exists()


def test_conversation_lookup_refuses_and_audits_strangers(conversation, other_case_manager):
    found = selectors.conversation_get_for_user(user=other_case_manager, pk=conversation.pk)

    assert found is None
    denial = AuditEntry.objects.get(action="conversation.access_denied")
    assert (denial.actor_id, denial.client_id) == (other_case_manager.pk, conversation.client_id)


def test_conversation_lookup_audits_the_opening(conversation, case_manager):
    found = selectors.conversation_get_for_user(user=case_manager, pk=conversation.pk)

    assert found == conversation
    entry = AuditEntry.objects.get(action="conversation.view")
    assert (entry.actor_id, entry.client_id) == (case_manager.pk, conversation.client_id)


def test_message_pages_go_forwards_and_backwards(conversation, portal_client):
    for _ in range(7):
        send(conversation, portal_client.user)
    viewer = portal_client.user

    latest = selectors.message_list_for_conversation(
        conversation=conversation, viewer=viewer, limit=3
    )
    earlier = selectors.message_list_for_conversation(
        conversation=conversation, viewer=viewer, before_sequence=5, limit=3
    )
    after = selectors.message_list_for_conversation(
        conversation=conversation, viewer=viewer, after_sequence=2, limit=3
    )

    assert [m.sequence for m in latest] == [5, 6, 7]
    assert [m.sequence for m in earlier] == [2, 3, 4]
    assert [m.sequence for m in after] == [3, 4, 5]


def test_one_conversation_per_client(portal_client):
    first = services.conversation_get_or_create(client=portal_client)
    second = services.conversation_get_or_create(client=portal_client)

    assert first.pk == second.pk
    assert Conversation.objects.filter(client=portal_client).count() == 1


def test_a_case_manager_from_the_same_team_who_is_not_standing_in_cannot_read(conversation, team):
    colleague = CaseManagerFactory(team=team)

    with pytest.raises(PermissionDeniedError):
        selectors.message_list_for_conversation(conversation=conversation, viewer=colleague)
