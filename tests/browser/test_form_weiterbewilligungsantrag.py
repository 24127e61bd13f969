"""The application for the next period ("Weiterbewilligungsantrag") on a 360 x 640 phone in
German, both ways:
- something changed: the rent went up (amounts, the date and the landlord's letter as a
  photo) and the bank account is new; an IBAN with a wrong check digit is named at its
  field and the account holder typed stays; review, one-time code (a wrong one first), sent;
- nothing changed: "No" leads from the first screen straight to the review, and the form is
  sent with that one answer.
Nothing is wider than the screen.
Screenshot: docs/screenshots/form-weiterbewilligungsantrag-360.png.
"""

from __future__ import annotations

import pytest

from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormSubmission

from .support.form_journey import FormJourney, definitions_loaded, form_client, phone_page, photo

pytestmark = pytest.mark.browser

WRONG_IBAN = "DE89 3704 0044 0532 0130 01"
RIGHT_IBAN = "DE89 3704 0044 0532 0130 00"


def test_client_applies_again_with_a_higher_rent_and_a_new_account(
    new_context, screenshots, documents_configured
):
    definitions_loaded()
    client = form_client(language="de")
    journey = FormJourney(phone_page(new_context, client), screenshots, "weiterbewilligungsantrag")

    pk = journey.start()
    journey.on_section("start")
    journey.check("start")
    journey.choose("changed", "yes")
    journey.next()

    journey.on_section("household")
    journey.choose("household_changed", "no")
    journey.next()
    journey.on_section("income")
    journey.choose("income_changed", "no")
    journey.next()

    journey.on_section("housing")
    journey.choose("housing_changed", "yes")
    journey.fill("new_rent", "612,40")
    journey.fill("new_heating", "85")
    journey.fill("housing_from", "2027-01-01")
    journey.check("housing")
    # Going on without the landlord's letter: the missing attachment is named at its field,
    # the amounts are kept.
    journey.next()
    journey.on_section("housing")
    assert journey.errors() == ["rent_letter"]
    assert journey.value("new_rent") == "612,40"
    journey.attach("rent_letter", [photo("mieterhoehung-1.jpg"), photo("mieterhoehung-2.jpg")])
    assert journey.value("new_heating") == "85,00"
    journey.next()

    journey.on_section("assets")
    journey.choose("assets_changed", "no")
    journey.next()

    journey.on_section("bank")
    journey.choose("bank_changed", "yes")
    journey.fill("wba_iban", WRONG_IBAN)
    journey.fill("wba_account_holder", "Amira Haddad")
    journey.next()
    journey.on_section("bank")
    assert journey.errors() == ["wba_iban"]
    assert "IBAN" in journey.error("wba_iban")
    assert journey.value("wba_iban") == WRONG_IBAN
    assert journey.value("wba_account_holder") == "Amira Haddad"
    journey.check("bank-error")
    journey.keep_screenshot()
    journey.fill("wba_iban", RIGHT_IBAN)
    journey.next()

    journey.on_section("more")
    journey.next()

    review = journey.review()
    housing = review.get_by_test_id("review-housing").inner_text()
    assert "612,40" in housing and "85,00" in housing
    assert RIGHT_IBAN in review.get_by_test_id("review-bank").inner_text()
    journey.confirm(client.user.email)

    submission = FormSubmission.objects.get(pk=pk)
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.answers == {
        "changed": "yes",
        "household_changed": "no",
        "income_changed": "no",
        "housing_changed": "yes",
        "new_rent": "61240",
        "new_heating": "8500",
        "housing_from": "2027-01-01",
        "assets_changed": "no",
        "bank_changed": "yes",
        "wba_iban": "DE89370400440532013000",
        "wba_account_holder": "Amira Haddad",
    }
    assert submission.attachments.filter(field_key="rent_letter").count() == 1
    journey.assert_fine()


def test_nothing_changed_goes_straight_to_the_review(new_context, screenshots):
    definitions_loaded()
    client = form_client(language="de", email="kim@example.org")
    journey = FormJourney(phone_page(new_context, client), screenshots, "weiterbewilligungsantrag")

    pk = journey.start()
    journey.on_section("start")
    journey.choose("changed", "no")
    # The hint for the fast path shows once "No" is chosen.
    journey.page.locator("#field-fast_path_info").wait_for(state="visible")
    journey.next()

    review = journey.review()
    assert [
        element.get_attribute("data-testid")
        for element in review.locator("[data-testid^='review-']").all()
    ] == ["review-start"]
    journey.confirm(client.user.email, wrong_code_first=False)

    submission = FormSubmission.objects.get(pk=pk)
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.answers == {"changed": "no"}
    journey.assert_fine()
