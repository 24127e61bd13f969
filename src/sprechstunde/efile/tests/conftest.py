"""Fixtures for the e-file tests: the documents settings (storage, keys), English pages, and
a client with a document, a sealed decision with its delivery log and an issued plan."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client as TestClient
from django.utils import timezone, translation

from sprechstunde.agreements.factories import DecisionTemplateFactory, PlanTemplateFactory
from sprechstunde.agreements.models import CooperationPlan, Decision, PlanVersion
from sprechstunde.agreements.services.decisions import _event_append
from sprechstunde.documents.factories import pdf_bytes
from sprechstunde.messaging.factories import portal_client_create


@pytest.fixture(autouse=True)
def efile_settings(documents_configured):
    documents_configured.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield documents_configured


@pytest.fixture
def client_record(case_manager):
    return portal_client_create(
        case_manager=case_manager, email="kundin@example.org", first_name="Kim", last_name="Kunde"
    )


@pytest.fixture
def staff_browser(case_manager):
    browser = TestClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    return browser


def sealed_decision(client, *, events=("sealed", "provided")) -> Decision:
    """A decision as sealing leaves it: the sealed PDF, its hash and a delivery log."""
    pdf = pdf_bytes(1, text="Bescheid")
    decision = Decision.objects.create(
        client=client,
        template=DecisionTemplateFactory(title="Bewerbungskosten"),
        values={"betrag": "10.00"},
        status="in_postbox",
        channel="portal",
        reference="2026-000001",
        issued_at=timezone.now(),
        issued_by=client.case_manager,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    for kind in events:
        _event_append(decision, kind, actor=None)
    return decision


def issued_plan(client) -> PlanVersion:
    pdf = pdf_bytes(1, text="Kooperationsplan")
    plan = CooperationPlan.objects.create(
        client=client,
        template=PlanTemplateFactory(),
        goals=["Ziel"],
        current_version=1,
        status="issued",
    )
    return PlanVersion.objects.create(
        plan=plan,
        number=1,
        content={"title": "Plan", "goals": ["Ziel"], "steps": [], "support": []},
        review_on=timezone.localdate(),
        issued_at=timezone.now(),
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )


def submitted_form(client, *, with_attachment: bool = False):
    """A sent form as eforms leaves it: its PDF and its answers as JSON stored as the
    client's documents (encrypted like every document), and optionally a photo attached."""
    import json

    from sprechstunde.documents import storage_crypto
    from sprechstunde.documents.models import Document
    from sprechstunde.documents.tests.test_export import stored_document
    from sprechstunde.eforms.models import FormAttachment
    from sprechstunde.eforms.tests.factories_staff import change_spec, submission

    made = submission(client, spec=change_spec())
    made.pdf_document = stored_document(client, title="Veränderungsmitteilung (PDF)")
    data = json.dumps({"format": 1, "slug": "veraenderung", "answers": made.answers}).encode()
    data_key = storage_crypto.new_data_key()
    wrapped, key_id = storage_crypto.wrap_key(data_key)
    made.data_document = Document.objects.create(
        client=client,
        uploaded_by=client.user,
        uploaded_by_side="client",
        title="Veränderungsmitteilung (Daten)",
        original_name="antworten.json",
        content_type="application/json",
        original_content_type="application/json",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status="ready",
        scan_status="clean",
        original_storage_name=storage_crypto.blob_write(data, data_key=data_key, kind="original"),
        wrapped_key=wrapped,
        key_id=key_id,
    )
    made.save(update_fields=["pdf_document", "data_document"])
    if with_attachment:
        photo = stored_document(client, title="Lohnzettel")
        FormAttachment.objects.create(submission=made, field_key="proof", document=photo)
    return made
