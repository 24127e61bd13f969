"""The sick note ("Arbeitsunfähigkeit") on a 360 x 640 phone in Arabic, right to left: an
end before the start and a missing photo are named at their fields in Arabic, and what was
typed stays; the photo goes through the upload page; review, one-time code, sent. Every
screen is `dir=rtl`, and nothing is wider than the screen.
Screenshot (Arabic): docs/screenshots/form-arbeitsunfaehigkeit-360.png."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormSubmission

from .support.form_journey import FormJourney, definitions_loaded, form_client, phone_page, photo

pytestmark = pytest.mark.browser

ARABIC = re.compile(r"[\u0600-\u06ff]")


def test_client_sends_a_sick_note_in_arabic(new_context, screenshots, documents_configured):
    definitions_loaded()
    client = form_client(language="ar", email="amira.ar@example.org")
    journey = FormJourney(
        phone_page(new_context, client, language="ar"),
        screenshots,
        "arbeitsunfaehigkeit",
        language="ar",
    )
    today = timezone.localdate()
    sick_from = today - datetime.timedelta(days=1)
    sick_to = today + datetime.timedelta(days=4)

    pk = journey.start()
    journey.on_section("dates")
    page = journey.page
    assert "كم مدة مرضك؟" in page.locator("h1").inner_text()
    # She types the dates the wrong way round: the message is at "until", in Arabic.
    journey.fill("sick_from", sick_from.isoformat())
    journey.fill("sick_to", (sick_from - datetime.timedelta(days=3)).isoformat())
    journey.choose("certificate_kind", "first")
    journey.next()
    message = journey.error("sick_to")
    assert ARABIC.search(message), message
    assert "مريض من" in message  # names the other question ("Ill from")
    assert journey.errors() == ["sick_to"]
    assert journey.value("sick_from") == sick_from.isoformat()
    assert page.get_by_test_id("certificate_kind-first").is_checked()
    journey.check("dates-error")
    journey.keep_screenshot()

    journey.fill("sick_to", sick_to.isoformat())
    journey.next()
    journey.on_section("photo")
    # Going on without the photo: the required attachment is named at its field.
    journey.check("photo")
    journey.next()
    journey.on_section("photo")
    assert ARABIC.search(journey.error("sick_note"))
    journey.attach("sick_note", [photo("au-bescheinigung.jpg")])
    journey.fill("note", "كان لدي موعد يوم الخميس")
    journey.next()

    page = journey.review()
    answers = page.get_by_test_id("review-dates").inner_text()
    assert "(Erstbescheinigung)" in answers
    journey.confirm(client.user.email)

    submission = FormSubmission.objects.get(pk=pk)
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.answers == {
        "sick_from": sick_from.isoformat(),
        "sick_to": sick_to.isoformat(),
        "certificate_kind": "first",
        "note": "كان لدي موعد يوم الخميس",
    }
    assert submission.attachments.filter(field_key="sick_note").count() == 1
    journey.assert_fine()
