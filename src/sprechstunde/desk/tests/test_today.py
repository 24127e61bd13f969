"""The today page: what it collects, for whom, where its links lead, what it costs."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from tests.test_url_access import log_in

from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory
from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.desk import selectors, testing
from sprechstunde.eforms.tests.factories_staff import submission as form_submission
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.video_calls.factories import video_consent

pytestmark = pytest.mark.django_db


def _now_at(hour: int, minute: int = 0) -> datetime.datetime:
    today = timezone.localdate()
    return timezone.make_aware(datetime.datetime.combine(today, datetime.time(hour, minute)))


def _fill(client, *, waiting: bool = True):
    """One thing of every kind to do for `client`."""
    if waiting:
        video_consent(client)
        appointment = testing.appointment_at(
            client, timezone.now() + datetime.timedelta(minutes=5), channel=Channel.VIDEO
        )
        testing.client_waiting_in_call(appointment)
    testing.client_messages(client, 2)
    testing.client_document(client, title=f"Kontoauszug {client.last_name}")
    form_submission(client)
    testing.overdue_request(client, title=f"Mietvertrag {client.last_name}")
    testing.decision_waiting_for_seal(client)
    testing.plan_review_due(client)


@pytest.fixture
def own_client(case_manager):
    return portal_client_create(
        case_manager=case_manager, email="ada@example.org", first_name="Ada", last_name="Özdemir"
    )


@pytest.fixture
def foreign_client(other_case_manager):
    return portal_client_create(
        case_manager=other_case_manager,
        email="bert@example.org",
        first_name="Bert",
        last_name="Fremdling",
    )


def _browser(user):
    browser = WebClient(headers={"accept-language": "en"})
    log_in(browser, user)
    return browser


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_case_manager_and_team_lead_land_on_the_today_page(case_manager, team_lead, admin_user):
    for user in (case_manager, team_lead):
        response = _browser(user).get("/")
        assert response.status_code == 302
        assert response["Location"] == reverse("desk:today")
    assert _browser(admin_user).get("/")["Location"] != reverse("desk:today")


def test_admin_and_dpo_have_no_desk(admin_user, dpo):
    for user in (admin_user, dpo):
        assert is_other_role_response(_browser(user).get(reverse("desk:today")))
        assert is_other_role_response(_browser(user).get(reverse("desk:today_live")))
        assert selectors.desk_for_user(user=user) is None


def test_the_desk_collects_every_kind_of_work_of_the_caseload(case_manager, own_client):
    _fill(own_client)
    desk = selectors.desk_for_user(user=case_manager)

    assert desk is not None
    [appointment] = desk.appointments
    assert appointment.state == selectors.STATE_WAITING
    assert appointment.waiting_names == ("Ada Özdemir",)
    assert appointment.url == reverse(
        "video_calls:call", kwargs={"appointment_pk": appointment.appointment.pk}
    )
    assert desk.waiting_count == 1
    assert [e.title for e in desk.messages.entries] == ["2 unread"]
    assert [e.title for e in desk.to_review.entries] == [
        "Ortsabwesenheit beantragen",
        "Kontoauszug Özdemir",
    ]
    assert [e.title for e in desk.overdue_requests.entries] == ["Mietvertrag Özdemir"]
    assert desk.decisions.total == 1
    assert desk.plan_reviews.total == 1
    every = [*desk.messages.entries, *desk.to_review.entries, *desk.overdue_requests.entries]
    assert all(e.client == own_client and e.stand_in_for is None for e in every)


def test_read_messages_documents_in_the_efile_and_future_reviews_are_left_out(
    case_manager, own_client
):
    testing.client_messages(own_client, 3, read_by=case_manager)
    testing.client_document(own_client, is_in_efile=True)
    testing.client_document(own_client, status="processing")
    testing.client_document(own_client, uploaded_by_side="staff")
    testing.plan_review_due(own_client, on=timezone.localdate() + datetime.timedelta(days=40))

    desk = selectors.desk_for_user(user=case_manager)

    assert desk.messages.total == 0
    assert desk.to_review.total == 0
    assert desk.plan_reviews.total == 0


@pytest.mark.parametrize(
    ("status", "starts", "expected"),
    [
        (AppointmentStatus.HELD, -120, selectors.STATE_HELD),
        (AppointmentStatus.NO_SHOW, -120, selectors.STATE_NO_SHOW),
        (AppointmentStatus.BOOKED, -120, selectors.STATE_OPEN),
        (AppointmentStatus.BOOKED, -10, selectors.STATE_NOW),
        (AppointmentStatus.BOOKED, 60, selectors.STATE_UPCOMING),
        (AppointmentStatus.CANCELLED, 60, selectors.STATE_CANCELLED),
    ],
)
def test_appointment_states(case_manager, own_client, status, starts, expected):
    now = _now_at(12)
    testing.appointment_at(own_client, now + datetime.timedelta(minutes=starts), status=status)
    desk = selectors.desk_for_user(user=case_manager, now=now)
    assert [entry.state for entry in desk.appointments] == [expected]


def test_a_call_with_host_and_client_inside_is_in_the_call(case_manager, own_client):
    video_consent(own_client)
    appointment = testing.appointment_at(
        own_client, timezone.now() - datetime.timedelta(minutes=5), channel=Channel.VIDEO
    )
    guest = testing.client_waiting_in_call(appointment)
    guest.state = "admitted"
    guest.save()
    host = guest.call.participants.create(
        role="staff", user=case_manager, display_name="FM", state="admitted"
    )
    host.presences.create(channel_name="test.host", session="s2")

    [entry] = selectors.desk_for_user(user=case_manager).appointments
    assert entry.state == selectors.STATE_IN_CALL


def test_another_case_managers_clients_are_not_shown(case_manager, own_client, foreign_client):
    _fill(foreign_client)
    desk = selectors.desk_for_user(user=case_manager)
    assert desk.appointments == []
    for section in (
        desk.messages,
        desk.to_review,
        desk.overdue_requests,
        desk.decisions,
        desk.plan_reviews,
    ):
        assert section.total == 0
    html = _browser(case_manager).get(reverse("desk:today")).content.decode()
    assert "Fremdling" not in html
    assert "Bert" not in html


def test_a_substitute_sees_the_absent_colleagues_clients_marked(
    case_manager, other_case_manager, foreign_client
):
    SubstitutionFactory(absent=other_case_manager, substitute=case_manager)
    _fill(foreign_client)

    desk = selectors.desk_for_user(user=case_manager)

    assert desk.standing_in_for == [other_case_manager]
    [appointment] = desk.appointments
    assert appointment.stand_in_for == other_case_manager
    assert desk.messages.entries[0].stand_in_for == other_case_manager
    html = _main(_browser(case_manager).get(reverse("desk:today")).content.decode())
    assert "Fremdling" in html
    assert f"Stand-in for {other_case_manager.display_name}" in html


def test_a_substitution_that_is_over_opens_nothing(
    case_manager, other_case_manager, foreign_client
):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    SubstitutionFactory(
        absent=other_case_manager, substitute=case_manager, starts_on=yesterday, ends_on=yesterday
    )
    _fill(foreign_client)
    desk = selectors.desk_for_user(user=case_manager)
    assert desk.standing_in_for == []
    assert desk.messages.total == 0


def test_the_team_lead_sees_the_team_and_todays_substitutions(
    team, team_lead, case_manager, own_client, foreign_client
):
    colleague = CaseManagerFactory(team=team, first_name="Cora", last_name="Kollegin")
    colleagues_client = ClientFactory(case_manager=colleague, last_name="Zweiter")
    substitution = SubstitutionFactory(absent=colleague, substitute=case_manager)
    _fill(own_client)
    _fill(foreign_client)
    testing.client_document(colleagues_client, title="Lohnzettel")

    desk = selectors.desk_for_user(user=team_lead)

    assert desk.is_team_view
    assert desk.substitutions == [substitution]
    assert {e.client for e in desk.to_review.entries} == {own_client, colleagues_client}
    assert all(e.case_manager is not None for e in desk.to_review.entries)
    # A team lead is no host: the appointment links to its page, not into the call.
    [appointment] = desk.appointments
    assert appointment.url == reverse(
        "appointments:detail", kwargs={"pk": appointment.appointment.pk}
    )
    html = _main(_browser(team_lead).get(reverse("desk:today")).content.decode())
    assert "Substitutions today" in html
    assert "Fremdling" not in html


@pytest.mark.parametrize("who", ["case_manager", "team_lead"])
def test_every_link_on_the_desk_opens_a_page(who, request, case_manager, own_client):
    _fill(own_client)
    testing.appointment_at(own_client, timezone.now() - datetime.timedelta(hours=3))
    user = request.getfixturevalue(who)
    browser = _browser(user)
    html = _main(browser.get(reverse("desk:today")).content.decode())
    links = set(re.findall(r'href="(/[^"]*)"', html))
    assert len(links) >= 8
    for link in sorted(links):
        response = browser.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, (link, response.status_code)


def test_opening_the_page_is_audited_once(case_manager, own_client):
    for _ in range(3):
        _fill(own_client, waiting=False)
    before = AuditEntry.objects.count()
    response = _browser(case_manager).get(reverse("desk:today"))
    assert response.status_code == 200
    new = list(AuditEntry.objects.order_by("sequence")[before:].values_list("action", flat=True))
    assert new.count("desk.view") == 1
    assert len([a for a in new if not a.startswith(("login", "session", "mfa"))]) == 1


def test_the_live_update_answers_only_when_something_changed(case_manager, own_client):
    browser = _browser(case_manager)
    page = browser.get(reverse("desk:today")).content.decode()
    digest = re.search(r'data-digest="([0-9a-f]+)"', page).group(1)
    live = reverse("desk:today_live")
    before = AuditEntry.objects.filter(action="desk.refresh").count()

    unchanged = browser.get(live, {"digest": digest})
    assert unchanged.status_code == 204
    assert AuditEntry.objects.filter(action="desk.refresh").count() == before

    testing.client_messages(own_client, 1)
    changed = browser.get(live, {"digest": digest})
    assert changed.status_code == 200
    assert changed["Content-Type"] == "application/json"
    assert changed.json()["digest"] != digest
    assert "1 unread" in changed.json()["html"]
    assert changed.json()["summary"].startswith("0 waiting, 1 unread")
    assert AuditEntry.objects.filter(action="desk.refresh").count() == before + 1


def _queries_for(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        selectors.desk_for_user(user=user)
    return len(queries)


@pytest.mark.parametrize("who", ["case_manager", "team_lead"])
def test_the_desk_needs_the_same_number_of_queries_whatever_the_caseload(
    who, request, case_manager, other_case_manager
):
    user = request.getfixturevalue(who)
    SubstitutionFactory(absent=other_case_manager, substitute=case_manager)
    first = portal_client_create(case_manager=case_manager, email="q0@example.org")
    _fill(first)
    small = _queries_for(user)

    for n in range(12):
        owner = case_manager if n % 3 else other_case_manager
        client = portal_client_create(case_manager=owner, email=f"q{n + 1}@example.org")
        _fill(client)
        testing.appointment_at(client, _now_at(8) + datetime.timedelta(minutes=10 * n))
        testing.client_messages(client, 3)
    large = _queries_for(user)

    assert small == large
    # 12 reads (today's substitutions, the two substitution rules of a stand-in, the
    # appointments with their calls and presences, one per section with its count, and
    # one more for the forms that join the documents to look at), and
    # the audit entry (its chain read, insert, savepoint pair; on PostgreSQL also the advisory
    # lock that orders the chain)
    assert large <= (17 if connection.vendor == "postgresql" else 16)


def test_a_long_section_lists_the_first_ten_and_counts_all(
    case_manager, own_client, foreign_client
):
    # The list and its total come from one query (a window count before the LIMIT): the total
    # counts every visible row, not the ten shown, and never another caseload's rows.
    for n in range(13):
        testing.client_document(own_client, title=f"Nachweis {n:02d}")
    testing.client_document(foreign_client, title="Fremd")

    desk = selectors.desk_for_user(user=case_manager, action=None)

    assert desk.to_review.total == 13
    assert len(desk.to_review.entries) == selectors.SECTION_LIMIT == 10
    assert desk.to_review.more == 3
    assert {entry.title for entry in desk.to_review.entries} <= {
        f"Nachweis {n:02d}" for n in range(13)
    }
    page = _main(_browser(case_manager).get(reverse("desk:today")).content.decode())
    assert "(13)" in page
    assert "3 more" in page or "3 weitere" in page


def test_forms_nobody_has_taken_join_the_documents_to_look_at(
    case_manager, own_client, foreign_client
):
    from sprechstunde.eforms.tests import factories_staff as forms

    testing.client_document(own_client, title="Kontoauszug")
    new = forms.submission(own_client)
    # The form's own PDF is looked at through the form, not as a document of its own.
    new.pdf_document = testing.client_document(own_client, title="Formular als PDF")
    new.save(update_fields=["pdf_document"])
    again = forms.submission(own_client, spec=forms.change_spec())
    again.submission_count = 2
    again.save(update_fields=["submission_count"])
    for status in ("draft", "in_progress", "needs_more", "done"):
        forms.submission(own_client, status=status)
    forms.submission(foreign_client)

    desk = selectors.desk_for_user(user=case_manager, action=None)

    assert desk.to_review.total == 3
    titles = {entry.title: entry for entry in desk.to_review.entries}
    assert set(titles) == {"Kontoauszug", "Ortsabwesenheit beantragen", "Veränderungsmitteilung"}
    assert titles["Ortsabwesenheit beantragen"].url == reverse(
        "eforms:staff_submission", args=[new.pk]
    )
    assert titles["Veränderungsmitteilung"].detail == "form sent again"
    page = _main(_browser(case_manager).get(reverse("desk:today")).content.decode())
    assert reverse("eforms:staff_submission", args=[again.pk]) in page
