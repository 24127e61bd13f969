"""The accessibility statement (BITV 2.0): a public page linked from every footer, its
feedback form (valid, invalid, rate-limited) and the administrators' task list.

Visitors without a login get the default language, German, so the texts asserted are German.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accessibility.models import AccessibilityFeedback
from sprechstunde.accessibility.statement import GAPS
from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.agreements.factories import portal_client
from sprechstunde.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

STATEMENT = "/barrierefreiheit/"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _valid(**extra):
    return {
        "message": "The date field on the booking page cannot be used with a screen reader.",
        "page": "/termine/",
        "name": "A. Nutzer",
        "email": "nutzer@example.org",
        **extra,
    }


def test_the_statement_is_public_and_names_gaps_and_the_enforcement_body(client, settings):
    settings.ACCESSIBILITY_ENFORCEMENT_NAME = "Landesdurchsetzungsstelle Musterland"
    settings.ACCESSIBILITY_ENFORCEMENT_URL = "https://durchsetzung.example.org"
    assert reverse("accessibility:statement") == STATEMENT
    response = client.get(STATEMENT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Landesdurchsetzungsstelle Musterland" in page
    assert 'href="https://durchsetzung.example.org"' in page
    assert "teilweise mit den Anforderungen" in page
    for gap in GAPS:
        assert f'data-gap="{gap.key}"' in page
    assert 'id="feedback-send"' in page


def test_the_footer_links_the_statement_on_client_and_staff_pages(client, case_manager):
    kim = portal_client(case_manager=case_manager, email="kim@example.org")
    link = f'href="{STATEMENT}" id="footer-accessibility"'.encode()
    assert link in client.get(reverse("account_login")).content
    client.force_login(kim.user)
    assert link in client.get(reverse("clients:portal_home")).content
    client.force_login(case_manager)
    assert link in client.get(reverse("clients:list")).content


def test_valid_feedback_becomes_a_task_due_in_a_month(client, settings):
    settings.ACCESSIBILITY_FEEDBACK_ANSWER_DAYS = 30
    response = client.post(STATEMENT, _valid())
    assert response.status_code == 302
    feedback = AccessibilityFeedback.objects.get()
    assert feedback.due_on == timezone.localdate() + datetime.timedelta(days=30)
    assert feedback.email == "nutzer@example.org"
    assert feedback.page == "/termine/"
    assert feedback.is_open
    assert AuditEntry.objects.filter(
        action="accessibility_feedback.create", target_id=str(feedback.pk)
    ).exists()
    follow = client.get(response["Location"])
    assert b"Vielen Dank" in follow.content


def test_the_due_date_follows_the_setting(client, settings):
    settings.ACCESSIBILITY_FEEDBACK_ANSWER_DAYS = 14
    client.post(STATEMENT, _valid(email="", name=""))
    feedback = AccessibilityFeedback.objects.get()
    assert feedback.due_on == timezone.localdate() + datetime.timedelta(days=14)
    assert feedback.email == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"message": ""}, b"Bitte beschreiben Sie die Barriere."),
        ({"message": "short"}, b"mindestens 10 Zeichen"),
        ({"email": "not-an-address"}, "gültige E-Mail-Adresse".encode()),
        ({"message": "x" * 5001}, b"weniger als 5000 Zeichen"),
    ],
)
def test_bad_input_gets_a_clear_message_and_stores_nothing(client, data, message):
    response = client.post(STATEMENT, _valid(**data))
    assert response.status_code == 400
    assert message in response.content
    assert b'aria-invalid="true"' in response.content
    assert AccessibilityFeedback.objects.count() == 0


def test_the_form_is_rate_limited_per_address(client, settings):
    settings.ACCESSIBILITY_FEEDBACK_PER_ADDRESS = 2
    assert client.post(STATEMENT, _valid()).status_code == 302
    assert client.post(STATEMENT, _valid()).status_code == 302
    refused = client.post(STATEMENT, _valid())
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert b"mehrere Nachrichten" in refused.content
    assert AccessibilityFeedback.objects.count() == 2
    # Another address still gets through.
    other = client.post(STATEMENT, _valid(), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302


def test_admins_see_open_feedback_by_due_date_and_mark_it_answered(client, admin_user):
    today = timezone.localdate()
    late = AccessibilityFeedback.objects.create(
        due_on=today - datetime.timedelta(days=1), message="Kontrast zu gering"
    )
    soon = AccessibilityFeedback.objects.create(
        due_on=today + datetime.timedelta(days=20), message="Fokus unsichtbar"
    )
    client.force_login(admin_user)
    nav = client.get(reverse("accounts:staff_list")).content
    assert reverse("accessibility:feedback_list").encode() in nav
    page = client.get(reverse("accessibility:feedback_list")).content.decode()
    assert page.index(f'data-feedback="{late.pk}"') < page.index(f'data-feedback="{soon.pk}"')
    assert f'data-feedback="{late.pk}" data-overdue="1"' in page

    response = client.post(
        reverse("accessibility:feedback_list"), {"feedback": late.pk, "note": "Farbe geändert"}
    )
    assert response.status_code == 302
    late.refresh_from_db()
    assert late.answered_by == admin_user
    assert late.answer_note == "Farbe geändert"
    assert AuditEntry.objects.filter(
        action="accessibility_feedback.answer", target_id=str(late.pk)
    ).exists()
    # Answering twice, or a made-up id, changes nothing and says so.
    again = client.post(reverse("accessibility:feedback_list"), {"feedback": late.pk})
    assert again.status_code == 400
    assert client.post(reverse("accessibility:feedback_list"), {"feedback": "x"}).status_code == 400


def test_only_admins_reach_the_feedback_list(client, case_manager, dpo, team_lead):
    AccessibilityFeedback.objects.create(due_on=timezone.localdate(), message="Geheim genug")
    for user in (case_manager, dpo, team_lead):
        client.force_login(user)
        assert is_other_role_response(client.get(reverse("accessibility:feedback_list")))
        assert (
            client.post(reverse("accessibility:feedback_list"), {"feedback": 1}).status_code == 404
        )
    client.logout()
    assert client.get(reverse("accessibility:feedback_list")).status_code == 302
    assert AccessibilityFeedback.objects.filter(answered_at__isnull=True).count() == 1
