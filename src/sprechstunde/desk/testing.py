"""Test and bench data for the desk: a caseload with one thing of every kind to do.

Made directly through the models (fast, for large caseloads); production never imports it.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.utils import timezone

from sprechstunde.agreements.factories import decision_in_postbox_for, plan_issued_for
from sprechstunde.appointments.choices import AppointmentStatus, BookingSource, Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.models import Client
from sprechstunde.documents.choices import DocumentStatus, Side
from sprechstunde.documents.models import Document, DocumentRequest
from sprechstunde.messaging.choices import Side as MessageSide
from sprechstunde.messaging.models import Conversation, Message
from sprechstunde.video_calls.choices import ParticipantRole, ParticipantState
from sprechstunde.video_calls.models import Call, Participant, Presence


def appointment_at(
    client: Client,
    starts_at: datetime.datetime,
    *,
    channel: str = Channel.PHONE,
    status: str = AppointmentStatus.BOOKED,
    minutes: int = 30,
) -> Appointment:
    return Appointment.objects.create(
        case_manager_id=client.case_manager_id,
        client=client,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        channel=channel,
        status=status,
        source=BookingSource.DIRECT,
        booked_at=timezone.now(),
    )


def client_waiting_in_call(appointment: Appointment) -> Participant:
    """The client has entered the video call's waiting room and is still there."""
    call, _created = Call.objects.get_or_create(appointment=appointment)
    participant = Participant.objects.create(
        call=call,
        role=ParticipantRole.CLIENT,
        user=appointment.client.user,
        display_name=appointment.client.first_name,
        state=ParticipantState.WAITING,
    )
    Presence.objects.create(
        participant=participant, channel_name=f"test.{uuid.uuid4().hex}", session="s1"
    )
    return participant


def client_messages(client: Client, count: int = 1, *, read_by: Any = None) -> Conversation:
    """`count` messages from the client; `read_by` (staff) has read them all."""
    conversation, _created = Conversation.objects.get_or_create(client=client)
    start = conversation.last_sequence
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            sequence=start + n + 1,
            client_msg_id=uuid.uuid4(),
            sender=client.user,
            sender_side=MessageSide.CLIENT,
            body="Guten Tag",
            created_at=now,
        )
        for n in range(count)
    )
    conversation.last_sequence = start + count
    conversation.last_message_at = now
    conversation.save(update_fields=["last_sequence", "last_message_at"])
    if read_by is not None:
        conversation.read_states.update_or_create(
            user=read_by,
            defaults={
                "side": MessageSide.STAFF,
                "is_addressee": True,
                "last_read_sequence": conversation.last_sequence,
            },
        )
    return conversation


def client_document(client: Client, *, title: str = "Kontoauszug", **fields: Any) -> Document:
    """A document the client sent, checked and ready, not yet in the e-file."""
    values: dict[str, Any] = {
        "uploaded_by_side": Side.CLIENT,
        "status": DocumentStatus.READY,
        "original_name": "scan.pdf",
        "content_type": "application/pdf",
        "ready_at": timezone.now(),
    }
    values.update(fields)
    return Document.objects.create(client=client, title=title, **values)


def overdue_request(client: Client, *, title: str = "Mietvertrag") -> DocumentRequest:
    return DocumentRequest.objects.create(
        client=client,
        title=title,
        due_on=timezone.localdate() - datetime.timedelta(days=3),
    )


def decision_waiting_for_seal(client: Client) -> Any:
    decision = decision_in_postbox_for(client)
    decision.status = "waiting_for_seal"
    decision.save(update_fields=["status"])
    return decision


def plan_review_due(client: Client, *, on: datetime.date | None = None) -> Any:
    plan = plan_issued_for(client)
    plan.review_on = on or timezone.localdate()
    plan.save(update_fields=["review_on"])
    return plan
