"""The client's whole story on the client page (issue 14): one timeline from every app,
newest first, filtered by kind, paged by cursor, audited once, a fixed number of queries."""

from __future__ import annotations

import datetime
import re

import pytest
from bench.story_data import StorySize, client_story_make
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory
from sprechstunde.agreements.factories import DecisionTemplateFactory, PlanTemplateFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import timeline
from sprechstunde.clients.factories import ClientFactory

from .conftest import login

pytestmark = pytest.mark.django_db

ENTRY_RE = re.compile(r'<li class="timeline__entry[^"]*" data-kind="([a-z_]+)">')
TIME_RE = re.compile(r'<time datetime="([^"]+)">')


def _page(test_client, client_obj, **params):
    return test_client.get(reverse("clients:detail", args=[client_obj.pk]), params)


def _kinds(html: str) -> list[str]:
    return ENTRY_RE.findall(html)


def _times(html: str) -> list[datetime.datetime]:
    section = html.split('id="timeline"', 1)[1]
    return [datetime.datetime.fromisoformat(value) for value in TIME_RE.findall(section)]


@pytest.fixture
def story(client_record):
    client_story_make(client=client_record, size=StorySize(weeks=3))
    return client_record


def test_the_timeline_shows_every_kind_newest_first(client, case_manager, story):
    html = _page(login(client, case_manager), story, art="").content.decode()

    kinds = set()
    cursor = None
    seen = 0
    while True:
        page = timeline.timeline_page(client=story, cursor=cursor, page_size=10)
        kinds |= {entry.kind for entry in page.entries}
        seen += len(page.entries)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert kinds == {
        "appointment",
        "call",
        "message",
        "document",
        "plan",
        "decision",
        "delivery",
        "consent",
    }
    assert seen == StorySize(weeks=3).entries
    times = _times(html)
    assert len(times) == timeline.PAGE_SIZE
    assert times == sorted(times, reverse=True)


def test_paging_shows_each_entry_once_in_order(client, case_manager, story, monkeypatch):
    monkeypatch.setattr(timeline, "PAGE_SIZE", 7)
    login(client, case_manager)
    collected: list[datetime.datetime] = []
    params: dict[str, str] = {}
    for _number in range(50):
        html = _page(client, story, **params).content.decode()
        collected += _times(html) if 'id="timeline"' in html else []
        older = re.search(r'id="timeline-older" href="\?vor=([^"#]+)#verlauf"', html)
        if older is None:
            break
        params = {"vor": older.group(1).replace("%7E", "~")}
    assert len(collected) == StorySize(weeks=3).entries
    assert collected == sorted(collected, reverse=True)


def test_the_filter_shows_one_kind(client, case_manager, story):
    html = _page(login(client, case_manager), story, art="message").content.decode()

    assert set(_kinds(html)) == {"message"}
    assert 'href="?art=message#verlauf" aria-current="page"' in html


def test_an_unknown_kind_or_a_broken_cursor_shows_the_first_page(client, case_manager, story):
    login(client, case_manager)
    first = _kinds(_page(client, story).content.decode())

    assert _kinds(_page(client, story, art="nonsense").content.decode()) == first
    assert _kinds(_page(client, story, vor="2026~x;drop~1").content.decode()) == first


def test_opening_is_audited_once_not_per_entry(client, case_manager, story):
    _page(login(client, case_manager), story)

    entries = AuditEntry.objects.filter(actor_id=case_manager.pk)
    assert list(entries.values_list("action", flat=True)) == ["client.view"]
    assert entries.get().client_id == story.pk


def test_another_case_managers_client_stays_404(client, case_manager, foreign_client):
    client_story_make(client=foreign_client, size=StorySize(weeks=1))

    response = _page(login(client, case_manager), foreign_client)

    assert response.status_code == 404
    assert "Nachricht" not in response.content.decode()


def _action_urls(html: str) -> list[str]:
    block = html.split('id="client-action-list"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="([^"]+)"', block)


def test_every_action_leads_to_a_working_page(client, case_manager, client_record):
    PlanTemplateFactory()
    DecisionTemplateFactory()
    html = _page(login(client, case_manager), client_record).content.decode()

    urls = _action_urls(html)
    assert [url.split("#")[0] for url in urls] == [
        reverse("appointments:book", args=[client_record.pk]),
        reverse("messaging:client_conversation", args=[client_record.pk]),
        reverse("documents:client_documents", args=[client_record.pk]),
        reverse("agreements:client", args=[client_record.pk]),
        reverse("agreements:decision_create", args=[client_record.pk]),
        reverse("appointments:propose", args=[client_record.pk]),
    ]
    for url in urls:
        path, _hash, anchor = url.partition("#")
        response = client.get(path)
        assert response.status_code == 200, url
        if anchor:
            assert f'id="{anchor}"' in response.content.decode(), url


def test_a_substitute_today_gets_the_actions(client, case_manager, client_record):
    substitute = CaseManagerFactory(team=case_manager.team)
    SubstitutionFactory(absent=case_manager, substitute=substitute)
    DecisionTemplateFactory()
    html = _page(login(client, substitute), client_record).content.decode()

    for url in _action_urls(html):
        assert client.get(url.split("#")[0]).status_code == 200, url


def test_a_team_lead_reads_the_story_without_write_buttons(client, team_lead, story):
    response = _page(login(client, team_lead), story)

    html = response.content.decode()
    assert response.status_code == 200
    assert _kinds(html)
    assert 'id="client-action-list"' not in html


def _queries_for_page(test_client, client_obj) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = _page(test_client, client_obj)
    assert response.status_code == 200
    return len(queries)


def test_the_page_needs_the_same_queries_for_a_small_and_a_large_story(client, case_manager, team):
    PlanTemplateFactory()
    DecisionTemplateFactory()
    small = ClientFactory(case_manager=case_manager)
    large = ClientFactory(case_manager=case_manager)
    client_story_make(client=small, size=StorySize(weeks=1, messages_per_week=1))
    client_story_make(client=large, size=StorySize(weeks=52))
    login(client, case_manager)
    _page(client, small)  # warm-up: session, content types, translations

    assert _queries_for_page(client, small) == _queries_for_page(client, large)


def test_future_appointments_are_marked_upcoming(client, case_manager, client_record):
    from sprechstunde.appointments.factories import AppointmentFactory

    AppointmentFactory(case_manager=case_manager, client=client_record)
    html = _page(login(client, case_manager), client_record).content.decode()

    assert "upcoming" in html
    assert timezone.now() < _times(html)[0]
