"""Reminders: the time one worker needs for N due reminders, and the queries per reminder,
on SQLite and on PostgreSQL, each beside baselines measured in the same run.

Usage:
    .venv/bin/python bench/reminders.py [--count 10000] [--databases sqlite,postgresql]
                                        [--conn-max-age 0,600]

PostgreSQL is reached through DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
the bench creates its own database `bench_sprechstunde` on that server and drops it afterwards.
SQLite uses a throw-away file. E-mail goes to Django's in-memory backend, so the figures are our
work (rendering the mail with its three signed links included), not an SMTP server's.

What is timed, each on freshly created rows, with one worker in one process:

* baseline, bare SQL: N single-row INSERTs, then N primary-key SELECTs (autocommit, one round
  trip each), i.e. the floor of "one write and one read per item" on this database;
* baseline, no-op tasks: N tasks that do nothing, run through the persistent queue
  (django-tasks-db) by its worker, i.e. what the queue itself costs per job
  (BENCH_SKIP_NOOP=1 leaves this one out: on PostgreSQL it alone takes minutes);
* reminders through the queue: the production path. Booking queues one sweep job per minute
  in which reminders fall due (`reminder_sweep_schedule`); here the N reminders fall due over
  the last 60 minutes (a morning's backlog), so 60 sweep jobs wait, run by the same worker;
* (with BENCH_LEGACY=1) one `reminder_send` job per reminder, as earlier versions queued them;
* reminders by the sweep: `reminders_send_due()`, which claims and sends in batches of 200
  (the safety net after downtime, and the path without a persistent queue).

Each database is measured once per DATABASE_CONN_MAX_AGE given: 0 (the default: the worker,
like `manage.py db_worker`, closes its connection after every job and opens a new one) and a
persistent connection (600 s). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "bench_sprechstunde"
RESULT_MARK = "BENCH-RESULT "


def noop_reminder(reminder_id: int) -> str:
    """The baseline job: takes a reminder id like reminder_send, and does nothing with it."""
    return "noop"


# --- the child: one database, every measurement --------------------------------------------------


def _child(count: int) -> dict[str, Any]:
    import django

    django.setup()
    for name in ("django_tasks", "django_tasks_db"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from django.db import connection
    from django.test.utils import (
        override_settings,
        setup_test_environment,
        teardown_test_environment,
    )

    setup_test_environment()  # locmem e-mail backend
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
            from django_tasks import task

            # The worker finds a job's function by its dotted path: make that path the Task.
            globals()["noop_reminder"] = task()(noop_reminder)
            results = {
                "database": connection.vendor,
                "server": _server_version(connection).split(" (")[0],
                "count": count,
                "conn_max_age": connection.settings_dict.get("CONN_MAX_AGE"),
                "runs": [
                    _bare_sql(count),
                    *([] if os.environ.get("BENCH_SKIP_NOOP") else [_noop_tasks(count)]),
                    _reminders_through_sweeps(count),
                    _reminders_by_sweep(count),
                    *([_reminders_through_queue(count)] if os.environ.get("BENCH_LEGACY") else []),
                ],
            }
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return results


def _server_version(connection: Any) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


class _Timed:
    """Times a block and counts the statements it sends, BEGIN and COMMIT included (Django
    logs them too), also across reconnects."""

    def __enter__(self) -> _Timed:
        from collections import deque

        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        # Django keeps the last 9000 queries only; a run sends more than that.
        connection.queries_limit = 10_000_000
        connection.queries_log = deque(maxlen=connection.queries_limit)

        self._capture = CaptureQueriesContext(connection)
        self._capture.__enter__()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self._capture.__exit__(*exc)
        self.queries = len(self._capture.captured_queries)


def _run(name: str, count: int, timed: _Timed, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "seconds": round(timed.seconds, 2),
        "per_second": round(count / timed.seconds),
        "queries": timed.queries,
        "queries_per_item": round(timed.queries / count, 2),
        **extra,
    }


def _bare_sql(count: int) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("create table bench_baseline (id integer primary key, payload varchar(40))")
    insert = "insert into bench_baseline (id, payload) values (%s, %s)"
    select = "select id, payload from bench_baseline where id = %s"
    with _Timed() as timed, connection.cursor() as cursor:
        for number in range(1, count + 1):
            cursor.execute(insert, [number, f"reminder {number}"])
        for number in range(1, count + 1):
            cursor.execute(select, [number])
            cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("drop table bench_baseline")
    return _run("baseline: bare SQL, 1 INSERT + 1 SELECT per item", count, timed)


def _work_queue() -> dict[str, Any]:
    """Runs the django-tasks-db worker in this process until the queue is empty."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=[DEFAULT_TASK_QUEUE_NAME],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id="bench-worker",
        excluded_queue_names=[],
    )
    worker.run()
    return {
        status: DBTaskResult.objects.filter(status=status).count()
        for status in ("SUCCESSFUL", "FAILED", "READY")
    }


