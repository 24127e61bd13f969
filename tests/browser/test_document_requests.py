"""Document requests in a real browser: the case manager asks for a document at a desk, the
client sees it on the phone (portal card, to-do list, link to the upload page), the case
manager marks a checked document for the e-file and finds overdue requests. Every page passes
the accessibility, CSP and (on the phone) touch-target checks."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.documents.choices import RequestStatus
from sprechstunde.documents.models import Document, DocumentRequest

from .support.checks import page_problems
from .support.sample_data import build_world

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000


def test_request_a_document_and_the_client_sees_it_on_the_phone(new_context, screenshots):
    world = build_world()
    document = world.sample("efile_document")
    desk = new_context("desktop", user=world.case_manager).new_page()
    path = reverse("documents:client_documents", kwargs={"client_pk": world.client.pk})
    desk.goto(path)
    problems = page_problems(desk, touch_targets=False)

    due = timezone.localdate() + datetime.timedelta(days=10)
    desk.locator("#id_title").fill("Lohnabrechnung März")
    desk.locator("#id_due_on").fill(due.isoformat())
    desk.locator("#id_note").fill("Bitte alle Seiten.")
    desk.locator("#request-form [type=submit]").click()
    made = desk.locator("#request-table tr[data-status=open]")
    made.wait_for(timeout=TIMEOUT_MS)
    desk.locator(f"[data-efile-mark='{document.pk}']").click()
    desk.locator(f"[data-efile-unmark='{document.pk}']").wait_for(timeout=TIMEOUT_MS)
    screenshots(desk, "desk-requested")
    # Without the "#dokument-…" fragment of the redirect, so the keyboard walk starts at the top.
    desk.goto(path)
    problems += page_problems(desk, touch_targets=False)

    request = DocumentRequest.objects.get(title="Lohnabrechnung März")
    assert (request.due_on, request.note, request.status) == (
        due,
        "Bitte alle Seiten.",
        RequestStatus.OPEN,
    )
    document.refresh_from_db()
    assert document.is_in_efile

    phone = new_context("phone", user=world.client_user).new_page()
    phone.goto(reverse("clients:portal_home"))
    problems += page_problems(phone, touch_targets=True)
    phone.locator("#document-requests-tile").click()
    item = phone.locator(f"#open-requests [data-request-id='{request.pk}']")
    item.wait_for(timeout=TIMEOUT_MS)
    screenshots(phone, "phone-requests")
    problems += page_problems(phone, touch_targets=True)
    upload = item.locator(f"[data-upload-for='{request.pk}']").get_attribute("href")

    assert upload == f"{reverse('documents:upload')}?request={request.pk}"
    assert "Lohnabrechnung März" in item.inner_text()
    assert not problems, "\n".join(problems)


def test_overdue_requests_are_listed_for_the_team_lead(new_context, screenshots):
    world = build_world()
    world.sample("document_request")  # one open, one overdue
    page = new_context("phone", user=world.team_lead).new_page()

    page.goto(reverse("documents:requests_overdue"))
    rows = page.locator("#overdue-table tbody tr")
    rows.first.wait_for(timeout=TIMEOUT_MS)
    screenshots(page, "overdue")
    problems = page_problems(page, touch_targets=False)

    assert rows.count() == 1 and "Mietvertrag" in rows.first.inner_text()
    assert Document.objects.count() == 0
    assert not problems, "\n".join(problems)
