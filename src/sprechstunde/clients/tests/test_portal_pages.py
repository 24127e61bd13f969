"""The client's portal pages with real data: home's next-appointment card and news, the
postbox (what the Jobcenter sent, with read state and announcement date), the video page,
and moving an appointment. Every page with an empty state is checked both ways: with data
the empty text is gone and the data is there; without data the empty text shows."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.agreements import services as agreement_services
from sprechstunde.agreements.factories import (
    confirmation_for,
    consent_give,
    decision_in_postbox_for,
    plan_issued_for,
    portal_client,
)
from sprechstunde.agreements.models import CooperationPlan
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.factories import AppointmentFactory, OfficeHoursFactory
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.documents.choices import DocumentStatus, Side
from sprechstunde.documents.factories import DocumentRequestFactory
from sprechstunde.documents.models import Document

from .conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def kim(case_manager):
    """A portal client with every consent: portal, electronic delivery and video."""
    client = portal_client(case_manager=case_manager, email="kim@example.org")
    consent_give(client, ConsentPurpose.VIDEO)
    client.mobile_number = "0170 1234567"
    client.save()
    return client


@pytest.fixture
def portal(client, kim):
    return login(client, kim.user)


def _in(minutes: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=minutes)


def _home(portal) -> str:
    response = portal.get(reverse("clients:portal_home"))
    assert response.status_code == 200
    return response.content.decode()


# --- Home: the next appointment ----------------------------------------------------------------


def test_home_shows_the_next_video_appointment_with_the_join_button_when_open(portal, kim):
    appointment = AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.VIDEO,
        starts_at=_in(5),
        ends_at=_in(35),
    )
    AppointmentFactory(client=kim, case_manager=kim.case_manager, channel=Channel.PHONE)
    page = _home(portal)
    assert f'data-appointment="{appointment.pk}"' in page
    assert 'data-channel="video"' in page
    assert reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}) in page
    assert 'id="video-join-button"' in page


def test_home_does_not_offer_the_join_button_long_before_the_start(portal, kim):
    appointment = AppointmentFactory(
        client=kim, case_manager=kim.case_manager, channel=Channel.VIDEO
    )
    page = _home(portal)
    assert f'data-appointment="{appointment.pk}"' in page
    assert 'id="video-join-button"' not in page
    assert "The button to join the video call appears here" in page


@pytest.mark.parametrize(("minutes", "shown"), [(16, False), (14, True)])
def test_home_offers_the_join_button_from_15_minutes_before_the_start(portal, kim, minutes, shown):
    AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.VIDEO,
        starts_at=_in(minutes),
        ends_at=_in(minutes + 30),
    )
    assert ('id="video-join-button"' in _home(portal)) is shown


def test_home_offers_the_join_button_until_the_end(portal, kim):
    AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.VIDEO,
        starts_at=_in(-29),
        ends_at=_in(1),
    )
    assert 'id="video-join-button"' in _home(portal)


def test_home_says_who_calls_whom_and_at_which_number_for_a_phone_appointment(portal, kim):
    AppointmentFactory(client=kim, case_manager=kim.case_manager, channel=Channel.PHONE)
    page = _home(portal)
    name = kim.case_manager.display_name
    # The number keeps its own direction in right-to-left languages (a left-to-right isolate).
    number = '<bdi dir="ltr" class="ltr-value">0170 1234567</bdi>'
    assert f"{name} calls you at {number}." in page


def test_home_says_when_no_number_is_on_file(portal, kim):
    kim.mobile_number = ""
    kim.save()
    AppointmentFactory(client=kim, case_manager=kim.case_manager, channel=Channel.PHONE)
    assert "We have no phone number for you" in _home(portal)


def test_home_shows_the_address_with_a_plain_map_link_and_coming_or_not(portal, kim, settings):
    settings.APPOINTMENT_WHAT_TO_BRING = ""
    appointment = AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.ON_SITE,
        location="Jobcenter\nMarktplatz 1\n88212 Ravensburg",
    )
    page = _home(portal)
    assert "Marktplatz 1" in page
    assert (
        "https://www.openstreetmap.org/search?query=Jobcenter+Marktplatz+1+88212+Ravensburg" in page
    )
    assert reverse("appointments:portal_confirm", args=[appointment.pk]) in page
    assert reverse("appointments:portal_detail", args=[appointment.pk]) + "#cancel" in page
    # Nothing to bring is invented when the office has configured nothing.
    assert 'id="next-appointment-bring"' not in page
    settings.APPOINTMENT_WHAT_TO_BRING = "Personalausweis"
    assert "Personalausweis" in _home(portal)


def test_i_am_coming_on_home_confirms_the_appointment(portal, kim):
    appointment = AppointmentFactory(
        client=kim, case_manager=kim.case_manager, channel=Channel.ON_SITE, location="Markt 1"
    )
    portal.post(reverse("appointments:portal_confirm", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None
    assert "You have confirmed that you will come." in _home(portal)


def test_home_never_shows_another_clients_appointment(portal, kim, case_manager):
    other = portal_client(case_manager=case_manager, email="other@example.org")
    foreign = AppointmentFactory(
        client=other, case_manager=case_manager, channel=Channel.VIDEO, starts_at=_in(5)
    )
    page = _home(portal)
    assert f'data-appointment="{foreign.pk}"' not in page
    assert reverse("video_calls:call", kwargs={"appointment_pk": foreign.pk}) not in page
    assert 'id="next-appointment-none"' in page


def test_home_skips_cancelled_and_ended_appointments(portal, kim):
    AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        status=AppointmentStatus.CANCELLED,
        starts_at=_in(60),
        ends_at=_in(90),
    )
    AppointmentFactory(
        client=kim, case_manager=kim.case_manager, starts_at=_in(-90), ends_at=_in(-60)
    )
    later = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    page = _home(portal)
    assert f'id="next-appointment" data-appointment="{later.pk}"' in page


def test_reading_home_is_audited(portal, kim):
    appointment = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    _home(portal)
    assert AuditEntry.objects.filter(
        action="appointment.read", target_id=str(appointment.pk), actor_id=kim.user.pk
    ).exists()


def _fill(kim, count: int) -> None:
    for index in range(count):
        AppointmentFactory(
            client=kim,
            case_manager=kim.case_manager,
            channel=Channel.VIDEO,
            starts_at=_in(5 + index * 60 * 24),
            ends_at=_in(35 + index * 60 * 24),
        )
        decision_in_postbox_for(kim)
        plan_issued_for(kim)
        confirmation_for(kim)
        DocumentRequestFactory(client=kim)


def test_home_query_count_does_not_grow_with_the_data(portal, kim):
    _fill(kim, 1)
    _home(portal)  # the first request of a session also touches the session and caches
    with CaptureQueriesContext(connection) as few:
        _home(portal)
    _fill(kim, 4)
    with CaptureQueriesContext(connection) as many:
        _home(portal)
    assert len(many) == len(few)
    assert len(few) <= 40, [query["sql"] for query in few.captured_queries]


def _page_queries(captured) -> list[str]:
    """The home's own queries: without the session and the account every page loads."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if "django_session" not in query["sql"] and 'FROM "accounts_user"' not in query["sql"]
    ]


