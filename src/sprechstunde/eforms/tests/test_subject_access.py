"""Her copy of her data (Art. 15 GDPR) holds her forms: the answers, the history, and the
PDF and JSON of a submission as files of the copy."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sprechstunde.eforms.factories import FormSubmissionFactory
from sprechstunde.eforms.models import FormEvent
from sprechstunde.eforms.testing.filling import COMPLETE_ANSWERS, ready_document
from sprechstunde.subject_access.package import collect

pytestmark = pytest.mark.django_db


def test_the_copy_holds_her_submissions_with_answers_and_files(kim, other_client, definition):
    pdf = ready_document(kim, title="Formular PDF")
    submission = FormSubmissionFactory(
        client=kim,
        definition=definition,
        answers={**COMPLETE_ANSWERS},
        status="received",
        submitted_at=timezone.now(),
        pdf_document=pdf,
        code_hash="a" * 64,
    )
    FormEvent.objects.create(submission=submission, kind="submitted", actor=kim.user)
    FormSubmissionFactory(client=other_client, definition=definition, answers={"iban": "X"})
    package = collect(kim)
    rows = package.sections["form_submissions"]
    assert len(rows) == 1
    row = rows[0]
    assert row["answers"]["iban"] == COMPLETE_ANSWERS["iban"]
    assert row["form"] == "engine_sample"
    assert row["status_label"] == "received"
    assert "code_hash" not in row
    assert row["pdf_file"] in {item.path for item in package.files}
    assert [event["kind"] for event in package.sections["form_events"]] == ["submitted"]
