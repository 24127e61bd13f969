"""A client's year of history, written in bulk: for the timeline's query-count test and its
bench. Rows are made directly (no services, no mails, no audit): this is volume, not a
journey; the journeys are tested through the services elsewhere."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import dataclass

from django.utils import timezone

from sprechstunde.accounts.models import User
from sprechstunde.agreements.choices import DecisionStatus, DeliveryEventKind, PlanStatus
from sprechstunde.agreements.models import (
    CooperationPlan,
    Decision,
    DecisionTemplate,
    DeliveryEvent,
    PlanTemplate,
    PlanVersion,
)
from sprechstunde.appointments.choices import AppointmentStatus, BookingSource, Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.models import Client, Consent, ConsentText
from sprechstunde.documents.choices import DocumentStatus, Side
from sprechstunde.documents.models import Document, DocumentRequest
from sprechstunde.messaging.models import Conversation, Message
from sprechstunde.video_calls.models import Call


@dataclass(frozen=True)
class StorySize:
    """How much happens per week of the story."""

    weeks: int = 52
    messages_per_week: int = 6
    documents_per_week: int = 2

    @property
    def entries(self) -> int:
        """Timeline entries the story makes (appointments, calls, messages, documents,
        requests, plans, versions, decisions, delivery events, consents)."""
        per_week = 1 + 1 + self.messages_per_week + self.documents_per_week + 1
        return self.weeks * per_week + 2 + 2 + 4 + 8 + len(ConsentPurpose)


def _hash(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def client_story_make(
    *, client: Client, size: StorySize, now: datetime.datetime | None = None
) -> None:
    """Give `client` `size.weeks` weeks of history ending now: one video appointment a week
    (held, with its call), messages, documents and requests, two plans with a version each,
    four decisions with two delivery events each, and a consent per purpose."""
    now = now or timezone.now()
    manager: User = client.case_manager
    start = now - datetime.timedelta(weeks=size.weeks)
    appointments = []
    for week in range(size.weeks):
        # Shifted by the client's id: one case manager never has two at the same instant.
        starts_at = (start + datetime.timedelta(weeks=week, minutes=client.pk)).replace(
            second=0, microsecond=0
        )
        appointments.append(
            Appointment(
                case_manager=manager,
                client=client,
                starts_at=starts_at,
                ends_at=starts_at + datetime.timedelta(minutes=30),
                channel=Channel.VIDEO,
                status=AppointmentStatus.HELD,
                source=BookingSource.DIRECT,
                booked_at=starts_at - datetime.timedelta(days=7),
            )
        )
    Appointment.objects.bulk_create(appointments)
    appointments = list(Appointment.objects.filter(client=client).order_by("starts_at"))
    Call.objects.bulk_create(
        Call(
            appointment=appointment,
            started_at=appointment.starts_at,
            ended_at=appointment.starts_at + datetime.timedelta(minutes=25),  # type: ignore[operator]
        )
        for appointment in appointments
    )
    conversation, _created = Conversation.objects.get_or_create(client=client)
    first = Message.objects.filter(conversation=conversation).count() + 1
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            sequence=first + number,
            client_msg_id=uuid.uuid4(),
            sender=manager if number % 2 else None,
            sender_side="staff" if number % 2 else "client",
            body=f"Nachricht {number}: bitte denken Sie an die Unterlagen.",
            created_at=start + datetime.timedelta(hours=number * 24 * 7 / size.messages_per_week),
        )
        for number in range(size.weeks * size.messages_per_week)
    )
    requests = DocumentRequest.objects.bulk_create(
        DocumentRequest(
            client=client,
            requested_by=manager,
            title=f"Kontoauszug {week + 1}",
            due_on=(start + datetime.timedelta(weeks=week, days=14)).date(),
            created_at=start + datetime.timedelta(weeks=week, hours=1),
        )
        for week in range(size.weeks)
    )
    Document.objects.bulk_create(
        Document(
            client=client,
            uploaded_by_side=Side.CLIENT,
            request=requests[number // size.documents_per_week],
            title=f"Unterlage {number + 1}",
            original_name=f"unterlage-{number + 1}.pdf",
            status=DocumentStatus.READY,
            created_at=start
            + datetime.timedelta(hours=number * 24 * 7 / size.documents_per_week + 3),
        )
        for number in range(size.weeks * size.documents_per_week)
    )
    plan_template = PlanTemplate.objects.filter(
        is_active=True
    ).first() or PlanTemplate.objects.create(key="bench-plan", version=1, title="Kooperationsplan")
    for number in range(2):
        issued_at = start + datetime.timedelta(weeks=number * 20 + 1)
        plan = CooperationPlan.objects.create(
            client=client,
            template=plan_template,
            status=PlanStatus.ISSUED,
            current_version=1,
            created_by=manager,
            created_at=issued_at - datetime.timedelta(days=1),
        )
        PlanVersion.objects.create(
            plan=plan,
            number=1,
            content={},
            review_on=(issued_at + datetime.timedelta(days=180)).date(),
            issued_at=issued_at,
            issued_by=manager,
            pdf=b"%PDF-1.7",
            pdf_sha256=_hash("plan", plan.pk),
        )
    decision_template = DecisionTemplate.objects.filter(
        is_active=True
    ).first() or DecisionTemplate.objects.create(
        key="bench-decision", version=1, title="Bescheid", body="", fields=[]
    )
    for number in range(4):
        created_at = start + datetime.timedelta(weeks=number * 12 + 2)
        decision = Decision.objects.create(
            client=client,
            template=decision_template,
            status=DecisionStatus.IN_POSTBOX,
            created_by=manager,
            created_at=created_at,
            issued_by=manager,
            issued_at=created_at + datetime.timedelta(hours=1),
        )
        previous = "0" * 64
        for sequence, kind in enumerate((DeliveryEventKind.SEALED, DeliveryEventKind.PROVIDED), 1):
            entry_hash = _hash(decision.pk, sequence, kind)
            DeliveryEvent.objects.create(
                decision=decision,
                sequence=sequence,
                kind=kind,
                at=created_at + datetime.timedelta(hours=1, minutes=sequence),
                actor_label="Bench",
                previous_hash=previous,
                entry_hash=entry_hash,
            )
            previous = entry_hash
    for purpose in ConsentPurpose:
        text = ConsentText.objects.filter(purpose=purpose).first() or ConsentText.objects.create(
            purpose=purpose, language="de", version=1, title=str(purpose.label), body="Text"
        )
        Consent.objects.filter(client=client, purpose=purpose).delete()
        Consent.objects.create(
            client=client,
            purpose=purpose,
            text=text,
            given_at=start,
            given_method=ConsentMethod.PAPER,
        )