def test_home_reads_one_query_per_section_and_writes_no_session_activity(portal, kim):
    """Client and consents, unread messages, next appointment, postbox news, document
    requests, forms news: one query each (ADR 0092); the session's activity row is not
    written again."""
    _home(portal)
    with CaptureQueriesContext(connection) as empty:
        _home(portal)
    assert len(_page_queries(empty)) == 7, _page_queries(empty)
    assert not [sql for sql in _page_queries(empty) if "usersession" in sql]

    _fill(kim, 2)
    with CaptureQueriesContext(connection) as full:
        page = _home(portal)
    # Only when there is an appointment: the appointment by its key, the head of the audit
    # chain for its read entry (PostgreSQL takes the chain's lock first), and the video
    # card's consent and call checks.
    reads = [
        sql
        for sql in _page_queries(full)
        if sql.startswith("SELECT") and "pg_advisory_xact_lock" not in sql
    ]
    assert len(reads) == 11, "\n".join(sql[:90] for sql in _page_queries(full))
    assert len([sql for sql in _page_queries(full) if sql.startswith("INSERT")]) == 1
    assert 'id="next-appointment" data-appointment=' in page
    assert not [sql for sql in _page_queries(full) if "usersession" in sql]


# --- Home: which place has news ----------------------------------------------------------------


