"""Issue 6's journey in Chromium: in a video call's side panel the case manager drafts a
cooperation plan and issues it; the client reads it on a phone and comments; the case manager
fills a decision from a template and issues it; it is sealed (PAdES B-LT against the loopback
test PKI) and put in the client's postbox; the client opens it first on the phone; the delivery
log shows "provided, notified, opened"; the PDF the client downloads passes poppler's pdfsig.

Also: plans and decisions read as reflowed pages at 360 px (no horizontal scrolling, readable
text, the PDF one tap away), even with long unbroken words.

The browser runs with locale de-DE and the German UI, so elements are found by id, data
attributes and roles. The live server runs in this process, and tasks run at once
(ImmediateBackend), so the seal and the postbox notice are done when the page answers;
`seal_pki` points the SEAL_* settings at the loopback PKI for the server thread too.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
from sprechstunde.agreements.choices import DecisionStatus, DeliveryEventKind
from sprechstunde.agreements.factories import (
    DecisionTemplateFactory,
    PlanTemplateFactory,
    decision_in_postbox_for,
    plan_issued_for,
    portal_client,
)
from sprechstunde.agreements.models import CooperationPlan, Decision, PlanComment, PlanVersion
from sprechstunde.video_calls.factories import VideoAppointmentFactory, video_consent

from .support.checks import page_problems

pytestmark = pytest.mark.browser

CLIENT_EMAIL = "jonas.berger@example.org"
SEAL_TIMEOUT_MS = 90_000  # render + seal (B-LT: time stamp, OCSP and CRL on loopback)
# An unbroken word longer than a 360 px screen: it must wrap, not widen the page.
LONG_WORD = "Grundsicherungsleistungsberechtigtenbescheinigungsausstellungsverfahren" * 2

LAYOUT_SCRIPT = """() => {
  const root = document.documentElement;
  const doc = document.querySelector('.agreement-doc');
  const texts = Array.from(doc.querySelectorAll('p, li'));
  return {
    scrollWidth: root.scrollWidth,
    innerWidth: window.innerWidth,
    smallestFont: Math.min(...texts.map(el => parseFloat(getComputedStyle(el).fontSize))),
    widestText: Math.max(...texts.map(el => el.getBoundingClientRect().right)),
  };
}"""


def _client_with_portal(case_manager: Any) -> Any:
    """A client who uses the portal in German, consented to electronic delivery and video."""
    client = portal_client(case_manager=case_manager, email=CLIENT_EMAIL)
    client.preferred_language = "de"
    client.first_name, client.last_name = "Jonas", "Berger"
    client.save()
    client.user.preferred_language = "de"
    client.user.first_name, client.user.last_name = "Jonas", "Berger"
    client.user.save()
    video_consent(client)
    return client


def assert_reads_on_a_phone(page: Any, pdf_action: str) -> None:
    """The page reflows at 360 px: no horizontal scrolling, text at least 16 px, nothing wider
    than the screen, and the PDF link present with a touch target of at least 44 x 44 px."""
    layout = page.evaluate(LAYOUT_SCRIPT)
    assert layout["innerWidth"] == 360
    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert layout["widestText"] <= layout["innerWidth"], layout
    assert layout["smallestFont"] >= 16, layout
    link = page.locator(f"[data-action={pdf_action}]")
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= layout["innerWidth"], box


def _open_from_panel(call_page: Any, action: str) -> Any:
    """The side panel opens plan and decision in a new tab, so the call goes on."""
    with call_page.context.expect_page() as opened:
        call_page.locator(f"#agreements-panel [data-action={action}]").click()
    page = opened.value
    page.wait_for_load_state()
    return page


def test_plan_and_decision_from_the_call_to_the_phone_sealed_and_logged(
    live_app, new_context, screenshots, seal_pki, tmp_path
):
    team = TeamFactory(name="Team Süd")
    case_manager = CaseManagerFactory(
        team=team, email="fm.sued@jobcenter.example", first_name="Petra", last_name="Plan"
    )
    client = _client_with_portal(case_manager)
    PlanTemplateFactory()
    DecisionTemplateFactory()
    appointment = VideoAppointmentFactory(case_manager=case_manager, client=client)
    mail.outbox.clear()

    # 1. In the video call's side panel, the case manager drafts a plan and issues it.
    desk = new_context("desktop", user=case_manager)
    call = desk.new_page()
    call.goto(reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}))
    call.locator("#agreements-panel").wait_for()
    screenshots(call, "call-side-panel")
    problems = page_problems(call, touch_targets=False)
    plan_page = _open_from_panel(call, "draft-plan")
    assert re.search(r"/vereinbarungen/plan/\d+/$", plan_page.url), plan_page.url
    plan = CooperationPlan.objects.get(client=client)
    assert plan.appointment_id == appointment.pk

    plan_page.fill("#id_goals", "Eine Stelle als Fachkraft für Lagerlogistik\nStaplerschein")
    plan_page.fill("#id_step_0_what", "Drei Bewerbungen pro Monat schreiben")
    plan_page.fill("#id_step_0_who", "Herr Berger")
    plan_page.fill(
        "#id_step_0_by", (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    )
    plan_page.fill("#id_step_1_what", f"Anmeldung zum Staplerkurs ({LONG_WORD})")
    plan_page.fill("#id_step_1_who", "Jobcenter")
    plan_page.fill("#id_support", "Übernahme der Kursgebühr\nVermittlungsvorschläge")
    review_on = timezone.localdate() + datetime.timedelta(days=90)
    plan_page.fill("#id_review_on", review_on.isoformat())
    screenshots(plan_page, "plan-draft")
    problems += page_problems(plan_page, touch_targets=False)
    plan_page.locator("[data-action=issue-plan]").click()
    plan_page.locator("#plan-state[data-version='1']").wait_for()
    screenshots(plan_page, "plan-issued")
    version = PlanVersion.objects.get(plan=plan)
    assert bytes(version.pdf).startswith(b"%PDF")
    assert version.review_on == review_on
    assert [step["who"] for step in version.content["steps"]] == ["Herr Berger", "Jobcenter"]

    # 2. The client reads it on a phone (portal home → postbox → the plan) and
    # comments.
    phone = new_context("phone", user=client.user).new_page()
    phone.goto(reverse("clients:portal_home"))
    phone.locator("#postbox-tile").click()
    phone.wait_for_url(re.compile(r"/vereinbarungen/portal/$"))
    phone.locator(f"[data-plan='{plan.pk}']").click()
    phone.wait_for_url(re.compile(rf"/vereinbarungen/portal/plan/{plan.pk}/$"))
    assert "Drei Bewerbungen pro Monat schreiben" in phone.locator("#plan-content").inner_text()
    assert_reads_on_a_phone(phone, "plan-pdf")
    screenshots(phone, "client-reads-plan")
    problems += page_problems(phone, touch_targets=True)
    phone.fill("#id_body", "Ich möchte den Staplerkurs lieber im Frühjahr machen.")
    phone.locator("#comment-form [type=submit]").click()
    phone.locator("#plan-comments li[data-side='client']").wait_for()
    screenshots(phone, "client-commented")
    comment = PlanComment.objects.get(plan=plan)
    assert comment.side == "client" and comment.version == 1
    plan_page.reload()
    assert "Frühjahr" in plan_page.locator("#plan-comments li[data-side='client']").inner_text()

    # 3. From the panel again, the case manager fills a decision from the template and issues
    # it; 4. it is sealed and delivered to the postbox with a content-free notice.
    decision_page = _open_from_panel(call, "fill-decision")
    assert "/bescheid/neu/" in decision_page.url
    decision_page.fill("#id_field_antragsdatum", "2026-01-15")
    decision_page.fill("#id_field_betrag", "1.234,50")
    decision_page.fill("#id_field_begruendung", "Die Bewerbungen sind belegt.")
    screenshots(decision_page, "decision-fields")
    decision_page.locator("[data-action=save-decision]").click()
    decision_page.wait_for_url(re.compile(r"/vereinbarungen/bescheid/\d+/$"))
    decision = Decision.objects.get(client=client)
    assert decision.appointment_id == appointment.pk
    assert "1.234,50" in decision_page.locator("#decision-document").inner_text()
    screenshots(decision_page, "decision-preview")
    problems += page_problems(decision_page, touch_targets=False)
    with decision_page.expect_navigation(timeout=SEAL_TIMEOUT_MS):
        decision_page.locator("[data-action=issue-decision]").click()
    decision_page.locator("#decision-state[data-status='in_postbox']").wait_for()
    screenshots(decision_page, "decision-sealed-in-postbox")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_POSTBOX
    assert bytes(decision.pdf).startswith(b"%PDF")
    notices = [m for m in mail.outbox if m.to == [CLIENT_EMAIL]]
    assert len(notices) == 2  # "a new plan" and "a new decision", both without content
    for notice in notices:
        assert "Berger" not in notice.body and "Bewerbungskosten" not in notice.body
        assert "1.234" not in notice.body

    # 5. The client opens the decision first, on the phone, and downloads the sealed PDF.
    phone.goto(reverse("agreements:portal"))
    phone.locator(f"[data-decision='{decision.pk}']").click()
    phone.wait_for_url(re.compile(rf"/vereinbarungen/portal/bescheid/{decision.pk}/$"))
    assert_reads_on_a_phone(phone, "decision-pdf")
    assert "Widerspruch" in phone.locator("#decision-document").inner_text()
    screenshots(phone, "client-reads-decision")
    problems += page_problems(phone, touch_targets=True)
    with phone.expect_download() as download_info:
        phone.locator("[data-action=decision-pdf]").click()
    download = download_info.value
    pdf_path = tmp_path / "bescheid.pdf"
    download.save_as(pdf_path)

    # The delivery log shows provided, notified, opened (in that order, the chain intact).
    decision_page.reload()
    kinds = decision_page.locator("#delivery-log li").evaluate_all(
        "items => items.map(item => item.dataset.kind)"
    )
    assert kinds == [
        DeliveryEventKind.SEALED,
        DeliveryEventKind.PROVIDED,
        DeliveryEventKind.NOTIFIED,
        DeliveryEventKind.OPENED,
    ], kinds
    assert decision_page.locator("#announced-on").is_visible()
    screenshots(decision_page, "delivery-log")
    with decision_page.expect_download() as log_info:
        decision_page.locator("[data-action=log-pdf]").click()
    log_path = tmp_path / "zustellnachweis.pdf"
    log_info.value.save_as(log_path)
    assert log_path.read_bytes().startswith(b"%PDF")

    # 6. The PDF the client downloaded passes poppler's pdfsig against the test trust root.
    assert pdf_path.read_bytes() == bytes(decision.pdf)
    result = seal_pki.pdfsig(pdf_path)
    assert "Signature Validation: Signature is Valid." in result.stdout, result.stdout
    assert "Signer Certificate Common Name: Test Jobcenter Seal" in result.stdout, result.stdout
    # B-LT: only the validation data (DSS) follows the seal, in a later revision.
    assert "- Not total document signed" in result.stdout, result.stdout
    assert result.stdout.count("Signature #") == 1, result.stdout

    assert problems == [], "\n".join(problems)


def test_plan_and_decision_reflow_at_360_px_with_long_words(live_app, new_context, screenshots):
    """Item 6: readable pages, not a squeezed A4, whatever the text holds."""
    case_manager = CaseManagerFactory(team=TeamFactory())
    client = _client_with_portal(case_manager)
    plan = plan_issued_for(client)
    # Issued versions are append-only: the long text goes into a second version.
    PlanVersion.objects.create(
        plan=plan,
        number=2,
        content={
            "title": "Kooperationsplan",
            "intro": f"Einleitung mit {LONG_WORD}",
            "goals": [f"Ziel {LONG_WORD}", "Zweites Ziel"],
            "steps": [{"what": LONG_WORD, "who": LONG_WORD, "by": "2030-01-31"}],
            "support": [f"https://example.org/{LONG_WORD}"],
            "closing": "",
        },
        review_on=plan.review_on,
        issued_at=timezone.now(),
        pdf=b"%PDF-1.7 sample",
        pdf_sha256="0" * 64,
    )
    CooperationPlan.objects.filter(pk=plan.pk).update(current_version=2)
    decision = decision_in_postbox_for(client)
    decision.values = {**decision.values, "begruendung": f"Begründung: {LONG_WORD}"}
    decision.save()

    phone = new_context("phone", user=client.user).new_page()
    phone.goto(reverse("agreements:portal_plan", kwargs={"pk": plan.pk}))
    assert LONG_WORD in phone.locator("#plan-content").inner_text()
    assert_reads_on_a_phone(phone, "plan-pdf")
    screenshots(phone, "plan-360")
    phone.goto(reverse("agreements:portal_decision", kwargs={"pk": decision.pk}))
    assert LONG_WORD in phone.locator("#decision-document").inner_text()
    assert_reads_on_a_phone(phone, "decision-pdf")
    screenshots(phone, "decision-360")