def _noop_tasks(count: int) -> dict[str, Any]:
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    task = globals()["noop_reminder"]
    with transaction.atomic():
        for number in range(count):
            task.enqueue(number)
    with _Timed() as timed:
        states = _work_queue()
    DBTaskResult.objects.all().delete()
    return _run("baseline: no-op job through the queue", count, timed, jobs=states)


_batch = 0


def _due_reminders(count: int) -> list[int]:
    """`count` booked appointments in two days or later, each with one reminder due now."""
    from django.utils import timezone

    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.models import Team, User
    from sprechstunde.appointments.choices import AppointmentStatus, BookingSource, Channel
    from sprechstunde.appointments.models import Appointment, Reminder
    from sprechstunde.clients.models import Client

    global _batch
    _batch += 1
    team = Team.objects.create(name=f"Bench {_batch}")
    managers = User.objects.bulk_create(
        User(email=f"fm{i}-{_batch}@bench.example", role=Role.CASE_MANAGER, team=team)
        for i in range(50)
    )
    accounts = User.objects.bulk_create(
        User(email=f"portal{i}-{_batch}@bench.example", role=Role.CLIENT)
        for i in range(min(count, 2000))
    )
    clients = Client.objects.bulk_create(
        Client(
            first_name="Kim",
            last_name=f"Bench{i}",
            email=f"k{i}-{_batch}@bench.example",
            case_manager=managers[i % len(managers)],
            user=account,
        )
        for i, account in enumerate(accounts)
    )
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
    reminders = Reminder.objects.bulk_create(
        Reminder(appointment=a, sequence=0, step_minutes=60, channel="email", due_at=due)
        for a in appointments
    )
    if any(r.pk is None for r in reminders):  # backends that do not return ids on bulk insert
        return list(
            Reminder.objects.filter(appointment__in=appointments).values_list("pk", flat=True)
        )
    return [r.pk for r in reminders]


def _sent(ids: list[int]) -> dict[str, int]:
    from django.core import mail

    from sprechstunde.appointments.models import Reminder

    chunk = 5000  # SQLite's limit on query parameters
    sent = sum(
        Reminder.objects.filter(pk__in=ids[i : i + chunk], sent_at__isnull=False).count()
        for i in range(0, len(ids), chunk)
    )
    return {"sent": sent, "mails": len(mail.outbox)}


