"""The form engine in a real browser at 360 px, with the engine's sample definition: a wrong
IBAN gets its message at the field in German, an end before the start too; the draft is
saved and continued on a second device (a new login); a household entry is added; a photo
goes through the upload pipeline; the review shows every answer; the one-time code submits
the form and its PDF/A and JSON are stored as the client's documents."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sprechstunde.documents.services.export import read_for_export
from sprechstunde.documents.testing import photo_jpeg
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.factories import FormDefinitionFactory
from sprechstunde.eforms.models import FormSubmission

from .support.auth import latest_code_for, login_client_by_code
from .support.checks import page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
WRONG_IBAN = "DE88 3704 0044 0532 0130 00"
RIGHT_IBAN = "DE89 3704 0044 0532 0130 00"


def test_client_fills_a_form_on_two_phones_and_submits_it(
    new_context, live_app, screenshots, documents_configured
):
    world = build_world()
    FormDefinitionFactory(version=1)
    phone = new_context("phone", user=world.client_user).new_page()

    # (1) The forms list, reached from the menu; she starts the sample form.
    phone.goto(reverse("clients:portal_home"))
    phone.locator("#forms-tile").click()
    phone.locator("[data-testid=start-engine_sample]").click()
    phone.locator("[data-testid=progress]", has_text="Schritt 1 von 4").wait_for()
    screenshots(phone, "section-bank")
    problems = page_problems(phone, touch_targets=True)

    # (2) A wrong IBAN: the message stands at the field, in German; what she typed stays.
    phone.locator("#f-account_holder").fill("Klara Klient")
    phone.locator("#f-iban").fill(WRONG_IBAN)
    phone.locator("[data-testid=next]").click()
    error = phone.locator("[data-testid=error-iban]")
    error.wait_for(timeout=TIMEOUT_MS)
    assert "Prüfziffer" in error.inner_text()
    assert phone.locator("#f-iban").input_value() == WRONG_IBAN
    assert phone.locator("#f-account_holder").input_value() == "Klara Klient"
    screenshots(phone, "iban-error")
    problems += page_problems(phone, touch_targets=True)
    phone.locator("#f-iban").fill(RIGHT_IBAN)
    phone.locator("[data-testid=next]").click()

    # (3) An end before the start: the message at the end date; she fixes it and leaves.
    phone.locator("[data-testid=progress]", has_text="Schritt 2 von 4").wait_for()
    phone.locator("#f-job_start").fill("2026-11-10")
    phone.locator("#f-job_end").fill("2026-11-01")
    phone.locator("#f-salary").fill("1.850,00")
    assert phone.locator("#f-salary").get_attribute("inputmode") == "decimal"
    phone.locator("[data-testid=next]").click()
    end_error = phone.locator("[data-testid=error-job_end]")
    end_error.wait_for(timeout=TIMEOUT_MS)
    assert "darf nicht vor „Beginn der Arbeit“" in end_error.inner_text()
    phone.locator("#f-job_end").fill("2027-03-31")
    phone.locator("[data-testid=save-leave]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("eforms:portal_list")) + "$"))
    submission = FormSubmission.objects.get(client=world.client)
    assert submission.answers["job_end"] == "2027-03-31"
    assert submission.answers["iban"] == "DE89370400440532013000"

    # (4) Another phone: she logs in again and goes on where she stopped.
    other = new_context("phone").new_page()
    login_client_by_code(other, live_app, world.client_user.email)
    other.goto(reverse("eforms:portal_list"))
    other.locator("[data-testid=continue-engine_sample]").click()
    other.locator("[data-testid=progress]", has_text="Schritt 2 von 4").wait_for()
    assert other.locator("#f-salary").input_value() == "1850,00"
    assert other.locator("#f-job_start").input_value() == "2026-11-10"
    other.locator("[data-testid=next]").click()

    # (5) Household: "yes" shows the group (form.js); she adds a person.
    other.locator("[data-testid=progress]", has_text="Schritt 3 von 4").wait_for()
    assert other.locator("#field-members").is_hidden()
    other.locator("[data-testid=has_household-yes]").check()
    other.locator("#field-members").wait_for(state="visible")
    other.locator("[data-testid=add-members]").click()
    other.locator("#f-members-0-member_name").fill("Ada Klient")
    other.locator("#f-members-0-member_born").fill("2019-05-04")
    other.locator("[data-testid=reason-job]").check()
    screenshots(other, "household")
    problems += page_problems(other, touch_targets=True)
    other.locator("[data-testid=next]").click()

    # (6) The proof: a photo through the upload pipeline.
    other.locator("[data-testid=progress]", has_text="Schritt 4 von 4").wait_for()
    other.locator("[data-testid=next]").click()
    other.locator("[data-testid=error-payslip]").wait_for(timeout=TIMEOUT_MS)
    other.locator("[data-testid=attach-payslip]").click()
    other.locator("#id_camera").set_input_files(
        {
            "name": "vertrag.jpg",
            "mimeType": "image/jpeg",
            "buffer": photo_jpeg(size=(900, 1200), band=(30, 60, 200)),
        }
    )
    other.locator("[data-upload-item]").first.wait_for(timeout=TIMEOUT_MS)
    other.locator("[data-testid=attach-send]").click()
    other.locator("[data-testid=attachment-payslip]").wait_for(timeout=TIMEOUT_MS)
    other.locator("[data-testid=next]").click()

    # (7) The review shows every answer; the code confirms and submits.
    other.locator("[data-testid=send-code]").wait_for(timeout=TIMEOUT_MS)
    review = other.locator("main").inner_text()
    for shown in (RIGHT_IBAN, "Klara Klient", "Ada Klient", "Neue Arbeit", "Arbeit"):
        assert shown in review, shown
    assert re.search(r"1\.850,00\s€", review)
    screenshots(other, "review")
    problems += page_problems(other, touch_targets=True)
    other.locator("[data-testid=send-code]").click()
    other.locator("[data-testid=submit-form]").wait_for(timeout=TIMEOUT_MS)
    other.locator("#id_code").fill(latest_code_for(world.client_user.email))
    other.locator("[data-testid=submit-form]").click()
    other.locator("[data-testid=done]").wait_for(timeout=TIMEOUT_MS)
    screenshots(other, "done")
    problems += page_problems(other, touch_targets=True)

    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.submission_count == 1
    assert submission.attachments.get().document.client == world.client
    pdf, _type = read_for_export(submission.pdf_document)
    assert pdf.startswith(b"%PDF")
    data, _type = read_for_export(submission.data_document)
    assert b'"iban": "DE89370400440532013000"' in data
    assert not problems, "\n".join(problems)
