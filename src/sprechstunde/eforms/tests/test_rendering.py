"""The submission's PDF passes the independent PDF/A-2b check (PDFBox Preflight, ADR 0078),
in German and with a right-to-left client language; it holds both languages."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.utils import timezone

from sprechstunde.core.testing.pdfa import assert_pdfa_2b
from sprechstunde.eforms import rendering
from sprechstunde.eforms.factories import FormSubmissionFactory
from sprechstunde.eforms.services import attachment_add
from sprechstunde.eforms.testing.filling import COMPLETE_ANSWERS, ready_document

pytestmark = pytest.mark.django_db


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def submitted(kim, definition):
    submission = FormSubmissionFactory(
        client=kim,
        definition=definition,
        answers={**COMPLETE_ANSWERS},
        submitted_at=timezone.now(),
        submission_count=1,
    )
    attachment_add(
        actor=kim.user, submission=submission, field_key="payslip", document=ready_document(kim)
    )
    return submission


@pytest.mark.parametrize("language", ["de", "fa"])
def test_submission_pdf_is_pdfa_2b(submitted, language):
    pdf = rendering.submission_pdf(submission=submitted, language=language)
    report = assert_pdfa_2b(pdf)
    assert (report.part, report.conformance) == ("2", "B")
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert document.Root.MarkInfo.Marked  # tagged for screen readers


def test_pdf_has_questions_and_answers_in_her_language_and_german(submitted):
    pdf = rendering.submission_pdf(submission=submitted, language="en")
    text = _text(pdf)
    assert "Monthly gross pay" in text
    assert "Monatlicher Bruttolohn" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "1,850.00 €" in text
    assert "1.850,00 €" in text
    assert "Ada Kunde" in text
    assert "Lohnabrechnung" in text
