"""The client's form pages through the test client."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.factories import FormSubmissionFactory
from sprechstunde.eforms.models import FormSubmission
from sprechstunde.eforms.services import attachment_add
from sprechstunde.eforms.testing.filling import COMPLETE_ANSWERS, ready_document

from .conftest import phone_for

pytestmark = pytest.mark.django_db


def section_url(submission, key):
    return reverse("eforms:portal_section", kwargs={"pk": submission.pk, "section": key})


def test_list_offers_forms_and_start_opens_the_first_section(kim_phone, kim, definition):
    page = kim_phone.get(reverse("eforms:portal_list"))
    assert page.status_code == 200
    assert "Test form: a change" in page.content.decode()
    started = kim_phone.post(reverse("eforms:portal_start", args=["engine_sample"]))
    submission = FormSubmission.objects.get(client=kim)
    assert started["Location"] == section_url(submission, "bank")
    screen = kim_phone.get(started["Location"]).content.decode()
    assert "Step 1 of 4" in screen
    assert 'autocapitalize="characters"' in screen
    # The list now offers to go on with the draft instead of a second start.
    listed = kim_phone.get(reverse("eforms:portal_list")).content.decode()
    assert 'data-testid="continue-engine_sample"' in listed


def test_wrong_iban_is_shown_at_the_field_with_what_she_typed(kim_phone, kim, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition)
    response = kim_phone.post(
        section_url(submission, "bank"),
        {
            "revision": "0",
            "action": "next",
            "account_holder": "Kim",
            "iban": "DE88 3704 0044 0532 0130 00",
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert 'data-testid="error-iban"' in content
    assert "check digits do not match" in content
    assert 'value="DE88 3704 0044 0532 0130 00"' in content
    assert FormSubmission.objects.get(pk=submission.pk).answers == {"account_holder": "Kim"}


def test_german_client_gets_german_messages(kim, definition):
    kim.user.preferred_language = "de"
    kim.user.save()
    phone = phone_for(kim.user)
    phone.cookies["django_language"] = "de"
    submission = FormSubmissionFactory(client=kim, definition=definition)
    response = phone.post(
        section_url(submission, "work"),
        {
            "revision": "0",
            "action": "next",
            "job_start": "2026-11-10",
            "job_end": "2026-11-01",
            "salary": "100",
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )
    content = response.content.decode()
    assert "Schritt 2 von 4" in content
    assert "darf nicht vor" in content


def test_next_save_and_leave_and_group_add(kim_phone, kim, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition)
    added = kim_phone.post(
        section_url(submission, "household"),
        {"revision": "0", "action": "add:members", "has_household": "yes", "members-count": "0"},
    )
    assert added.status_code == 302
    assert added["Location"].endswith("#group-members")
    saved = FormSubmission.objects.get(pk=submission.pk)
    assert saved.answers["members"] == [{}]
    screen = kim_phone.get(section_url(submission, "household")).content.decode()
    assert 'name="members-0-member_name"' in screen
    left = kim_phone.post(
        section_url(submission, "household"),
        {
            "revision": str(saved.revision),
            "action": "save",
            "has_household": "yes",
            "members-count": "1",
            "members-0-member_name": "Ada",
        },
    )
    assert left["Location"] == reverse("eforms:portal_list")
    assert FormSubmission.objects.get(pk=submission.pk).answers["members"] == [
        {"member_name": "Ada"}
    ]


def test_stale_page_answers_409_and_keeps_her_input(kim_phone, kim, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition, revision=3)
    response = kim_phone.post(
        section_url(submission, "bank"),
        {"revision": "2", "action": "next", "account_holder": "Typed on the bus"},
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert 'data-testid="stale"' in content
    assert 'value="Typed on the bus"' in content
    assert 'name="revision" value="3"' in content


def test_review_code_and_submit(kim_phone, kim, definition):
    submission = FormSubmissionFactory(
        client=kim, definition=definition, answers={**COMPLETE_ANSWERS}
    )
    attachment_add(
        actor=kim.user, submission=submission, field_key="payslip", document=ready_document(kim)
    )
    submission.refresh_from_db()
    review = kim_phone.get(reverse("eforms:portal_review", args=[submission.pk])).content.decode()
    assert "DE89 3704 0044 0532 0130 00" in review
    assert 'data-testid="send-code"' in review
    sent = kim_phone.post(
        reverse("eforms:portal_review", args=[submission.pk]),
        {"revision": str(submission.revision)},
    )
    assert sent["Location"] == reverse("eforms:portal_confirm", args=[submission.pk])
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    wrong = kim_phone.post(
        reverse("eforms:portal_confirm", args=[submission.pk]),
        {"revision": str(submission.revision), "code": "123"},
    )
    assert wrong.status_code == 400
    done = kim_phone.post(
        reverse("eforms:portal_confirm", args=[submission.pk]),
        {"revision": str(submission.revision), "code": code},
    )
    assert done["Location"] == reverse("eforms:portal_done", args=[submission.pk])
    assert FormSubmission.objects.get(pk=submission.pk).status == SubmissionStatus.RECEIVED
    page = kim_phone.get(done["Location"]).content.decode()
    assert 'data-testid="form-pdf"' in page
    # A submitted form no longer opens its sections.
    closed = kim_phone.get(section_url(submission, "bank"))
    assert closed["Location"] == reverse("eforms:portal_detail", args=[submission.pk])


def test_review_lists_what_is_missing(kim_phone, kim, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition)
    review = kim_phone.get(reverse("eforms:portal_review", args=[submission.pk])).content.decode()
    assert 'data-testid="problems"' in review
    assert 'data-testid="send-code"' not in review


def test_attach_without_javascript(kim_phone, kim, definition):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sprechstunde.documents.factories import jpeg_bytes

    submission = FormSubmissionFactory(client=kim, definition=definition)
    url = reverse("eforms:portal_attach", kwargs={"pk": submission.pk, "field": "payslip"})
    assert kim_phone.get(url).status_code == 200
    response = kim_phone.post(
        url, {"files": SimpleUploadedFile("photo.jpg", jpeg_bytes(), content_type="image/jpeg")}
    )
    assert response.status_code == 302
    attachment = submission.attachments.get()
    assert attachment.field_key == "payslip"
    assert attachment.document.client == kim
    detach = kim_phone.post(
        reverse(
            "eforms:portal_detach", kwargs={"pk": submission.pk, "attachment_pk": attachment.pk}
        )
    )
    assert detach.status_code == 302
    assert not submission.attachments.exists()


def test_another_clients_form_is_404_and_audited(kim, other_client, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition)
    stranger = phone_for(other_client.user)
    for url in (
        reverse("eforms:portal_detail", args=[submission.pk]),
        section_url(submission, "bank"),
        reverse("eforms:portal_review", args=[submission.pk]),
    ):
        assert stranger.get(url).status_code == 404
    assert stranger.post(section_url(submission, "bank"), {"action": "save"}).status_code == 404
    # One entry per route and minute (the trail counts repeats in a window).
    assert AuditEntry.objects.filter(action="eforms.access_denied").count() == 3
    assert FormSubmission.objects.get(pk=submission.pk).revision == 0


def test_staff_cannot_open_portal_form_pages(case_manager, kim, definition):
    submission = FormSubmissionFactory(client=kim, definition=definition)
    staff = phone_for(case_manager)
    assert staff.get(section_url(submission, "bank")).status_code == 404


def test_home_tile_shows_needs_more(kim_phone, kim, definition):
    FormSubmissionFactory(
        client=kim,
        definition=definition,
        status=SubmissionStatus.NEEDS_MORE,
        needs_more_note="Page 2 please",
    )
    home = kim_phone.get(reverse("clients:portal_home")).content.decode()
    assert 'id="forms-tile"' in home
    assert "needs more for 1 form" in home
    listed = kim_phone.get(reverse("eforms:portal_list")).content.decode()
    assert "Page 2 please" in listed


def test_the_file_buttons_save_the_screen_first_and_point_only_at_its_own_files(
    kim_phone, kim, definition
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sprechstunde.documents.factories import jpeg_bytes

    submission = FormSubmissionFactory(client=kim, definition=definition)
    proof = section_url(submission, "proof")
    go = kim_phone.post(proof, {"action": "attach:payslip", "revision": submission.revision})
    assert go.status_code == 302
    assert go["Location"] == reverse(
        "eforms:portal_attach", kwargs={"pk": submission.pk, "field": "payslip"}
    )
    # The screen was saved on the way (the draft's revision moved on).
    submission.refresh_from_db()
    assert submission.revision >= 1
    # A button naming another screen's question, or no attachment question, is not found
    # and saves nothing.
    bank = section_url(submission, "bank")
    before = submission.revision
    for url, action in ((bank, "attach:payslip"), (proof, "attach:iban"), (proof, "detach:x")):
        response = kim_phone.post(
            url, {"action": action, "revision": before, "account_holder": "Kim"}
        )
        assert response.status_code == 404
    submission.refresh_from_db()
    assert submission.revision == before
    assert "account_holder" not in submission.answers

    kim_phone.post(
        go["Location"],
        {"files": SimpleUploadedFile("photo.jpg", jpeg_bytes(), content_type="image/jpeg")},
    )
    attachment = submission.attachments.get()
    submission.refresh_from_db()
    removed = kim_phone.post(
        proof, {"action": f"detach:{attachment.pk}", "revision": submission.revision}
    )
    assert removed.status_code == 302
    assert removed["Location"].endswith("#field-payslip")
    assert not submission.attachments.exists()
