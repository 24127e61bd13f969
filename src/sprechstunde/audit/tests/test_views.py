"""The trail page and CSV export: who may see them, what they show, and that reading is audited."""

import csv
import datetime
import io
import warnings
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.services import audit_record
from sprechstunde.clients.factories import ClientFactory

from .conftest import build_chain, login_staff

pytestmark = pytest.mark.django_db

LIST_URL = reverse("audit:list")
EXPORT_URL = reverse("audit:export")


def at_local(day, hour=12):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def record_at(moment, **kwargs):
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return audit_record(**kwargs)


@pytest.fixture
def reader(client, dpo):
    return login_staff(client, dpo)


# --- Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
@pytest.mark.parametrize("role_fixture", ["admin_user", "dpo"])
def test_admins_and_data_protection_officers_may_read_the_trail(client, request, role_fixture, url):
    login_staff(client, request.getfixturevalue(role_fixture))

    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
@pytest.mark.parametrize("role_fixture", ["case_manager", "team_lead", "client_user"])
def test_everybody_else_learns_who_uses_it_and_the_refusal_is_logged(
    client, request, role_fixture, url
):
    user = request.getfixturevalue(role_fixture)
    if user.is_staff_member:
        login_staff(client, user)
    else:
        client.force_login(user)

    response = client.get(url)

    # The page that names the roles (ADR 0061), with nothing of the trail in it.
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="other-role"' in page
    assert "audit.access_denied" not in page
    denial = AuditEntry.objects.get()
    assert (denial.action, denial.actor_id) == ("audit.access_denied", user.pk)


@pytest.fixture
def client_user(db):
    return User.objects.create_user("klient@example.org", role=Role.CLIENT)


@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
def test_anonymous_visitors_are_sent_to_the_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not AuditEntry.objects.exists()


def test_an_inactive_admin_is_refused(client, admin_user):
    login_staff(client, admin_user)
    User.objects.filter(pk=admin_user.pk).update(is_active=False)

    assert client.get(LIST_URL).status_code == 302


# --- The page -------------------------------------------------------------------------------


def test_the_page_lists_entries_newest_first_with_readable_labels(client, reader, case_manager):
    audit_record(
        actor=case_manager, action="client.read", target_type="clients.client", client_id=3
    )
    audit_record(
        actor=case_manager, action="consent.withdraw", target_type="clients.consent", client_id=3
    )

    response = client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en")

    page = list(response.context["page_obj"])
    assert [entry.action for entry in page] == ["audit.view", "consent.withdraw", "client.read"]
    table = response.content.decode().split("<tbody>")[1]
    assert table.index("consent.withdraw") < table.index("client.read")
    assert "Consent: withdrawn" in table
    assert "Client: viewed" in table
    assert "Audit trail viewed" in table


def test_viewing_the_trail_is_itself_recorded_with_the_filtered_client(client, reader):
    client.get(LIST_URL, {"client": 42})

    entry = AuditEntry.objects.get(action="audit.view")
    assert entry.actor_id == reader.pk
    assert entry.client_id == 42
    assert entry.target_type == "audit.auditentry"


def test_the_page_shows_client_numbers_but_never_names(client, reader, case_manager):
    person = ClientFactory(case_manager=case_manager, first_name="Erika", last_name="Mustermann")
    audit_record(actor=case_manager, action="client.read", target=person)

    html = client.get(LIST_URL).content.decode()

    assert f"?client={person.pk}" in html
    assert "Mustermann" not in html
    assert person.email not in html


