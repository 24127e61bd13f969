"""No double booking when requests race: real threads, real transactions, own connections.

Runs against SQLite by default and against PostgreSQL when DATABASE_URL points there
(CI does both). The two slots overlap without starting at the same instant, so the
unique constraint alone cannot save us: the calendar lock in the service must.
"""

import datetime
import threading

import pytest
from django.db import connection, connections

from sprechstunde.appointments import services
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.core.errors import ApplicationError

from .conftest import local_dt, next_weekday

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(*calls):
    """Start every call at the same moment in its own thread; collect results or errors."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as error:  # the outcome under test, re-checked below
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("attempt", range(3))
def test_two_racing_bookings_of_overlapping_slots_give_exactly_one_appointment(
    case_manager, attempt
):
    first_client = ClientFactory(case_manager=case_manager)
    second_client = ClientFactory(case_manager=case_manager)
    day = next_weekday(4)
    start = local_dt(day, 10)

    def book(client, offset):
        return lambda: services.appointment_book(
            actor=case_manager,
            client=client,
            starts_at=start + datetime.timedelta(minutes=offset),
            ends_at=start + datetime.timedelta(minutes=offset + 30),
            channel=Channel.PHONE,
        )

    outcomes = run_concurrently(book(first_client, 0), book(second_client, 15))

    booked = [o for o in outcomes if isinstance(o, Appointment)]
    refused = [o for o in outcomes if isinstance(o, ApplicationError)]
    assert len(booked) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert "already taken" in str(refused[0].message)
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 1


def test_racing_proposal_accept_and_direct_booking_do_not_overlap(case_manager):
    from .conftest import client_user

    client = ClientFactory(case_manager=case_manager, user=client_user("race@example.org"))
    day = next_weekday(4)
    slot = (local_dt(day, 14), local_dt(day, 14, 30))
    proposal = services.appointment_propose(
        actor=case_manager, client=client, slots=[slot], channel=Channel.PHONE
    )
    slot_id = proposal.proposed_slots.get().pk
    other = ClientFactory(case_manager=case_manager)

    outcomes = run_concurrently(
        lambda: services.proposal_accept(actor=client.user, appointment=proposal, slot_id=slot_id),
        lambda: services.appointment_book(
            actor=case_manager,
            client=other,
            starts_at=slot[0] + datetime.timedelta(minutes=10),
            ends_at=slot[1] + datetime.timedelta(minutes=10),
            channel=Channel.PHONE,
        ),
    )

    assert sum(isinstance(o, Appointment) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, ApplicationError) for o in outcomes) == 1, outcomes
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 1
    assert connection.vendor in {"sqlite", "postgresql"}
