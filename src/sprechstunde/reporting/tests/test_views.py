"""The figures page and CSV through the test client: access, numbers, no client data, queries."""

import csv
import datetime
import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.appointments.choices import AppointmentStatus, CancellationClass, Channel
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Client

from .conftest import CLIENT_MARK, expected_figures, make

pytestmark = pytest.mark.django_db

ROUTES = ["reporting:figures", "reporting:export"]
SVG_NS = "{http://www.w3.org/2000/svg}"


def year_query():
    today = timezone.localdate()
    start = today - datetime.timedelta(days=366)
    return start, today, {"date_from": start.isoformat(), "date_to": today.isoformat()}


def percent(value):
    """How the page writes a share in English: one decimal, a no-break space, "%"."""
    return f"{value * 100:.1f}\u00a0%"


def figure(html, name, scope=""):
    """The text of the first element with data-figure=`name` (inside `scope` if given)."""
    match = re.search(rf'data-figure="{name}">([^<]*)<', scope or html)
    assert match, f"no data-figure={name}"
    return match.group(1).strip()


def table_row(html, attribute, key):
    match = re.search(rf'<tr {attribute}="{re.escape(str(key))}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={key}"
    return match.group(1)


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    return {(row["dimension"], row["key"]): row for row in rows}


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_visitors_are_sent_to_the_login(client, route):
    response = client.get(reverse(route))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["case_manager", "dpo", "client_account"])
def test_everyone_but_team_leads_and_admins_learns_who_uses_it_and_is_logged(
    request, client, role, route, team
):
    if role == "client_account":
        user = User.objects.create_user("kundin@example.org", role=Role.CLIENT)
    else:
        user = request.getfixturevalue(role)
    client.force_login(user)
    response = client.get(reverse(route), headers={"accept-language": "en"})
    assert response.status_code == 403
    page = response.content.decode()
    if role == "client_account":
        # A client gets the portal's version: the page is the Jobcenter staff's.
        assert "This page is used by the staff of the Jobcenter." in page
        assert "Team lead" not in page
    else:
        assert "This page is used by the roles Team lead, Administrator." in page
    assert "<svg" not in page
    assert client.post(reverse(route)).status_code in {403, 404, 405}
    assert AuditEntry.objects.filter(actor_id=user.pk, action="figures.access_denied").exists()


@pytest.mark.parametrize("route", ROUTES)
def test_team_leads_and_admins_may_open_the_figures(client, team_lead, admin_user, route):
    for user in (team_lead, admin_user):
        client.force_login(user)
        assert client.get(reverse(route)).status_code == 200


def test_the_navigation_links_the_figures_for_team_leads_and_admins_only(
    client, team_lead, admin_user, case_manager, dpo
):
    link = f'href="{reverse("reporting:figures")}"'
    for user, shown in ((team_lead, True), (admin_user, True), (case_manager, False), (dpo, False)):
        client.force_login(user)
        page = client.get(reverse("accounts:profile")).content.decode()
        assert (link in page) is shown, user.role


# --- the numbers -------------------------------------------------------------------------------


def test_page_shows_the_rates_of_the_demo_year_as_counted_independently(
    client, team_lead, demo_year
):
    start, last_day, query = year_query()
    expected = expected_figures(start=start, last_day=last_day, team_ids={team_lead.team_id})
    client.force_login(team_lead)
    html = client.get(reverse("reporting:figures"), query).content.decode()

    assert figure(html, "appointments") == str(expected.total())
    assert figure(html, "show-rate") == percent(expected.show_rate())
    assert figure(html, "short-notice-rate") == percent(expected.short_notice_rate())
    assert figure(html, "planned") == f"{expected.planned['all'] / expected.held['all']:.0f} min"
    for channel in Channel.values:
        row = table_row(html, "data-key", channel)
        assert figure(html, "held", row) == str(expected.held[channel])
        assert figure(html, "no-show", row) == str(expected.no_show[channel])
        assert figure(html, "show-rate", row) == percent(expected.show_rate(channel))
        actual = expected.actual[channel] / expected.actual_count[channel]
        assert figure(html, "actual", table_row(html, "data-channel", channel)) == (
            f"{actual:.0f} min"
        )
    month = last_day.replace(day=1) - datetime.timedelta(days=1)  # last complete month
    key = month.strftime("%Y-%m")
    row = table_row(html, "data-month", key)
    assert percent(expected.show_rate(key)) in row
    # The team lead sees their team only.
    assert table_row(html, "data-key", team_lead.team_id)
    assert f'data-key="{demo_year[2].team_id}"' not in html