def test_home_counts_unread_decisions_and_new_plan_versions_in_the_postbox(portal, kim):
    assert "Nothing new." in _home(portal)
    decision = decision_in_postbox_for(kim)
    plan_issued_for(kim)
    page = _home(portal)
    assert 'data-new-count="2"' in page
    assert "2 new items from the Jobcenter." in page
    # Reading the decision and the plan takes them off the count.
    portal.get(reverse("agreements:portal_decision", args=[decision.pk]))
    assert 'data-new-count="1"' in _home(portal)
    plan = CooperationPlan.objects.get(client=kim)
    portal.get(reverse("agreements:portal_plan", args=[plan.pk]))
    assert "Nothing new." in _home(portal)


def test_staff_reading_a_plan_does_not_mark_it_read_for_the_client(client, kim, case_manager):
    plan = plan_issued_for(kim)
    assert not agreement_services.plan_mark_seen(actor=case_manager, plan=plan)
    plan.refresh_from_db()
    assert plan.client_seen_version == 0


def test_home_counts_declarations_waiting_for_confirmation(portal, kim):
    confirmation_for(kim)
    assert "1 declaration waits for your confirmation." in _home(portal)


def test_home_has_one_tile_for_the_postbox_and_one_for_sending(portal, kim):
    page = _home(portal)
    assert page.count('href="' + reverse("agreements:portal") + '"') == 1
    assert 'id="document-requests-tile"' in page
    assert reverse("documents:portal") in page
    assert reverse("clients:portal_postbox") not in page


def test_unread_decisions_without_the_delivery_consent_are_not_counted(portal, kim):
    decision_in_postbox_for(kim)
    kim.consents.filter(purpose=ConsentPurpose.ELECTRONIC_DELIVERY).update(
        withdrawn_at=timezone.now()
    )
    page = _home(portal)
    assert "data-new-count" not in page
    assert 'id="delivery-off-tile"' in page


# --- The postbox -------------------------------------------------------------------------------


def test_postbox_lists_a_delivered_decision_with_read_state_and_announcement_date(portal, kim):
    decision = decision_in_postbox_for(kim)
    agreement_services.decision_notice_deliver(decision_id=decision.pk)
    decision.refresh_from_db()
    assert decision.announced_on is not None
    page = portal.get(reverse("agreements:portal")).content.decode()
    assert f'data-decision="{decision.pk}"' in page
    assert f"Counts as announced on {decision.announced_on:%d.%m.%Y}" in page
    assert "not read yet" in page
    portal.get(reverse("agreements:portal_decision", args=[decision.pk]))
    page = portal.get(reverse("agreements:portal")).content.decode()
    assert f"Read on {timezone.localdate():%d.%m.%Y}" in page
    assert "not read yet" not in page


def test_postbox_lists_the_issued_plan_version_with_its_date(portal, kim):
    plan = plan_issued_for(kim)
    page = portal.get(reverse("agreements:portal")).content.decode()
    assert f'data-plan="{plan.pk}"' in page
    assert f"handed over on {timezone.localdate():%d.%m.%Y}" in page


def test_postbox_never_lists_another_clients_decision(portal, kim, case_manager):
    other = portal_client(case_manager=case_manager, email="other@example.org")
    foreign = decision_in_postbox_for(other)
    page = portal.get(reverse("agreements:portal")).content.decode()
    assert f'data-decision="{foreign.pk}"' not in page


def test_postbox_query_count_does_not_grow_with_the_data(portal, kim):
    _fill(kim, 1)
    portal.get(reverse("agreements:portal"))
    with CaptureQueriesContext(connection) as few:
        portal.get(reverse("agreements:portal"))
    _fill(kim, 4)
    with CaptureQueriesContext(connection) as many:
        portal.get(reverse("agreements:portal"))
    assert len(many) == len(few)


# --- The video page ----------------------------------------------------------------------------


def test_video_page_lists_upcoming_with_the_join_button_and_past_ones(portal, kim):
    soon = AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.VIDEO,
        starts_at=_in(5),
        ends_at=_in(35),
    )
    later = AppointmentFactory(client=kim, case_manager=kim.case_manager, channel=Channel.VIDEO)
    past = AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.VIDEO,
        starts_at=_in(-24 * 60),
        ends_at=_in(-24 * 60 + 30),
        status=AppointmentStatus.HELD,
    )
    phone = AppointmentFactory(
        client=kim,
        case_manager=kim.case_manager,
        channel=Channel.PHONE,
        starts_at=_in(48 * 60),
        ends_at=_in(48 * 60 + 30),
    )
    page = portal.get(reverse("appointments:portal_video")).content.decode()
    assert f'data-join="{soon.pk}"' in page
    assert f'data-join="{later.pk}"' not in page
    assert f'data-appointment="{later.pk}"' in page
    assert f'data-appointment="{past.pk}"' in page
    assert f'data-appointment="{phone.pk}"' not in page


