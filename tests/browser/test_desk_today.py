"""The today page in Chromium (German UI): a case manager lands on it, sees who waits in a
video call, the unread messages and the rest; a new message appears without a reload and is
announced in the status region. axe, the keyboard walk and CSP pass at 1280 and 1920 px, for
the case manager and for the team lead.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import (
    CaseManagerFactory,
    SubstitutionFactory,
    TeamFactory,
    TeamLeadFactory,
)
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.desk import testing
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.video_calls.factories import video_consent

from .support.checks import page_problems

pytestmark = pytest.mark.browser


def _caseload():
    team = TeamFactory(name="Team Ost")
    case_manager = CaseManagerFactory(team=team, first_name="Frauke", last_name="Maier")
    absent = CaseManagerFactory(team=team, first_name="Jonas", last_name="Urlaub")
    SubstitutionFactory(absent=absent, substitute=case_manager)
    team_lead = TeamLeadFactory(team=team, first_name="Tilda", last_name="Leitung")
    amira = portal_client_create(
        case_manager=case_manager,
        email="amira@example.org",
        first_name="Amira",
        last_name="Özdemir",
    )
    video_consent(amira)
    call = testing.appointment_at(
        amira, timezone.now() + datetime.timedelta(minutes=5), channel=Channel.VIDEO
    )
    testing.client_waiting_in_call(call)
    testing.appointment_at(
        amira,
        timezone.now() - datetime.timedelta(hours=2),
        status=AppointmentStatus.HELD,
    )
    testing.client_messages(amira, 2)
    testing.client_document(amira, title="Kontoauszug Mai")
    testing.overdue_request(amira, title="Mietvertrag")
    testing.decision_waiting_for_seal(amira)
    testing.plan_review_due(amira)
    colleague_client = portal_client_create(
        case_manager=absent, email="bo@example.org", first_name="Bo", last_name="Berger"
    )
    testing.client_document(colleague_client, title="Lohnzettel")
    return case_manager, team_lead, amira, colleague_client


def test_the_case_manager_starts_the_day_on_the_today_page(new_context):
    case_manager, _team_lead, _amira, colleague_client = _caseload()
    page = new_context("desktop", user=case_manager).new_page()

    page.goto("/")
    page.wait_for_url(f"**{reverse('desk:today')}")
    assert page.locator("h1").inner_text().startswith("Heute")
    assert page.locator("nav a[aria-current='page']").inner_text() == "Heute"
    waiting = page.locator("#desk-appointments .desk-appointment--waiting")
    assert "Wartet jetzt" in waiting.inner_text()
    assert "Amira Özdemir" in waiting.inner_text()
    assert "Gehalten" in page.locator("#desk-appointments").inner_text() or (
        "Stattgefunden" in page.locator("#desk-appointments").inner_text()
    )
    documents = page.locator("#desk-documents").inner_text()
    assert "Kontoauszug Mai" in documents
    assert "Lohnzettel" in documents
    assert "Vertretung für Jonas Urlaub" in documents
    assert page.locator("#desk-sections section h2").count() == 6
    assert page_problems(page, touch_targets=False) == []

    # A new message arrives: the section changes without a reload and the change is told.
    testing.client_messages(colleague_client, 1)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.locator("#desk-messages", has_text="Bo Berger").wait_for()
    page.wait_for_function("document.getElementById('desk-status').textContent.length > 0")
    assert "2" in page.locator("#desk-status").inner_text()

    page.set_viewport_size({"width": 1920, "height": 1080})
    assert page_problems(page, touch_targets=False) == []

    # The waiting client's entry leads into the call.
    page.locator("#desk-appointments .desk-appointment--waiting a.desk-entry__action").click()
    page.wait_for_url("**/video/termin/*/")


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_team_leads_today_page_passes_axe(new_context, width):
    _case_manager, team_lead, _amira, _colleague_client = _caseload()
    page = new_context(
        "desktop", user=team_lead, viewport={"width": width, "height": 900}
    ).new_page()
    page.goto(reverse("desk:today"))
    substitutions = page.locator("#desk-substitutions").inner_text()
    assert "Frauke Maier" in substitutions
    assert "Jonas Urlaub" in substitutions
    assert page_problems(page, touch_targets=False) == []
