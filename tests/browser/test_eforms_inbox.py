"""A case manager works through a request to be away (German UI, desktop): the forms inbox,
the form's page, "needs more" with what is missing (the client reads it in her messages and
sends the form again), taking it again, approving it with a reason, which the client sees on
her form's page. Every page passes axe and the keyboard walk (the client's on a phone)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.eforms.choices import SubmissionOutcome, SubmissionStatus
from sprechstunde.eforms.models import FormSubmission
from sprechstunde.eforms.tests import factories_staff as forms
from sprechstunde.messaging.factories import portal_client_create

from .support.checks import page_problems

pytestmark = pytest.mark.browser


def test_a_case_manager_asks_for_more_and_approves_a_request_to_be_away(new_context, screenshots):
    case_manager = CaseManagerFactory(first_name="Frauke", last_name="Maier")
    client = portal_client_create(
        case_manager=case_manager, email="leyla@example.org", first_name="Leyla", last_name="Demir"
    )
    client.user.preferred_language = "de"
    client.user.save(update_fields=["preferred_language"])
    submission = forms.submission(client)
    other = portal_client_create(
        case_manager=CaseManagerFactory(), email="x@example.org", last_name="Fremdling"
    )
    forms.submission(other)

    page = new_context("desktop", user=case_manager).new_page()
    page.goto(reverse("eforms:staff_inbox"))
    rows = page.locator("#form-inbox tbody tr")
    assert rows.count() == 1
    assert "Leyla Demir" in rows.first.inner_text()
    assert "Ortsabwesenheit beantragen" in rows.first.inner_text()
    assert "Fremdling" not in page.content()
    screenshots.take(page, "inbox")
    problems = page_problems(page, touch_targets=False)

    rows.first.get_by_role("link", name="Leyla Demir").click()
    page.wait_for_url(f"**{reverse('eforms:staff_submission', args=[submission.pk])}")
    assert "04.01.2027" in page.locator("[data-answer=away_from]").inner_text()
    assert "Familienbesuch" in page.locator("[data-answer=reason]").inner_text()
    problems += page_problems(page, touch_targets=False)

    page.locator("[data-step=take]").click()
    page.wait_for_load_state()
    assert page.locator("[data-state=in_progress]").first.is_visible()

    # An empty note is refused at the field; nothing changes.
    page.locator("[data-step=needs_more]").click()
    page.wait_for_load_state()
    assert page.locator("#needs-more-text").get_attribute("aria-invalid") == "true"
    assert "Bitte füllen Sie dieses Feld aus." in page.locator("#needs-more-error").inner_text()
    problems += page_problems(page, touch_targets=False)
    page.locator("#needs-more-text").fill("Bitte schicken Sie die Buchungsbestätigung der Reise.")
    page.locator("[data-step=needs_more]").click()
    page.wait_for_load_state()
    assert page.locator("[data-state=needs_more]").first.is_visible()
    assert "Buchungsbestätigung" in page.locator("#needs-more-note").inner_text()
    assert page.locator("[data-step=take]").count() == 0
    screenshots.take(page, "needs-more")
    problems += page_problems(page, touch_targets=False)

    # The client reads what is missing in her messages, in her language.
    phone = new_context("phone", user=client.user).new_page()
    phone.goto(reverse("messaging:portal"))
    text = phone.locator("main").inner_text()
    assert "Zu Ihrem Formular „Ortsabwesenheit beantragen“" in text
    assert "Buchungsbestätigung der Reise" in text
    screenshots.take(phone, "client-reads-what-is-missing")
    problems += page_problems(phone, touch_targets=True)
    # Her form is open again and says what is missing.
    phone.goto(reverse("eforms:portal_detail", args=[submission.pk]))
    assert "Buchungsbestätigung der Reise" in phone.locator("main").inner_text()

    # She sends the form again (the client side's own journey is eforms-core's test).
    forms.resubmit(FormSubmission.objects.get(pk=submission.pk))

    page.reload()
    page.locator("[data-step=take]").click()
    page.wait_for_load_state()
    page.locator("#decide-reason").fill("Gute Reise! Bitte melden Sie sich am 11.01. zurück.")
    page.locator("[data-step=approve]").click()
    page.wait_for_load_state()
    outcome = page.locator("#submission-outcome").inner_text()
    assert "Gute Reise!" in outcome
    assert page.locator("[data-step=approve]").count() == 0
    history = page.locator("#submission-history").inner_text()
    for step in ("übernommen", "nachgefordert", "erneut geschickt", "bewilligt"):
        assert step in history
    screenshots.take(page, "approved")
    problems += page_problems(page, touch_targets=False)

    # The client sees the decision and its reason on her form's page.
    phone.goto(reverse("eforms:portal_detail", args=[submission.pk]))
    assert phone.get_by_test_id("form-status").inner_text() == "Genehmigt"
    assert "Gute Reise!" in phone.get_by_test_id("outcome-reason").inner_text()
    screenshots.take(phone, "client-sees-the-decision")
    problems += page_problems(phone, touch_targets=True)

    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.DONE
    assert submission.outcome == SubmissionOutcome.APPROVED
    assert submission.outcome_reason.startswith("Gute Reise!")
    assert problems == [], "\n".join(problems)