def test_csv_holds_the_same_figures_as_counted_independently(client, admin_user, demo_year):
    start, last_day, query = year_query()
    expected = expected_figures(start=start, last_day=last_day)
    client.force_login(admin_user)
    response = client.get(reverse("reporting:export"), query)
    assert response["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)

    total = rows[("total", "")]
    assert int(total["appointments"]) == expected.total()
    assert float(total["show_rate"]) == pytest.approx(expected.show_rate(), abs=5e-5)
    assert float(total["short_notice_rate"]) == pytest.approx(
        expected.short_notice_rate(), abs=5e-5
    )
    assert int(total["cancelled_client_late"]) == expected.late["all"]
    for channel in Channel.values:
        row = rows[("channel", channel)]
        assert (int(row["held"]), int(row["no_show"])) == (
            expected.held[channel],
            expected.no_show[channel],
        )
        assert int(row["actual_recorded"]) == expected.actual_count[channel]
    for manager in demo_year:
        row = rows[("team", str(manager.team_id))]
        assert int(row["appointments"]) == expected.total(("team", manager.team_id))
    month_keys = [key for dimension, key in rows if dimension == "month"]
    # 366 days touch thirteen calendar months, or fourteen when today is the first of one.
    months = (last_day.year - start.year) * 12 + last_day.month - start.month + 1
    assert len(month_keys) == months
    assert months in (13, 14)
    for key in month_keys:
        assert int(rows[("month", key)]["held"]) == expected.held[key]
        for channel in Channel.values:
            row = rows[("month_channel", f"{key}/{channel}")]
            assert int(row["no_show"]) == expected.no_show[(key, channel)]
    assert AuditEntry.objects.filter(actor_id=admin_user.pk, action="figures.export").exists()


def test_a_short_notice_cancellation_is_counted_on_page_and_in_csv(client, team_lead, case_manager):
    day = timezone.localdate() - datetime.timedelta(days=3)
    make(case_manager, day, 9, AppointmentStatus.HELD)
    make(case_manager, day, 10, AppointmentStatus.NO_SHOW)
    make(
        case_manager,
        day,
        11,
        AppointmentStatus.CANCELLED,
        cancellation_class=CancellationClass.CLIENT_LATE,
    )
    make(
        case_manager,
        day,
        12,
        AppointmentStatus.CANCELLED,
        cancellation_class=CancellationClass.CLIENT_EARLY,
    )
    client.force_login(team_lead)
    html = client.get(reverse("reporting:figures")).content.decode()
    assert figure(html, "short-notice-rate") == "25.0\u00a0%"
    assert figure(html, "show-rate") == "50.0\u00a0%"
    total = read_csv(client.get(reverse("reporting:export")))[("total", "")]
    assert (total["cancelled_client_late"], total["short_notice_rate"]) == ("1", "0.2500")


def test_admin_can_narrow_to_one_team_and_a_team_lead_cannot_switch(
    client, admin_user, team_lead, demo_year, other_team
):
    start, last_day, query = year_query()
    other = expected_figures(start=start, last_day=last_day, team_ids={other_team.pk})
    own = expected_figures(start=start, last_day=last_day, team_ids={team_lead.team_id})

    client.force_login(admin_user)
    html = client.get(reverse("reporting:figures"), {**query, "team": other_team.pk}).content
    assert figure(html.decode(), "appointments") == str(other.total())
    assert 'name="team"' in html.decode()

    client.force_login(team_lead)
    html = client.get(reverse("reporting:figures"), {**query, "team": other_team.pk}).content
    assert figure(html.decode(), "appointments") == str(own.total())
    assert 'name="team"' not in html.decode()
    rows = read_csv(client.get(reverse("reporting:export"), {**query, "team": other_team.pk}))
    assert int(rows[("total", "")]["appointments"]) == own.total()


def test_an_unknown_team_or_a_reversed_range_gives_a_clear_message(client, admin_user, team):
    client.force_login(admin_user)
    response = client.get(reverse("reporting:figures"), {"team": team.pk + 50})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = client.get(
        reverse("reporting:figures"), {"date_from": "2025-05-01", "date_to": "2025-04-01"}
    )
    html = response.content.decode()
    assert "The end date must not be before the start date." in html
    assert "data-figure-summary" not in html
    export = client.get(
        reverse("reporting:export"), {"date_from": "2025-05-01", "date_to": "2025-04-01"}
    )
    assert export.status_code == 302
    assert export["Location"].startswith(reverse("reporting:figures"))
    too_long = client.get(
        reverse("reporting:figures"), {"date_from": "2020-01-01", "date_to": "2025-01-01"}
    )
    assert "at most three years" in too_long.content.decode()


def test_an_empty_period_says_so(client, team_lead):
    client.force_login(team_lead)
    html = client.get(
        reverse("reporting:figures"), {"date_from": "2020-01-01", "date_to": "2020-12-31"}
    ).content.decode()
    assert "data-figures-empty" in html
    assert "<svg" not in html


# --- what the pages must not contain -----------------------------------------------------------


def test_no_client_and_no_case_manager_appears_on_the_page_or_in_the_csv(
    client, team_lead, admin_user, demo_year
):
    _, _, query = year_query()
    names = set(Client.objects.values_list("last_name", flat=True))
    assert names and all(CLIENT_MARK in name for name in names)
    for user in (team_lead, admin_user):
        client.force_login(user)
        for route in ROUTES:
            body = client.get(reverse(route), query).content.decode()
            assert CLIENT_MARK not in body
            for manager in demo_year:
                assert manager.email not in body
                assert manager.last_name not in body


def test_charts_are_accessible_svg_images_without_styles_or_scripts(client, team_lead, demo_year):
    _, _, query = year_query()
    client.force_login(team_lead)
    html = client.get(reverse("reporting:figures"), query).content.decode()
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == 5
    for markup in svgs:
        svg = ET.fromstring(markup)  # noqa: S314 (our own markup, must be well-formed XML)
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG_NS}title"), svg.find(f"{SVG_NS}desc")
        assert title is not None and title.text
        assert desc is not None and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert not [el for el in svg.iter() if el.get("style") is not None]
        assert svg.findall(f".//{SVG_NS}rect") or svg.findall(f".//{SVG_NS}polyline")
    # The CSP allows neither inline scripts nor inline styles: none on this page.
    assert "<script" not in html and "<style" not in html and " style=" not in html
    # Every chart is followed by a data table with a caption.
    assert html.count("<caption") == 5


