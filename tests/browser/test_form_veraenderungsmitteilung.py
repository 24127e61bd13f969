"""The change report ("Veränderungsmitteilung") on a 360 x 640 phone in German: going on
without choosing what changed is named at the question; choosing "income" shows the income
section only; an amount typed as a word is named at its field and the other answers stay;
a payslip photo goes through the upload page; review, one-time code (a wrong one first),
sent. Nothing is wider than the screen.
Screenshot: docs/screenshots/form-veraenderungsmitteilung-360.png."""

from __future__ import annotations

import pytest
from django.utils import translation

from sprechstunde.eforms import fields
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormSubmission

from .support.form_journey import FormJourney, definitions_loaded, form_client, phone_page, photo

pytestmark = pytest.mark.browser


def test_client_reports_new_income_with_a_payslip(new_context, screenshots, documents_configured):
    definitions_loaded()
    client = form_client(language="de")
    journey = FormJourney(phone_page(new_context, client), screenshots, "veraenderungsmitteilung")

    pk = journey.start()
    journey.on_section("what")
    journey.check("what")
    journey.next()
    with translation.override("de"):
        required = str(fields.REQUIRED)
    assert journey.error("change_kind") == required
    journey.choose("change_kind", "income")
    journey.next()

    journey.on_section("income")
    page = journey.page
    journey.select("income_kind", "minijob")
    journey.fill("income_gross", "fünfhundert")
    journey.fill("income_net", "538,00")
    journey.fill("income_from", "2026-11-01")
    journey.next()
    journey.on_section("income")
    assert journey.errors() == ["income_gross"]
    with translation.override("de"):
        invalid_amount = str(fields.parse_money({"type": "money"}, "fünfhundert")[1])
    assert journey.error("income_gross") == invalid_amount
    # Nothing she typed is lost: the wrong amount stays to be corrected, the rest is kept.
    assert journey.value("income_gross") == "fünfhundert"
    assert journey.value("income_net") == "538,00"
    assert page.locator("select[name=income_kind]").input_value() == "minijob"
    journey.check("income-error")
    journey.keep_screenshot()

    # "Add a photo or file" saves the screen first: with the wrong amount still there she
    # stays, with the message, and loses nothing.
    with page.expect_navigation():
        page.get_by_test_id("attach-payslip").click()
    journey.on_section("income")
    assert journey.errors() == ["income_gross"]
    assert journey.value("income_gross") == "fünfhundert"
    # She corrects the amount; then the photo.
    journey.fill("income_gross", "538")
    journey.attach("payslip", [photo("lohnabrechnung-november.jpg")])
    assert journey.value("income_net") == "538,00"
    assert journey.value("income_gross") == "538,00"  # saved, shown as an amount
    journey.next()
    journey.on_section("more")
    journey.check("more")
    journey.next()

    review = journey.review()
    income = review.get_by_test_id("review-income").inner_text()
    assert "538,00" in income
    assert "Minijob" in income
    assert review.get_by_test_id("review-address").count() == 0
    assert review.get_by_test_id("review-bank").count() == 0
    journey.confirm(client.user.email)

    submission = FormSubmission.objects.get(pk=pk)
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.answers == {
        "change_kind": "income",
        "income_kind": "minijob",
        "income_gross": "53800",
        "income_net": "53800",
        "income_from": "2026-11-01",
    }
    assert submission.attachments.filter(field_key="payslip").count() == 1
    journey.assert_fine()