def _reminders_through_sweeps(count: int) -> dict[str, Any]:
    from django.core import mail
    from django.db import transaction
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from sprechstunde.appointments.models import Reminder, ReminderSweep
    from sprechstunde.appointments.reminders import reminder_sweep_schedule

    ids = _due_reminders(count)
    now = timezone.now()
    with transaction.atomic():
        for index, reminder_id in enumerate(ids):
            # What reminders_schedule does at booking, for reminders due over the last hour.
            due_at = now - datetime.timedelta(minutes=1 + index % 60, seconds=30)
            Reminder.objects.filter(pk=reminder_id).update(due_at=due_at)
            reminder_sweep_schedule(run_at=due_at)
    queued = DBTaskResult.objects.count()
    mail.outbox.clear()
    with _Timed() as timed:
        states = _work_queue()
    outcome = _sent(ids)
    DBTaskResult.objects.all().delete()
    ReminderSweep.objects.all().delete()
    return _run(
        "reminders: per-minute sweep jobs through the queue (production)",
        count,
        timed,
        jobs=dict(states, queued=queued),
        **outcome,
    )


def _reminders_through_queue(count: int) -> dict[str, Any]:
    from django.core import mail
    from django.db import transaction
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from sprechstunde.appointments.tasks import reminder_send

    ids = _due_reminders(count)
    run_after = timezone.now() - datetime.timedelta(minutes=1)
    with transaction.atomic():
        for reminder_id in ids:
            # What reminders_schedule does at booking: one job, deferred to the due time.
            reminder_send.using(run_after=run_after).enqueue(reminder_id)
    mail.outbox.clear()
    with _Timed() as timed:
        states = _work_queue()
    outcome = _sent(ids)
    DBTaskResult.objects.all().delete()
    return _run(
        "reminders: one reminder_send job each (earlier versions)",
        count,
        timed,
        jobs=states,
        **outcome,
    )


def _reminders_by_sweep(count: int) -> dict[str, Any]:
    from django.core import mail

    from sprechstunde.appointments.reminders import reminders_send_due

    ids = _due_reminders(count)
    mail.outbox.clear()
    with _Timed() as timed:
        outcomes = reminders_send_due()
    return _run(
        "reminders: sweep reminders_send_due()", count, timed, outcomes=outcomes, **_sent(ids)
    )


# --- the parent: one child process per database, then the table ---------------------------------


def _measure(database: str, count: int, conn_max_age: int) -> dict[str, Any]:
    # Without the PostgreSQL pool, so that CONN_MAX_AGE alone decides (the settings refuse both).
    env = dict(os.environ, DATABASE_CONN_MAX_AGE=str(conn_max_age), DATABASE_POOL_MAX_SIZE="0")
    if database == "sqlite":
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
        env["TEST_DATABASE_NAME"] = BENCH_DATABASE
    completed = subprocess.run(
        [sys.executable, __file__, "--child", "--count", str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return dict(json.loads(line[len(RESULT_MARK) :]))
    sys.stderr.write(completed.stdout + completed.stderr)
    raise SystemExit(f"the {database} run (CONN_MAX_AGE {conn_max_age}) failed")


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | CONN_MAX_AGE | what | time (s) | per second | queries | queries per item |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for run in result["runs"]:
            lines.append(
                f"| {result['server']} | {result['conn_max_age']} | {run['name']} | "
                f"{run['seconds']:.1f} | {run['per_second']} | {run['queries']} | "
                f"{run['queries_per_item']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--conn-max-age", default="0,600", help="DATABASE_CONN_MAX_AGE values")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT_MARK + json.dumps(_child(args.count)))
        return

    results = []
    ages = [int(age) for age in args.conn_max_age.split(",") if age.strip()]
    for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
        for age in ages:
            print(
                f"measuring {args.count} reminders on {database}, CONN_MAX_AGE {age} ...",
                file=sys.stderr,
                flush=True,
            )
            results.append(_measure(database, args.count, age))
    print(
        f"{args.count} due reminders, one worker, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(_table(results))
    for result in results:
        for run in result["runs"]:
            detail = {k: run[k] for k in ("jobs", "outcomes", "sent", "mails") if k in run}
            if detail:
                print(f"{result['database']} ({result['conn_max_age']}), {run['name']}: {detail}")


if __name__ == "__main__":
    main()
