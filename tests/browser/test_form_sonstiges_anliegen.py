"""The free request ("Sonstiges Anliegen") on a 360 x 640 phone in German: a subject left
empty is named at the field and the message typed stays; a photo of the letter goes along;
review, one-time code (a wrong one first), sent. Nothing is wider than the screen.
Screenshot: docs/screenshots/form-sonstiges_anliegen-360.png."""

from __future__ import annotations

import pytest
from django.utils import translation

from sprechstunde.eforms import fields
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormSubmission

from .support.form_journey import FormJourney, definitions_loaded, form_client, phone_page, photo

pytestmark = pytest.mark.browser

MESSAGE = "Ich habe einen Brief vom 3. Dezember bekommen und verstehe den zweiten Absatz nicht."


def test_client_sends_a_free_request_with_a_photo(new_context, screenshots, documents_configured):
    definitions_loaded()
    client = form_client(language="de")
    journey = FormJourney(phone_page(new_context, client), screenshots, "sonstiges_anliegen")

    pk = journey.start()
    journey.on_section("request")
    journey.check("request")
    # She forgets the subject: the message says so at the field, her text stays.
    journey.fill("message", MESSAGE)
    journey.next()
    with translation.override("de"):
        required = str(fields.REQUIRED)
    assert journey.error("subject") == required
    assert journey.errors() == ["subject"]
    assert journey.value("message") == MESSAGE
    journey.check("request-error")
    journey.keep_screenshot()

    # The photo first: the upload page is a page of its own, and what is typed on this
    # screen is saved on the way there (see the test below).
    journey.attach("files", [photo("brief.jpg")])
    assert journey.value("message") == MESSAGE
    journey.fill("subject", "Frage zum Brief vom 3. Dezember")
    journey.next()

    page = journey.review()
    answers = page.get_by_test_id("review-request").inner_text()
    assert "Frage zum Brief vom 3. Dezember" in answers
    assert "zweiten Absatz" in answers
    journey.confirm(client.user.email)

    submission = FormSubmission.objects.get(pk=pk)
    assert submission.client == client
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.answers == {"subject": "Frage zum Brief vom 3. Dezember", "message": MESSAGE}
    assert submission.attachments.filter(field_key="files").count() == 1
    assert submission.pdf_document_id and submission.data_document_id
    journey.assert_fine()


def test_answers_typed_before_adding_a_photo_are_kept(
    new_context, screenshots, documents_configured
):
    definitions_loaded()
    client = form_client(language="de")
    journey = FormJourney(phone_page(new_context, client), screenshots, "sonstiges_anliegen")
    journey.start()
    journey.on_section("request")
    journey.fill("subject", "Frage zum Brief vom 3. Dezember")
    journey.fill("message", MESSAGE)
    journey.attach("files", [photo("brief.jpg")])
    assert journey.value("subject") == "Frage zum Brief vom 3. Dezember"
    assert journey.value("message") == MESSAGE