@pytest.mark.parametrize(
    ("params", "expected_sequences"),
    [
        ({"actor": "fm2@"}, [3]),
        ({"actor": "FM@JOBCENTER.EXAMPLE"}, [1, 2, 4]),
        ({"action": "client.read"}, [1, 3]),
        ({"action": "consent"}, [2]),
        ({"client": "11"}, [1, 2]),
        ({"target_type": "clients.consent"}, [2]),
        ({"date_from": "2026-03-02"}, [2, 3, 4]),
        ({"date_to": "2026-03-02"}, [1, 2]),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, [2]),
        ({"actor": "fm@", "client": "12"}, [4]),
    ],
)
def test_filters_narrow_the_list(
    client, reader, case_manager, other_case_manager, params, expected_sequences
):
    day = [datetime.date(2026, 3, 1) + datetime.timedelta(days=n) for n in range(4)]
    rows = [
        (day[0], case_manager, "client.read", "clients.client", 11),
        (day[1], case_manager, "consent.give", "clients.consent", 11),
        (day[2], other_case_manager, "client.read", "clients.client", 12),
        (day[3], case_manager, "invitation.send", "clients.invitation", 12),
    ]
    for on, actor, action, target_type, client_id in rows:
        record_at(
            at_local(on, 0),  # midnight in Berlin is the evening before in UTC
            actor=actor,
            action=action,
            target_type=target_type,
            client_id=client_id,
        )

    response = client.get(LIST_URL, params)

    shown = sorted(e.sequence for e in response.context["page_obj"] if e.action != "audit.view")
    assert shown == expected_sequences


