"""A client with one record of every kind, encrypted document storage for one test, and
logins by role. The clock is moved by passing `now` to the services (no time-machine here)."""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client as TestClient
from django.utils import timezone

from sprechstunde.agreements.factories import (
    decision_in_postbox_for,
    plan_issued_for,
    portal_client,
)
from sprechstunde.agreements.models import DeliveryEvent
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.models import Consent
from sprechstunde.core.models import OutboxMessage
from sprechstunde.documents import storage_crypto
from sprechstunde.documents.models import Document, DocumentPreview, UploadSession
from sprechstunde.messaging.models import Conversation, Message
from sprechstunde.video_calls.models import Call, Participant, Presence


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def document_storage(settings, tmp_path):
    """This test's own encrypted documents storage and upload folder."""
    settings.DOCUMENT_MASTER_KEYS = storage_crypto.new_master_key_entry("test-1")
    settings.DOCUMENT_UPLOAD_DIR = tmp_path / "uploads"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    return tmp_path / "documents"


def stored_document(client, *, in_efile: bool, status: str = "ready", previews: int = 1):
    """A document with an encrypted PDF blob (and page previews) in the storage."""
    data_key = secrets.token_bytes(32)
    wrapped, key_id = storage_crypto.wrap_key(data_key)
    now = timezone.now()
    document = Document.objects.create(
        client=client,
        uploaded_by_side="client",
        title=f"Nachweis {secrets.token_hex(2)}",
        original_name="nachweis.pdf",
        status=status,
        wrapped_key=wrapped,
        key_id=key_id,
        original_storage_name=storage_crypto.blob_write(
            b"orig", data_key=data_key, kind="original"
        ),
        pdf_storage_name=storage_crypto.blob_write(b"%PDF", data_key=data_key, kind="pdf"),
        is_in_efile=in_efile,
        efile_marked_at=now if in_efile else None,
        ready_at=now,
    )
    for page in range(1, previews + 1):
        DocumentPreview.objects.create(
            document=document,
            page_number=page,
            storage_name=storage_crypto.blob_write(b"webp", data_key=data_key, kind="preview"),
        )
    return document


def blob_names(document_or_names) -> list[str]:
    if isinstance(document_or_names, Document):
        return [document_or_names.original_storage_name, document_or_names.pdf_storage_name]
    return list(document_or_names)


def blob_exists(name: str) -> bool:
    return storage_crypto.storage().exists(name)


@dataclass
class World:
    """One client's records of every kind, all made now (T0)."""

    client: Any
    message: Message
    filed: Document
    unfiled: Document
    refused: Document
    upload: UploadSession
    appointment: Any
    call: Call
    consent: Consent
    decision: Any
    event: DeliveryEvent
    plan: Any
    mail: OutboxMessage


@pytest.fixture
def world(case_manager, document_storage):
    client = portal_client(case_manager=case_manager, email="kim@example.org")
    conversation = Conversation.objects.create(client=client)
    message = Message.objects.create(
        conversation=conversation,
        sequence=1,
        client_msg_id=uuid.uuid4(),
        sender=client.user,
        sender_side="client",
        body="Hallo",
    )
    filed = stored_document(client, in_efile=True)
    unfiled = stored_document(client, in_efile=False)
    refused = stored_document(client, in_efile=False, status="refused", previews=0)
    upload = UploadSession.objects.create(
        id=secrets.token_urlsafe(32)[:43],
        owner=client.user,
        client=client,
        original_name="foto.jpg",
        expected_size=10,
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    # Half a day past the factory's "a week from now", whatever the hour the suite runs at: the
    # cases measure the appointment's and call's periods from "now + 8 days" and must not depend
    # on whether 10:00 local time has passed today.
    starts_at = timezone.now() + datetime.timedelta(days=7, hours=12)
    appointment = AppointmentFactory(
        case_manager=case_manager, client=client, channel="video", starts_at=starts_at
    )
    call = Call.objects.create(appointment=appointment)
    participant = Participant.objects.create(call=call, user=case_manager, role="staff")
    Presence.objects.create(participant=participant)
    consent = Consent.objects.create(
        client=client,
        purpose=ConsentPurpose.VIDEO,
        text=Consent.objects.filter(client=client).first().text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
        withdrawn_at=timezone.now(),
        withdrawn_method=ConsentMethod.PORTAL,
    )
    decision = decision_in_postbox_for(client)
    event = DeliveryEvent.objects.create(
        decision=decision,
        sequence=1,
        kind="provided",
        at=timezone.now(),
        actor_label="system",
        previous_hash="0" * 64,
        entry_hash=secrets.token_hex(32),
    )
    plan = plan_issued_for(client)
    mail = OutboxMessage.objects.create(
        subject="Code", from_email="a@b", to="kim@example.org", body="1"
    )
    return World(
        client=client,
        message=message,
        filed=filed,
        unfiled=unfiled,
        refused=refused,
        upload=upload,
        appointment=appointment,
        call=call,
        consent=consent,
        decision=decision,
        event=event,
        plan=plan,
        mail=mail,
    )


def days_later(days: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


@pytest.fixture
def web():
    return TestClient(headers={"accept-language": "en"})


def login(test_client: TestClient, user) -> TestClient:
    if getattr(user, "is_staff_member", False):
        Authenticator.objects.get_or_create(
            user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "A" * 32}}
        )
    test_client.force_login(user)
    return test_client
