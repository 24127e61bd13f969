"""Substitutes (Vertretung): who may record them, what they open up, and when it ends."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts import services
from sprechstunde.accounts.factories import (
    CaseManagerFactory,
    SubstitutionFactory,
    TeamLeadFactory,
)
from sprechstunde.accounts.models import Substitution
from sprechstunde.accounts.selectors import case_managers_represented_by
from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def colleague(team):
    return CaseManagerFactory(team=team, email="kollege@jobcenter.example")


def _record(actor, absent, substitute, starts_on, ends_on):
    return services.substitution_create(
        actor=actor, absent=absent, substitute=substitute, starts_on=starts_on, ends_on=ends_on
    )


# --- The selector the access rules use ------------------------------------------------------


def test_a_substitute_represents_the_absent_colleague_on_the_days_in_range(
    case_manager, colleague, today
):
    _record(case_manager, case_manager, colleague, today, today + 2 * DAY)

    assert case_managers_represented_by(user=colleague, on=today) == {case_manager.pk}
    assert case_managers_represented_by(user=colleague, on=today + 2 * DAY) == {case_manager.pk}
    assert case_managers_represented_by(user=colleague, on=today + 3 * DAY) == set()
    assert case_managers_represented_by(user=colleague, on=today - DAY) == set()
    # It works one way only, and never includes the user.
    assert case_managers_represented_by(user=case_manager, on=today) == set()


def test_several_absent_colleagues_can_be_represented_at_once(case_manager, colleague, team, today):
    third = CaseManagerFactory(team=team)
    _record(case_manager, case_manager, colleague, today, today)
    _record(third, third, colleague, today, today + DAY)

    assert case_managers_represented_by(user=colleague, on=today) == {case_manager.pk, third.pk}


def test_an_ended_substitution_stops_counting_from_that_day(case_manager, colleague, today):
    substitution = _record(case_manager, case_manager, colleague, today - DAY, today + 5 * DAY)

    services.substitution_end(actor=case_manager, substitution=substitution)

    assert case_managers_represented_by(user=colleague, on=today) == set()
    assert case_managers_represented_by(user=colleague, on=today + DAY) == set()
    # History is kept: yesterday the colleague did stand in.
    assert case_managers_represented_by(user=colleague, on=today - DAY) == {case_manager.pk}


def test_deactivated_accounts_open_nothing(admin_user, case_manager, colleague, today):
    _record(case_manager, case_manager, colleague, today, today)

    services.staff_deactivate(actor=admin_user, user=case_manager)
    assert case_managers_represented_by(user=colleague, on=today) == set()

    services.staff_reactivate(actor=admin_user, user=case_manager)
    services.staff_deactivate(actor=admin_user, user=colleague)
    colleague.refresh_from_db()
    assert case_managers_represented_by(user=colleague, on=today) == set()


def test_the_selector_answers_with_one_query(
    case_manager, colleague, today, django_assert_num_queries
):
    _record(case_manager, case_manager, colleague, today, today)

    with django_assert_num_queries(1):
        case_managers_represented_by(user=colleague, on=today)


# --- Recording: validation -------------------------------------------------------------------


def test_recording_a_substitution_is_audited(case_manager, colleague, today):
    substitution = _record(case_manager, case_manager, colleague, today, today + DAY)

    entry = AuditEntry.objects.get(action="substitution.create")
    assert (entry.actor_id, entry.target_id) == (case_manager.pk, str(substitution.pk))
    assert substitution.created_by == case_manager


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("end_before_start", "ends_on"),
        ("self", "substitute"),
        ("entirely_past", "ends_on"),
        ("substitute_is_team_lead", "substitute"),
        ("substitute_inactive", "substitute"),
    ],
)
def test_bad_substitutions_are_refused_and_nothing_is_saved(
    case, field, case_manager, colleague, team, today
):
    absent, substitute, starts_on, ends_on = case_manager, colleague, today, today + DAY
    if case == "end_before_start":
        ends_on = today - DAY
    elif case == "self":
        substitute = case_manager
    elif case == "entirely_past":
        starts_on, ends_on = today - 5 * DAY, today - DAY
    elif case == "substitute_is_team_lead":
        substitute = TeamLeadFactory(team=team)
    elif case == "substitute_inactive":
        colleague.is_active = False
        colleague.save()

    with pytest.raises(ApplicationError) as raised:
        _record(case_manager, absent, substitute, starts_on, ends_on)

    assert raised.value.field == field
    assert not Substitution.objects.exists()
    assert not AuditEntry.objects.filter(action="substitution.create").exists()


def test_an_overlapping_duplicate_is_refused(case_manager, colleague, today):
    _record(case_manager, case_manager, colleague, today, today + 5 * DAY)

    with pytest.raises(ApplicationError):
        _record(case_manager, case_manager, colleague, today + 5 * DAY, today + 9 * DAY)
    # Right after it ends, or after it was ended early, a new one is fine.
    _record(case_manager, case_manager, colleague, today + 6 * DAY, today + 9 * DAY)
    assert Substitution.objects.count() == 2


def test_after_ending_early_the_same_pair_can_be_recorded_again(case_manager, colleague, today):
    first = _record(case_manager, case_manager, colleague, today, today + 5 * DAY)
    services.substitution_end(actor=case_manager, substitution=first)

    _record(case_manager, case_manager, colleague, today + DAY, today + 3 * DAY)

    assert case_managers_represented_by(user=colleague, on=today + DAY) == {case_manager.pk}


# --- Recording: who may ----------------------------------------------------------------------


def test_a_case_manager_records_only_their_own_absence(case_manager, colleague, team, today):
    third = CaseManagerFactory(team=team)

    with pytest.raises(PermissionDeniedError):
        _record(case_manager, colleague, third, today, today)
    _record(case_manager, case_manager, colleague, today, today)


def test_a_team_lead_records_absences_in_their_own_team_only(
    team_lead, case_manager, colleague, other_case_manager, today
):
    _record(team_lead, case_manager, colleague, today, today)
    # The substitute may come from another team.
    _record(team_lead, colleague, other_case_manager, today, today)

    with pytest.raises(PermissionDeniedError):
        _record(team_lead, other_case_manager, case_manager, today, today)


def test_an_admin_records_any_absence_and_a_dpo_none(
    admin_user, dpo, case_manager, other_case_manager, today
):
    _record(admin_user, other_case_manager, case_manager, today, today)

    with pytest.raises(PermissionDeniedError):
        _record(dpo, case_manager, other_case_manager, today, today + DAY)


def test_ending_needs_to_be_involved_or_responsible(
    case_manager, colleague, other_case_manager, team_lead, today
):
    substitution = _record(case_manager, case_manager, colleague, today, today + DAY)

    with pytest.raises(PermissionDeniedError):
        services.substitution_end(actor=other_case_manager, substitution=substitution)

    services.substitution_end(actor=team_lead, substitution=substitution)
    substitution.refresh_from_db()
    assert substitution.ended_by == team_lead
    assert AuditEntry.objects.filter(action="substitution.end", actor_id=team_lead.pk).exists()
    with pytest.raises(ApplicationError):
        services.substitution_end(actor=case_manager, substitution=substitution)


# --- Pages -----------------------------------------------------------------------------------


def test_a_case_manager_records_and_ends_a_substitution_on_the_page(
    client, case_manager, colleague, today
):
    client.force_login(case_manager)
    page = reverse("accounts:substitution_list")

    response = client.post(
        page,
        {
            "absent": case_manager.pk,
            "substitute": colleague.pk,
            "starts_on": today.isoformat(),
            "ends_on": (today + DAY).isoformat(),
        },
    )

    assert response.status_code == 302
    substitution = Substitution.objects.get()
    listing = client.get(page)
    assert colleague.display_name in listing.content.decode()

    ended = client.post(reverse("accounts:substitution_end", args=[substitution.pk]))
    assert ended.status_code == 302
    substitution.refresh_from_db()
    assert substitution.ended_at is not None


def test_bad_input_on_the_page_shows_a_form_error_and_saves_nothing(client, case_manager, today):
    client.force_login(case_manager)

    response = client.post(
        reverse("accounts:substitution_list"),
        {
            "absent": case_manager.pk,
            "substitute": case_manager.pk,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["substitute"]
    assert not Substitution.objects.exists()


def test_a_case_manager_cannot_pick_someone_elses_absence_on_the_page(
    client, case_manager, colleague, other_case_manager, today
):
    client.force_login(case_manager)

    response = client.post(
        reverse("accounts:substitution_list"),
        {
            "absent": colleague.pk,
            "substitute": other_case_manager.pk,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["absent"]
    assert not Substitution.objects.exists()


def test_a_team_lead_sees_the_team_substitutions_only(
    client, team_lead, case_manager, colleague, other_case_manager, today
):
    mine = SubstitutionFactory(absent=case_manager, substitute=colleague)
    foreign = SubstitutionFactory(
        absent=other_case_manager, substitute=CaseManagerFactory(team=other_case_manager.team)
    )
    client.force_login(team_lead)

    html = client.get(reverse("accounts:substitution_list")).content.decode()

    assert reverse("accounts:substitution_end", args=[mine.pk]) in html
    assert reverse("accounts:substitution_end", args=[foreign.pk]) not in html


def test_ending_a_foreign_substitution_answers_404_and_is_logged(
    client, other_case_manager, case_manager, colleague
):
    substitution = SubstitutionFactory(absent=case_manager, substitute=colleague)
    client.force_login(other_case_manager)

    response = client.post(reverse("accounts:substitution_end", args=[substitution.pk]))

    assert response.status_code == 404
    substitution.refresh_from_db()
    assert substitution.ended_at is None
    assert AuditEntry.objects.filter(
        action="substitution.access_denied", actor_id=other_case_manager.pk
    ).exists()


@pytest.mark.parametrize("role", ["dpo", "client"])
def test_dpos_and_clients_learn_who_uses_the_page(client, role, request):
    from sprechstunde.accounts.factories import ClientUserFactory

    user = request.getfixturevalue("dpo") if role == "dpo" else ClientUserFactory()
    client.force_login(user)

    response = client.get(reverse("accounts:substitution_list"))

    assert response.status_code == 403
    assert 'id="other-role"' in response.content.decode()
    assert client.post(reverse("accounts:substitution_list")).status_code == 404


def test_the_list_page_needs_the_same_number_of_queries_for_more_rows(client, case_manager, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(case_manager)
    page = reverse("accounts:substitution_list")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        return len(queries)

    SubstitutionFactory(absent=case_manager, substitute=CaseManagerFactory(team=team))
    count()  # the first request also records the session
    with_one = count()
    for _ in range(5):
        SubstitutionFactory(absent=case_manager, substitute=CaseManagerFactory(team=team))
    assert count() == with_one
