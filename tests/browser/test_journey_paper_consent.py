"""A client without a smartphone signs the video consent on paper at the desk; the case manager
records it from the client's page, later records the withdrawal that came by post. German UI,
as the case manager's browser asks for it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentMethod
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent
from sprechstunde.clients.selectors import consent_text_current

pytestmark = pytest.mark.browser


def test_a_consent_and_its_withdrawal_received_on_paper(live_app, new_context, screenshots):
    case_manager = CaseManagerFactory(first_name="Frieda", last_name="Fallmann")
    client = ClientFactory(case_manager=case_manager, first_name="Omar", last_name="Haddad")
    text = consent_text_current(purpose="video", language="de")
    page = new_context("desktop", user=case_manager).new_page()
    detail = live_app.url_for(reverse("clients:detail", args=[client.pk]))

    page.goto(detail)
    row = page.locator("tbody tr", has_text="Video")
    row.get_by_role("link", name="Einwilligung eintragen").click()
    page.wait_for_url(re.compile(r"/einwilligung/video/papier/$"))
    page.get_by_role("heading", name=text.title).wait_for()
    screenshots(page, "paper-consent-form")

    # Printed for the client to sign: the text, the client's name and a place to sign, in the
    # text's language; nothing to click.
    page.emulate_media(media="print")
    assert page.get_by_text("Ich, Omar Haddad, willige in das oben Beschriebene ein.").is_visible()
    assert page.get_by_text("Unterschrift", exact=True).is_visible()
    assert not page.get_by_role("button", name="Einwilligung eintragen").is_visible()
    assert not page.get_by_role("navigation").first.is_visible()
    screenshots(page, "paper-consent-printed")
    page.emulate_media(media="screen")
    assert not page.get_by_text("Unterschrift", exact=True).is_visible()

    # Saved without ticking the confirmation: refused, in German, nothing recorded.
    page.get_by_role("button", name="Einwilligung eintragen").click()
    page.get_by_text("Bitte bestätigen Sie, dass Ihnen das unterschriebene Formular").wait_for()
    assert not Consent.objects.filter(client=client).exists()

    page.get_by_label(re.compile("Mir liegt dieser Text")).check()
    page.get_by_role("button", name="Einwilligung eintragen").click()
    page.wait_for_url(detail)
    page.get_by_text("auf Papier ist eingetragen").wait_for()
    screenshots(page, "paper-consent-recorded")
    consent = Consent.objects.get(client=client, purpose="video")
    assert (consent.given_method, consent.text, consent.withdrawn_at) == (
        ConsentMethod.PAPER,
        text,
        None,
    )
    assert "erteilt" in row.inner_text()

    # Weeks later the withdrawal arrives by post.
    row.get_by_role("link", name="Widerruf eintragen").click()
    page.get_by_label(re.compile("Mir liegt der .* unterschriebene Widerruf vor")).check()
    page.get_by_role("button", name="Widerruf eintragen").click()
    page.wait_for_url(detail)
    consent.refresh_from_db()
    assert consent.withdrawn_method == ConsentMethod.PAPER
    assert "widerrufen" in row.inner_text()
    actions = list(
        AuditEntry.objects.filter(actor_id=case_manager.pk, action__startswith="consent.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["consent.give", "consent.withdraw"]