def test_video_page_never_lists_another_clients_appointment(portal, kim, case_manager):
    other = portal_client(case_manager=case_manager, email="other@example.org")
    foreign = AppointmentFactory(
        client=other, case_manager=case_manager, channel=Channel.VIDEO, starts_at=_in(5)
    )
    page = portal.get(reverse("appointments:portal_video")).content.decode()
    assert f'data-appointment="{foreign.pk}"' not in page


def test_staff_get_the_other_role_page_on_the_video_page(client, case_manager):
    page = login(client, case_manager).get(reverse("appointments:portal_video"))
    assert is_other_role_response(page)


# --- Every page with an empty state: with data, never the empty text ---------------------------


@dataclass(frozen=True)
class EmptyState:
    url: str
    empty_text: str
    make: Callable[[Any], str]  # creates data for the page, returns a marker of it in the HTML


def _make_video(kim) -> str:
    appointment = AppointmentFactory(
        client=kim, case_manager=kim.case_manager, channel=Channel.VIDEO
    )
    return f'data-appointment="{appointment.pk}"'


def _make_decision(kim) -> str:
    return f'data-decision="{decision_in_postbox_for(kim).pk}"'


def _make_plan(kim) -> str:
    return f'data-plan="{plan_issued_for(kim).pk}"'


def _make_next_appointment(kim) -> str:
    appointment = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    return f'id="next-appointment" data-appointment="{appointment.pk}"'


def _make_upcoming(kim) -> str:
    appointment = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    return reverse("appointments:portal_detail", args=[appointment.pk])


def _make_document_request(kim) -> str:
    request = DocumentRequestFactory(client=kim)
    return f'data-request-id="{request.pk}"'


def _make_office_hours(kim) -> str:
    OfficeHoursFactory(case_manager=kim.case_manager)
    # The booking page offers the next free time and a day picker (issue 12, point 10).
    return "data-next-slot"


def _make_sent_document(kim) -> str:
    document = Document.objects.create(
        client=kim,
        uploaded_by=kim.user,
        uploaded_by_side=Side.CLIENT,
        title="Lohnabrechnung",
        original_name="lohn.pdf",
        status=DocumentStatus.READY,
    )
    return f'data-document="{document.pk}"'


EMPTY_STATES = {
    "video": EmptyState(
        "appointments:portal_video", "You have no video appointments yet.", _make_video
    ),
    "postbox-decisions": EmptyState(
        "agreements:portal", "There are no decisions for you yet.", _make_decision
    ),
    "postbox-plans": EmptyState(
        "agreements:portal", "There is no cooperation plan for you yet.", _make_plan
    ),
    "home-next-appointment": EmptyState(
        "clients:portal_home", "You have no upcoming appointments.", _make_next_appointment
    ),
    "appointments": EmptyState(
        "appointments:portal_list", "You have no upcoming appointments.", _make_upcoming
    ),
    "book": EmptyState(
        "appointments:portal_book",
        "There are no free times at the moment. Please call us or ask your case manager.",
        _make_office_hours,
    ),
    "sent-documents": EmptyState(
        "documents:portal", "You have not sent any documents yet.", _make_sent_document
    ),
    "document-requests": EmptyState(
        "documents:portal_requests",
        "Your Jobcenter is not waiting for any document from you at the moment.",
        _make_document_request,
    ),
}


@pytest.mark.parametrize("name", list(EMPTY_STATES))
def test_a_page_shows_its_empty_state_only_without_data(portal, kim, name):
    state = EMPTY_STATES[name]
    empty = portal.get(reverse(state.url))
    assert empty.status_code == 200
    assert state.empty_text in empty.content.decode()
    marker = state.make(kim)
    full = portal.get(reverse(state.url)).content.decode()
    assert marker in full
    assert state.empty_text not in full


