"""The request to be away ("Ortsabwesenheit", decided by staff) on a 360 x 640 phone in
German: the last day before the first is named at the field and nothing typed is lost;
more than 21 days is not blocked (the help text explains § 7b SGB II, staff decide);
review, one-time code (a wrong one first), sent. Then the case manager refuses it at her
desk, first without a reason (refused: a refusal needs one), then with one, and the client
sees the decision and the reason on her phone.
Screenshot: docs/screenshots/form-ortsabwesenheit-360.png."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from sprechstunde.eforms.choices import SubmissionOutcome, SubmissionStatus
from sprechstunde.eforms.models import FormSubmission

from .support.form_journey import FormJourney, definitions_loaded, form_client, phone_page

pytestmark = pytest.mark.browser

REASON = (
    "Für diese Zeit ist ein Vorstellungsgespräch geplant. Bitte kommen Sie am 14. Januar zu uns."
)


def test_client_asks_to_be_away_and_sees_the_refusal_with_its_reason(new_context, screenshots):
    definitions_loaded()
    client = form_client(language="de")
    journey = FormJourney(phone_page(new_context, client), screenshots, "ortsabwesenheit")
    today = timezone.localdate()
    away_from = today + datetime.timedelta(days=14)
    away_to = away_from + datetime.timedelta(days=24)  # more than 21 days: staff decide

    pk = journey.start()
    journey.on_section("dates")
    page = journey.page
    assert "§ 7b SGB II" in page.locator("main").inner_text()
    journey.fill("away_from", away_from.isoformat())
    journey.fill("away_to", (away_from - datetime.timedelta(days=2)).isoformat())
    journey.next()
    message = journey.error("away_to")
    assert "Erster Tag weg" in message
    assert journey.errors() == ["away_to"]
    assert journey.value("away_from") == away_from.isoformat()
    journey.check("dates-error")
    journey.keep_screenshot()
    journey.fill("away_to", away_to.isoformat())
    journey.next()

    journey.on_section("where")
    journey.check("where")
    journey.fill("destination", "Türkei, İzmir")
    journey.choose("reachable_by_phone", "yes")
    journey.fill("away_phone", "+90 532 123 45 67")
    journey.next()

    journey.on_section("reason")
    journey.choose("reason", "family")
    journey.fill("note", "Meine Mutter wird operiert, ich pflege sie danach.")
    journey.check("reason")
    journey.next()

    review = journey.review()
    assert "Türkei, İzmir" in review.get_by_test_id("review-where").inner_text()
    assert "Familie besuchen" in review.get_by_test_id("review-reason").inner_text()
    journey.confirm(client.user.email)

    submission = FormSubmission.objects.get(pk=pk)
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.answers["away_to"] == away_to.isoformat()
    assert submission.answers["reachable_by_phone"] == "yes"

    # The case manager refuses it at her desk; a refusal without a reason is refused.
    desk = new_context("desktop", user=client.case_manager).new_page()
    desk.goto(reverse("eforms:staff_submission", args=[pk]))
    desk.locator("#step-decide [data-step=refuse]").click()
    desk.locator("#decide-reason[aria-invalid=true]").wait_for()
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.RECEIVED
    desk.locator("#decide-reason").fill(REASON)
    desk.locator("#step-decide [data-step=refuse]").click()
    desk.locator("#step-decide").wait_for(state="detached")
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.DONE
    assert submission.outcome == SubmissionOutcome.REFUSED
    assert submission.outcome_reason == REASON

    # She sees the decision and the reason on her phone.
    page.goto(reverse("eforms:portal_detail", args=[pk]))
    assert page.get_by_test_id("outcome-reason").inner_text() == REASON
    with translation.override("de"):
        refused = gettext("Refused")
    assert page.get_by_test_id("form-status").inner_text() == refused
    journey.check("decided")
    journey.assert_fine()
