"""Time to send N due reminders with one worker, and the queries per reminder.

Usage: .venv/bin/python bench/reminders.py [--count 10000]
Runs on a fresh throw-away database: SQLite by default, PostgreSQL when DATABASE_URL is set.
E-mail goes to Django's in-memory backend, so the figure is our work, not an SMTP server's.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import (
        CaptureQueriesContext,
        setup_test_environment,
        teardown_test_environment,
    )

    setup_test_environment()  # locmem e-mail backend
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        count = args.count
        _fill(count)
        from django.core import mail

        from sprechstunde.appointments.reminders import reminders_send_due

        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            outcome = reminders_send_due()
        seconds = time.perf_counter() - started
        print(f"database: {connection.vendor}")
        print(f"reminders due: {count}, outcome: {outcome}, mails: {len(mail.outbox)}")
        print(f"time: {seconds:.1f} s ({count / seconds:.0f} reminders/s, one worker)")
        print(f"queries: {len(queries)} ({len(queries) / count:.3f} per reminder)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def _fill(count: int) -> None:
    """`count` booked appointments tomorrow-ish, each with one reminder that is due now."""
    from django.utils import timezone

    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.models import Team, User
    from sprechstunde.appointments.choices import AppointmentStatus, BookingSource, Channel
    from sprechstunde.appointments.models import Appointment, Reminder
    from sprechstunde.clients.models import Client

    team = Team.objects.create(name="Bench")
    managers = User.objects.bulk_create(
        User(email=f"fm{i}@bench.example", role=Role.CASE_MANAGER, team=team) for i in range(50)
    )
    clients = Client.objects.bulk_create(
        Client(
            first_name="Kim",
            last_name=f"Bench{i}",
            email=f"k{i}@bench.example",
            case_manager=managers[i % len(managers)],
        )
        for i in range(min(count, 2000))
    )
    accounts = User.objects.bulk_create(
        User(email=f"portal{i}@bench.example", role=Role.CLIENT) for i in range(len(clients))
    )
    for client, account in zip(clients, accounts, strict=True):
        client.user = account
    Client.objects.bulk_update(clients, ["user"])
    start = timezone.now() + datetime.timedelta(days=2)
    appointments = Appointment.objects.bulk_create(
        Appointment(
            case_manager=clients[i % len(clients)].case_manager,
            client=clients[i % len(clients)],
            starts_at=start + datetime.timedelta(minutes=30 * i),
            ends_at=start + datetime.timedelta(minutes=30 * i + 30),
            channel=Channel.PHONE,
            status=AppointmentStatus.BOOKED,
            source=BookingSource.DIRECT,
        )
        for i in range(count)
    )
    due = timezone.now() - datetime.timedelta(minutes=1)
    Reminder.objects.bulk_create(
        Reminder(appointment=a, sequence=0, step_minutes=60, channel="email", due_at=due)
        for a in appointments
    )


if __name__ == "__main__":
    main()