# --- queries -----------------------------------------------------------------------------------


def test_the_page_needs_the_same_few_queries_for_a_day_or_a_year_of_data(
    client, team_lead, admin_user, case_manager
):
    _, _, query = year_query()

    def count(user):
        client.force_login(user)
        client.get(reverse("reporting:figures"), query)  # warm up: session tracking
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("reporting:figures"), query).status_code == 200
        return len(captured)

    make(case_manager, timezone.localdate() - datetime.timedelta(days=2), 9, AppointmentStatus.HELD)
    few = {user.pk: count(user) for user in (team_lead, admin_user)}
    from django.core.management import call_command

    call_command("appointments_demo_year", stdout=io.StringIO())
    for user in (team_lead, admin_user):
        assert count(user) == few[user.pk] <= 16  # 16 on PostgreSQL: the audit lock statement


def test_a_team_name_that_looks_like_a_formula_is_defused_in_the_csv(client, admin_user):
    from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory

    team = TeamFactory(name="=HYPERLINK(1)")
    make(CaseManagerFactory(team=team), timezone.localdate(), 0, AppointmentStatus.NO_SHOW)
    client.force_login(admin_user)
    rows = read_csv(client.get(reverse("reporting:export")))
    assert rows[("team", str(team.pk))]["label"] == "'=HYPERLINK(1)"
