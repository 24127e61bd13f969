"""Issue 15, item 3, in Chromium: a team lead opens the templates from the navigation, edits a
shipped decision template, first gets the lint's message at the legal remedy field with her
text kept, then saves a draft, previews it with sample data (page and PDF) and publishes it; a
case manager is then offered the new version, while a decision issued before keeps version 1.

The UI is German (locale de-DE), so elements are found by id and data attributes.
"""

from __future__ import annotations

from typing import Any

import pytest

from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory, TeamLeadFactory
from sprechstunde.agreements import selectors
from sprechstunde.agreements.factories import portal_client
from sprechstunde.agreements.models import Decision, DecisionTemplate
from sprechstunde.agreements.services import decision_create
from sprechstunde.agreements.shipped_templates import shipped_templates_ensure

from .support.checks import page_problems

pytestmark = pytest.mark.browser

NEW_SENTENCE = "Die Fahrkarte legen Sie bitte beim nächsten Termin vor."


def test_a_team_lead_edits_previews_and_publishes_a_decision_template(
    live_app, new_context, screenshots
):
    team = TeamFactory(name="Team Nord")
    lead = TeamLeadFactory(team=team, email="tl.nord@jobcenter.example")
    case_manager = CaseManagerFactory(team=team, email="fm.nord@jobcenter.example")
    client = portal_client(case_manager=case_manager, email="mara@example.org")
    shipped_templates_ensure()
    v1 = DecisionTemplate.objects.get(key="fahrkosten-termin")
    earlier: Any = decision_create(
        actor=case_manager,
        client=client,
        template=v1,
        values={
            "antragsdatum": "2026-11-20",
            "termin_datum": "2026-11-18",
            "termin_anlass": "Beratung",
            "verkehrsmittel": "Fahrrad",
            "betrag": "0,00",
        },
    )

    page = new_context("desktop", user=lead).new_page()
    page.goto("/")
    page.locator("nav.site-nav a[href$='/vorlagen/']").click()
    page.wait_for_url("**/vorlagen/")
    assert page.locator("#decision-template-table").count() == 1
    problems = page_problems(page, touch_targets=False)
    screenshots(page, "list")

    page.locator(f"#decision-template-table a:text-is('{v1.title}')").click()
    page.locator("#template-edit").click()
    body = page.locator("#id_body")
    body.fill(body.input_value() + "\n\n" + NEW_SENTENCE)
    # Without the Rechtsbehelfsbelehrung the draft is refused at that field, nothing lost.
    page.locator("#id_legal_remedy").fill("Bei Fragen rufen Sie uns an.")
    page.locator("[data-action=save-template]").click()
    remedy_field = page.locator(".field", has=page.locator("#id_legal_remedy"))
    assert "Rechtsbehelfsbelehrung" in remedy_field.locator(".errorlist").inner_text()
    assert NEW_SENTENCE in page.locator("#id_body").input_value()
    problems += page_problems(page, touch_targets=False)
    screenshots(page, "lint")
    assert DecisionTemplate.objects.filter(key="fahrkosten-termin").count() == 1

    page.locator("#id_legal_remedy").fill(v1.legal_remedy)
    page.locator("[data-action=save-template]").click()
    page.wait_for_selector("#template-publish")
    draft = DecisionTemplate.objects.get(key="fahrkosten-termin", version=2)
    assert not draft.is_published
    assert "Entwurf" in page.locator("#template-state").inner_text()

    page.locator("#template-preview").click()
    page.wait_for_selector("#decision-document")
    document = page.locator("#decision-document").inner_text()
    assert NEW_SENTENCE in document and "123,45 €" in document and "{{" not in document
    assert "Widerspruch" in document
    problems += page_problems(page, touch_targets=False)
    screenshots(page, "preview")
    pdf_href = page.locator("#template-preview-pdf").get_attribute("href")
    pdf = page.request.get(live_app.url_for(pdf_href))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    # Until published, case managers are still offered version 1.
    offered = {t.key: t for t in selectors.decision_templates_offered()}
    assert offered["fahrkosten-termin"].pk == v1.pk

    page.go_back()
    page.locator("#template-publish").click()
    page.wait_for_selector(".message--success")
    assert "veröffentlicht" in page.locator("#template-state").inner_text()
    screenshots(page, "published")

    offered = {t.key: t for t in selectors.decision_templates_offered()}
    assert offered["fahrkosten-termin"].pk == draft.pk
    assert Decision.objects.get(pk=earlier.pk).template_id == v1.pk
    assert not problems, problems