def test_an_invalid_filter_shows_the_error_and_no_entries(client, reader):
    build_chain(3)

    response = client.get(LIST_URL, {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    assert response.status_code == 200
    assert response.context["page_obj"] is None
    assert response.context["form"].errors["date_to"]
    assert not AuditEntry.objects.filter(action="audit.view").exists()


def test_the_trail_is_paginated_by_fifty(client, reader):
    build_chain(120)

    first = client.get(LIST_URL)
    third = client.get(LIST_URL, {"page": 3})

    assert len(first.context["page_obj"]) == 50
    assert first.context["page_obj"].paginator.count == 121
    assert "page=2" in first.content.decode()
    # Two more views were recorded by now, so the oldest entries have moved to page 3.
    assert [e.sequence for e in third.context["page_obj"]][-1] == 1


def test_pagination_keeps_the_filters(client, reader):
    build_chain(60, client_id=5)

    html = client.get(LIST_URL, {"client": 5}).content.decode()

    assert "client=5&amp;page=2" in html


def test_the_number_of_queries_does_not_grow_with_the_entries(client, reader):
    build_chain(3)
    client.get(LIST_URL)  # the first request of a session does some one-off bookkeeping
    with CaptureQueriesContext(connection) as few:
        client.get(LIST_URL)
    build_chain(200)
    with CaptureQueriesContext(connection) as many:
        client.get(LIST_URL)

    assert len(many) == len(few)
    trail_queries = [q["sql"] for q in many.captured_queries if "audit_auditentry" in q["sql"]]
    # The own entry (read the head, insert), then one count and one page of rows.
    assert len(trail_queries) == 4, trail_queries
    # Plus session, user, session tracking and MFA bookkeeping, with their savepoints, and
    # one look for refusal windows to summarise. The chain lock is a statement of its own on
    # PostgreSQL (pg_advisory_xact_lock) and a BEGIN IMMEDIATE on SQLite: not counted.
    counted = [q["sql"] for q in many.captured_queries if "pg_advisory_xact_lock" not in q["sql"]]
    assert len(counted) <= 17, "\n".join(sql[:70] for sql in counted)


# --- CSV export -----------------------------------------------------------------------------


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.streaming, "the export streams instead of building the file in memory"
    with warnings.catch_warnings():
        # The test client is synchronous; the export streams asynchronously (for ASGI).
        warnings.simplefilter("ignore")
        body = b"".join(response)  # gathers the async chunks (as a WSGI server would)
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_the_export_holds_all_filtered_rows_and_is_recorded(client, reader, case_manager):
    build_chain(70, actor=case_manager, client_id=9)
    build_chain(5, actor=case_manager, client_id=10)

    rows = read_csv(client.get(EXPORT_URL, {"client": 9}))

    # Newest first: the export's own entry (it names the filtered client), then the 70.
    assert [row["action"] for row in rows] == ["audit.export"] + ["client.read"] * 70
    assert {row["client_id"] for row in rows} == {"9"}
    assert rows[1]["actor"] == case_manager.email
    assert rows[1]["sequence"] == "70"
    export = AuditEntry.objects.get(action="audit.export")
    assert (export.actor_id, export.client_id) == (reader.pk, 9)


def test_the_export_streams_in_chunks_without_gaps_or_repeats(client, reader, monkeypatch):
    from sprechstunde.audit import views

    monkeypatch.setattr(views, "EXPORT_CHUNK_ROWS", 7)
    build_chain(30)
    reads = []
    chunk = views._csv_chunk
    monkeypatch.setattr(views, "_csv_chunk", lambda *args: reads.append(args) or chunk(*args))

    rows = read_csv(client.get(EXPORT_URL))

    sequences = [int(row["sequence"]) for row in rows]
    assert sequences == sorted(range(1, 32), reverse=True)  # the 30 and the export's own
    assert len(reads) == 5  # 7 + 7 + 7 + 7 + 3 rows


@pytest.mark.django_db(transaction=True)
def test_the_export_streams_under_asgi(async_client, dpo):
    """Through Django's ASGI handler the chunks are awaited one by one (no warning that a
    synchronous iterator had to be gathered first)."""
    build_chain(3)
    login_staff(async_client, dpo)

    async def download():
        response = await async_client.get(EXPORT_URL)
        return response, b"".join([part async for part in response.streaming_content])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response, body = async_to_sync(download)()

    assert response.is_async
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [row["action"] for row in rows] == ["audit.export"] + ["client.read"] * 3


def test_the_export_link_carries_the_filters(client, reader):
    build_chain(2)

    html = client.get(LIST_URL, {"action": "client", "page": 1}).content.decode()

    assert f'href="{EXPORT_URL}?action=client"' in html


def test_export_cells_that_look_like_formulas_are_defused(client, reader):
    audit_record(actor=None, action="client.read", target_type="=HYPERLINK(1)", target_id="-2")

    rows = read_csv(client.get(EXPORT_URL, {"action": "client.read"}))

    assert rows[0]["object_type"] == "'=HYPERLINK(1)"
    assert rows[0]["object_id"] == "'-2"


def test_an_export_with_invalid_filters_goes_back_to_the_page(client, reader):
    response = client.get(EXPORT_URL, {"client": "abc"})

    assert response.status_code == 302
    assert response["Location"].startswith(LIST_URL)
    assert not AuditEntry.objects.filter(action="audit.export").exists()


def test_refusals_of_a_minute_that_is_over_show_as_one_counted_summary(
    client, reader, case_manager
):
    earlier = timezone.now() - datetime.timedelta(minutes=5)
    for _ in range(12):
        first = record_at(
            earlier, actor=case_manager, action="client.access_denied", target_id=4, client_id=4
        )

    english = client.get(LIST_URL, {"action": "client.access_denied"}, HTTP_ACCEPT_LANGUAGE="en")
    german = client.get(LIST_URL, {"action": "client.access_denied"}, HTTP_ACCEPT_LANGUAGE="de")

    summary = AuditEntry.objects.get(repeat_count=11)
    assert [entry.pk for entry in english.context["page_obj"]] == [summary.pk, first.pk]
    assert (summary.target_id, summary.client_id) == (str(first.sequence), 4)
    text = " ".join(english.content.decode().split())
    assert f"11 more refusals in the same minute as entry no. {first.sequence}" in text
    german_text = " ".join(german.content.decode().split())
    assert f"11 weitere Ablehnungen in derselben Minute wie Eintrag Nr. {first.sequence}" in (
        german_text
    )
    rows = read_csv(client.get(EXPORT_URL, {"action": "client.access_denied"}))
    assert [row["repeat_count"] for row in rows] == ["11", "0"]
