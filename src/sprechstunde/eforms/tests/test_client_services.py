"""The client's side of a form: start, save sections, attachments, code and submit."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.core import mail
from django.http import QueryDict

from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents.services.export import read_for_export
from sprechstunde.eforms import services
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.factories import FormDefinitionFactory, FormSubmissionFactory
from sprechstunde.eforms.models import FormEvent, FormSubmission
from sprechstunde.eforms.testing.filling import COMPLETE_ANSWERS, ready_document

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 12, 7)


def post(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in values.items():
        data[name.replace("__", "-")] = value
    return data


def test_start_makes_one_draft_per_form(kim, definition):
    first = services.submission_start(actor=kim.user, definition=definition)
    again = services.submission_start(actor=kim.user, definition=definition)
    assert first.pk == again.pk
    assert first.status == SubmissionStatus.DRAFT
    assert first.current_section == "bank"
    assert AuditEntry.objects.filter(action="eforms.start").count() == 1


def test_only_clients_start_forms(case_manager, definition):
    with pytest.raises(PermissionDeniedError):
        services.submission_start(actor=case_manager, definition=definition)


def test_an_old_version_is_not_started(kim):
    old = FormDefinitionFactory(version=1, is_current=False)
    with pytest.raises(ApplicationError):
        services.submission_start(actor=kim.user, definition=old)


def test_save_keeps_valid_answers_and_shows_the_wrong_iban_back(kim, definition):
    submission = services.submission_start(actor=kim.user, definition=definition)
    outcome = services.submission_section_save(
        actor=kim.user,
        submission=submission,
        section_key="bank",
        data=post(account_holder="Kim Kunde", iban="DE88 3704 0044 0532 0130 00"),
        revision=0,
        action="next",
    )
    assert outcome.go_to == ""
    assert "check digits" in str(outcome.errors["iban"])
    assert outcome.raw["iban"] == "DE88 3704 0044 0532 0130 00"
    saved = FormSubmission.objects.get(pk=submission.pk)
    assert saved.answers == {"account_holder": "Kim Kunde"}
    assert saved.revision == 1
    fixed = services.submission_section_save(
        actor=kim.user,
        submission=saved,
        section_key="bank",
        data=post(account_holder="Kim Kunde", iban="DE89 3704 0044 0532 0130 00"),
        revision=1,
        action="next",
    )
    assert fixed.errors == {}
    assert fixed.go_to == "work"
    assert fixed.submission.answers["iban"] == "DE89370400440532013000"
    assert fixed.submission.current_section == "work"


def test_a_stale_page_saves_nothing_and_keeps_what_she_typed(kim, definition):
    submission = services.submission_start(actor=kim.user, definition=definition)
    services.submission_section_save(
        actor=kim.user,
        submission=submission,
        section_key="bank",
        data=post(account_holder="From the laptop"),
        revision=0,
        action="save",
    )
    stale = services.submission_section_save(
        actor=kim.user,
        submission=submission,
        section_key="bank",
        data=post(account_holder="From the phone"),
        revision=0,
        action="next",
    )
    assert stale.stale
    assert stale.raw["account_holder"] == "From the phone"
    assert "changed meanwhile" in str(stale.errors["__all__"])
    saved = FormSubmission.objects.get(pk=submission.pk)
    assert saved.answers == {"account_holder": "From the laptop"}
    assert saved.revision == 1


def test_back_and_save_and_leave(kim, definition):
    submission = services.submission_start(actor=kim.user, definition=definition)
    back = services.submission_section_save(
        actor=kim.user,
        submission=submission,
        section_key="work",
        data=post(job_start="2026-11-01"),
        revision=0,
        action="back",
    )
    assert back.go_to == "bank"
    assert back.submission.answers == {"job_start": "2026-11-01"}
    leave = services.submission_section_save(
        actor=kim.user,
        submission=back.submission,
        section_key="work",
        data=post(job_start="2026-11-01", salary="12"),
        revision=1,
        action="save",
    )
    assert leave.go_to == "leave"
    assert leave.submission.current_section == "work"


def test_another_client_cannot_save(kim, other_client, definition):
    submission = services.submission_start(actor=kim.user, definition=definition)
    with pytest.raises(PermissionDeniedError):
        services.submission_section_save(
            actor=other_client.user,
            submission=submission,
            section_key="bank",
            data=post(),
            revision=0,
            action="save",
        )


def test_next_on_a_section_with_a_required_attachment_asks_for_it(kim, definition):
    submission = services.submission_start(actor=kim.user, definition=definition)
    outcome = services.submission_section_save(
        actor=kim.user,
        submission=submission,
        section_key="proof",
        data=post(),
        revision=0,
        action="next",
    )
    assert str(outcome.errors["payslip"]) == "Please attach at least one file."
    document = ready_document(kim)
    services.attachment_add(
        actor=kim.user, submission=submission, field_key="payslip", document=document
    )
    outcome = services.submission_section_save(
        actor=kim.user,
        submission=FormSubmission.objects.get(pk=submission.pk),
        section_key="proof",
        data=post(),
        revision=None,
        action="next",
    )
    assert outcome.errors == {}
    assert outcome.go_to == "review"


def test_attachments_are_limited_and_only_her_own(kim, other_client, definition):
    submission = services.submission_start(actor=kim.user, definition=definition)
    for number in range(3):
        services.attachment_add(
            actor=kim.user,
            submission=submission,
            field_key="payslip",
            document=ready_document(kim, title=f"page {number}"),
        )
    with pytest.raises(ApplicationError, match="No more files"):
        services.attachment_add(
            actor=kim.user,
            submission=submission,
            field_key="payslip",
            document=ready_document(kim),
        )
    with pytest.raises(PermissionDeniedError):
        services.attachment_add(
            actor=kim.user,
            submission=submission,
            field_key="payslip",
            document=ready_document(other_client),
        )
    first = submission.attachments.first()
    services.attachment_remove(actor=kim.user, submission=submission, attachment_id=first.pk)
    assert submission.attachments.count() == 2
    # The document stays hers.
    assert kim.documents.filter(pk=first.document_id).exists()


def complete_submission(kim, definition, **changes):
    submission = FormSubmissionFactory(
        client=kim, definition=definition, answers={**COMPLETE_ANSWERS}, **changes
    )
    services.attachment_add(
        actor=kim.user, submission=submission, field_key="payslip", document=ready_document(kim)
    )
    submission.refresh_from_db()
    return submission


def sent_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_problems_list_what_is_missing(kim, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition, answers={})
    problems = services.submission_problems(submission=submission)
    assert {(p.section_key, p.field_key) for p in problems} >= {
        ("bank", "iban"),
        ("work", "job_start"),
        ("household", "has_household"),
        ("proof", "payslip"),
    }
    with pytest.raises(ApplicationError, match="still missing"):
        services.submission_code_send(actor=kim.user, submission=submission)


def test_code_then_submit_renders_pdf_and_json_as_her_documents(kim, definition):
    submission = complete_submission(kim, definition)
    channel = services.submission_code_send(
        actor=kim.user, submission=submission, revision=submission.revision
    )
    assert channel.kind == "email"
    assert mail.outbox[-1].to == ["kim@example.org"]
    # The message holds the code and nothing of the form.
    assert "IBAN" not in mail.outbox[-1].body
    with pytest.raises(ApplicationError, match="not correct"):
        services.submission_submit(actor=kim.user, submission=submission, code="000000")
    submitted = services.submission_submit(
        actor=kim.user, submission=submission, code=sent_code(), revision=submission.revision
    )
    assert submitted.status == SubmissionStatus.RECEIVED
    assert submitted.submission_count == 1
    assert submitted.submitted_by == kim.user
    assert list(FormEvent.objects.filter(submission=submitted).values_list("kind", flat=True)) == [
        "submitted"
    ]
    assert AuditEntry.objects.filter(action="eforms.submit").exists()
    pdf, pdf_type = read_for_export(submitted.pdf_document)
    assert pdf_type == "application/pdf"
    assert pdf.startswith(b"%PDF")
    assert submitted.pdf_document.client == kim
    data, data_type = read_for_export(submitted.data_document)
    payload = json.loads(data)
    assert data_type == "application/json"
    assert payload["slug"] == "engine_sample"
    assert payload["version"] == 1
    assert payload["answers"]["iban"] == "DE89370400440532013000"
    assert payload["attachments"][0]["field"] == "payslip"
    # Submitted: no more changes.
    with pytest.raises(ApplicationError, match="can no longer be changed"):
        services.submission_section_save(
            actor=kim.user,
            submission=submitted,
            section_key="bank",
            data=post(),
            revision=None,
            action="save",
        )


def test_a_change_after_the_review_makes_the_submit_stale(kim, definition):
    submission = complete_submission(kim, definition)
    reviewed = submission.revision
    services.submission_code_send(actor=kim.user, submission=submission, revision=reviewed)
    code = sent_code()
    services.submission_section_save(
        actor=kim.user,
        submission=submission,
        section_key="bank",
        data=post(account_holder="Kim K.", iban="DE89370400440532013000"),
        revision=reviewed,
        action="save",
    )
    with pytest.raises(services.StaleRevision):
        services.submission_submit(
            actor=kim.user,
            submission=FormSubmission.objects.get(pk=submission.pk),
            code=code,
            revision=reviewed,
        )


def test_needs_more_reopens_and_a_new_submission_adds_new_documents(kim, definition):
    submission = complete_submission(kim, definition)
    services.submission_code_send(actor=kim.user, submission=submission)
    first = services.submission_submit(actor=kim.user, submission=submission, code=sent_code())
    old_pdf = first.pdf_document_id
    FormSubmission.objects.filter(pk=first.pk).update(
        status=SubmissionStatus.NEEDS_MORE, needs_more_note="Please add the second page."
    )
    reopened = FormSubmission.objects.get(pk=first.pk)
    outcome = services.submission_section_save(
        actor=kim.user,
        submission=reopened,
        section_key="work",
        data=post(job_start="2026-11-01", salary="1900"),
        revision=reopened.revision,
        action="next",
    )
    assert outcome.errors == {}
    again = outcome.submission
    services.submission_code_send(actor=kim.user, submission=again)
    second = services.submission_submit(actor=kim.user, submission=again, code=sent_code())
    assert second.status == SubmissionStatus.RECEIVED
    assert second.submission_count == 2
    assert second.pdf_document_id != old_pdf
    assert kim.documents.filter(pk=old_pdf).exists()
    kinds = list(FormEvent.objects.filter(submission=second).values_list("kind", flat=True))
    assert kinds == ["submitted", "resubmitted"]


def test_code_by_sms_when_she_has_no_email(kim, definition, settings):
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    kim.email = ""
    kim.mobile_number = "0170 1234567"
    kim.save()
    kim.user.email = ""
    kim.user.save()
    submission = complete_submission(kim, definition)
    channel = services.submission_code_send(actor=kim.user, submission=submission)
    assert channel.kind == "sms"
    from sprechstunde.core.models import SmsMessage

    message = SmsMessage.objects.get(kind="form_code")
    assert message.to == "0170 1234567"
    assert re.search(r"\b\d{6}\b", message.text)
    assert "Kim" not in message.text