def test_the_move_page_shows_no_free_times_only_without_free_times(portal, kim):
    appointment = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    url = reverse("appointments:portal_move", args=[appointment.pk])
    empty_text = "There are no free times in the office hours at the moment."
    page = portal.get(url).content.decode()
    assert empty_text in page
    assert 'id="move-form"' not in page
    OfficeHoursFactory(case_manager=kim.case_manager)
    page = portal.get(url).content.decode()
    assert 'id="move-form"' in page
    assert empty_text not in page


# --- Moving an appointment within the office's rules ---------------------------------------------


@pytest.fixture
def office_hours(kim):
    """Client-bookable office hours next Tuesday and Wednesday, for phone and video."""
    return OfficeHoursFactory(
        case_manager=kim.case_manager,
        weekday=(timezone.localdate() + datetime.timedelta(days=3)).weekday(),
        channels=[Channel.PHONE, Channel.VIDEO],
    )


def _slot(office_hours) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=3)
    return timezone.make_aware(datetime.datetime.combine(day, office_hours.start_time))


def test_the_client_moves_an_appointment_to_a_free_slot(portal, kim, office_hours, mailoutbox):
    appointment = AppointmentFactory(
        client=kim, case_manager=kim.case_manager, channel=Channel.PHONE
    )
    page = portal.get(reverse("appointments:portal_move", args=[appointment.pk])).content.decode()
    starts = _slot(office_hours)
    value = f"{office_hours.pk}|{starts.isoformat()}"
    assert value in page
    response = portal.post(
        reverse("appointments:portal_move", args=[appointment.pk]), {"slot": value}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == starts
    assert appointment.ends_at == starts + datetime.timedelta(minutes=office_hours.slot_minutes)
    assert appointment.sequence == 1
    assert AuditEntry.objects.filter(
        action="appointment.move_by_client", target_id=str(appointment.pk)
    ).exists()


def test_the_client_cannot_move_within_24_hours(portal, kim, office_hours):
    appointment = AppointmentFactory(
        client=kim, case_manager=kim.case_manager, starts_at=_in(120), ends_at=_in(150)
    )
    before = appointment.starts_at
    page = portal.get(reverse("appointments:portal_move", args=[appointment.pk])).content.decode()
    assert 'id="move-not-possible"' in page
    detail = portal.get(
        reverse("appointments:portal_detail", args=[appointment.pk])
    ).content.decode()
    assert reverse("appointments:portal_move", args=[appointment.pk]) not in detail
    value = f"{office_hours.pk}|{_slot(office_hours).isoformat()}"
    portal.post(reverse("appointments:portal_move", args=[appointment.pk]), {"slot": value})
    appointment.refresh_from_db()
    assert appointment.starts_at == before


def test_the_client_cannot_move_to_a_time_outside_the_office_hours(portal, kim, office_hours):
    appointment = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    before = appointment.starts_at
    odd = _slot(office_hours) + datetime.timedelta(minutes=7)
    portal.post(
        reverse("appointments:portal_move", args=[appointment.pk]),
        {"slot": f"{office_hours.pk}|{odd.isoformat()}"},
    )
    appointment.refresh_from_db()
    assert appointment.starts_at == before


def test_the_client_cannot_move_to_a_taken_slot(portal, kim, office_hours, case_manager):
    other = portal_client(case_manager=case_manager, email="other@example.org")
    AppointmentFactory(
        client=other,
        case_manager=case_manager,
        starts_at=_slot(office_hours),
        ends_at=_slot(office_hours) + datetime.timedelta(minutes=30),
    )
    appointment = AppointmentFactory(client=kim, case_manager=kim.case_manager)
    page = portal.get(reverse("appointments:portal_move", args=[appointment.pk])).content.decode()
    taken = f"{office_hours.pk}|{_slot(office_hours).isoformat()}"
    assert taken not in page
    portal.post(reverse("appointments:portal_move", args=[appointment.pk]), {"slot": taken})
    appointment.refresh_from_db()
    assert appointment.starts_at != _slot(office_hours)


def test_another_clients_appointment_cannot_be_moved(portal, kim, office_hours, case_manager):
    other = portal_client(case_manager=case_manager, email="other@example.org")
    foreign = AppointmentFactory(client=other, case_manager=case_manager)
    before = foreign.starts_at
    url = reverse("appointments:portal_move", args=[foreign.pk])
    assert portal.get(url).status_code == 404
    value = f"{office_hours.pk}|{_slot(office_hours).isoformat()}"
    assert portal.post(url, {"slot": value}).status_code == 404
    assert Appointment.objects.get(pk=foreign.pk).starts_at == before
