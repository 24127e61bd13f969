"""Server time of the today page for a case manager with 80 clients and a year of data,
beside a bare Django page (same middleware stack, no database, no template) in the same run.

In process, through Django's test client (the whole middleware stack, session, MFA check,
view, templates and the audit entry; no network, no server process). A throw-away SQLite
database (or PostgreSQL when DATABASE_URL names one) is made for the run and dropped after.
Requests to both pages alternate, so both see the same machine load.

    .venv/bin/python bench/desk_today.py [--clients 80] [--requests 200] [--colleagues 4]

Pages: the bare page (baseline), the today page, and its live update as today.js polls it
(`/heute/aktuell/?digest=…` with the digest the page shows: 204 when nothing changed).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as WebClient  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402


def _year_of_data(case_manager, *, clients: int, tag: str) -> None:
    """`clients` clients of `case_manager`, each with a year of appointments, messages,
    documents, requests, plans and decisions; today: 12 appointments, some things to do."""
    from sprechstunde.agreements.factories import DecisionTemplateFactory, PlanTemplateFactory
    from sprechstunde.agreements.models import CooperationPlan, Decision
    from sprechstunde.appointments.choices import AppointmentStatus, BookingSource, Channel
    from sprechstunde.appointments.models import Appointment
    from sprechstunde.clients.models import Client
    from sprechstunde.documents.models import Document, DocumentRequest
    from sprechstunde.messaging.models import Conversation, Message

    now = timezone.now()
    today = timezone.localdate()
    morning = timezone.make_aware(datetime.datetime.combine(today, datetime.time(7, 30)))
    plan_template = PlanTemplateFactory()
    decision_template = DecisionTemplateFactory()
    people = Client.objects.bulk_create(
        Client(
            first_name=f"Vorname{n}",
            last_name=f"{tag}Nachname{n}",
            email=f"{tag.lower()}{n}@example.org",
            case_manager=case_manager,
        )
        for n in range(clients)
    )
    appointments, messages, documents, requests, plans, decisions = [], [], [], [], [], []
    conversations = Conversation.objects.bulk_create(
        Conversation(client=client, last_sequence=30, last_message_at=now) for client in people
    )
    for n, (client, conversation) in enumerate(zip(people, conversations, strict=True)):
        for week in range(0, 52, 2):  # a year of fortnightly appointments
            starts = now - datetime.timedelta(weeks=week, days=1, minutes=35 * n)
            appointments.append(
                Appointment(
                    case_manager=case_manager,
                    client=client,
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(minutes=30),
                    channel=Channel.PHONE if week % 4 else Channel.VIDEO,
                    status=AppointmentStatus.HELD if week % 6 else AppointmentStatus.NO_SHOW,
                    source=BookingSource.DIRECT,
                    booked_at=starts,
                )
            )
        if n < 12:  # the day: 12 appointments from 7:30
            starts = morning + datetime.timedelta(minutes=40 * n)
            appointments.append(
                Appointment(
                    case_manager=case_manager,
                    client=client,
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(minutes=30),
                    channel=Channel.VIDEO if n % 2 else Channel.PHONE,
                    status=AppointmentStatus.BOOKED,
                    source=BookingSource.DIRECT,
                    booked_at=now,
                )
            )
        for sequence in range(1, 31):
            messages.append(
                Message(
                    conversation=conversation,
                    sequence=sequence,
                    client_msg_id=uuid.uuid4(),
                    sender_side="client" if sequence % 2 else "staff",
                    body="Guten Tag, anbei die Unterlagen.",
                    created_at=now - datetime.timedelta(days=31 - sequence),
                )
            )
        for d in range(12):
            documents.append(
                Document(
                    client=client,
                    uploaded_by_side="client",
                    title=f"Nachweis {d}",
                    original_name="scan.pdf",
                    status="ready",
                    is_in_efile=d > 0,  # one new document per client
                    created_at=now - datetime.timedelta(days=30 * d),
                )
            )
        for r in range(6):
            requests.append(
                DocumentRequest(
                    client=client,
                    title=f"Anforderung {r}",
                    due_on=today - datetime.timedelta(days=60 * r - 30),
                    status="open" if r < 2 else "fulfilled",
                )
            )
        for p in range(2):
            plans.append(
                CooperationPlan(
                    client=client,
                    template=plan_template,
                    status="issued",
                    current_version=1 + p,
                    review_on=today + datetime.timedelta(days=3 * n - 30 + 90 * p),
                )
            )
        for k in range(4):
            decisions.append(
                Decision(
                    client=client,
                    template=decision_template,
                    status="waiting_for_seal" if (k == 0 and n % 10 == 0) else "in_postbox",
                    channel="portal",
                    issued_at=now - datetime.timedelta(days=90 * k),
                )
            )
    Appointment.objects.bulk_create(appointments)
    Message.objects.bulk_create(messages, batch_size=2000)
    Document.objects.bulk_create(documents, batch_size=2000)
    DocumentRequest.objects.bulk_create(requests)
    CooperationPlan.objects.bulk_create(plans)
    Decision.objects.bulk_create(decisions)


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=80)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--colleagues", type=int, default=4, help="other case managers alike")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(ROOT_URLCONF="bench.urls_bench", DEBUG=False):
            from tests.test_url_access import log_in

            from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
            from sprechstunde.appointments.models import Appointment
            from sprechstunde.messaging.models import Message

            started = time.perf_counter()
            team = TeamFactory(name="Team Bench")
            case_manager = CaseManagerFactory(team=team, email="bench-fm@jobcenter.example")
            _year_of_data(case_manager, clients=args.clients, tag="Eigen")
            for c in range(args.colleagues):
                colleague = CaseManagerFactory(team=team, email=f"bench-fm{c}@jobcenter.example")
                _year_of_data(colleague, clients=args.clients, tag=f"K{c}")
            made = time.perf_counter() - started

            browser = WebClient()
            log_in(browser, case_manager)
            pages = {"bare": "/__bench__/bare/", "today": "/heute/"}
            for path in pages.values():  # warm up (templates, URL resolver, caches)
                for _ in range(5):
                    assert browser.get(path).status_code == 200, path
            # The live update as today.js polls it: with the digest the page shows, so the
            # usual answer is 204 (nothing changed); it still builds and renders the sections.
            digest = re.search(r'data-digest="([0-9a-f]+)"', browser.get("/heute/").text)
            assert digest is not None
            pages["live"] = f"/heute/aktuell/?digest={digest.group(1)}"
            if os.environ.get("BENCH_SHOW_QUERIES"):
                from django.test.utils import CaptureQueriesContext

                with CaptureQueriesContext(connection) as queries:
                    browser.get(pages["today"])
                for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:6]:
                    print(query["time"], query["sql"][:300])
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(5):
                    browser.get(pages["today"])
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            load_before = os.getloadavg()
            times: dict[str, list[float]] = {name: [] for name in pages}
            cpu: dict[str, list[float]] = {name: [] for name in pages}
            for _ in range(args.requests):
                for name, path in pages.items():
                    t0, c0 = time.perf_counter(), time.process_time()
                    response = browser.get(path)
                    cpu[name].append(time.process_time() - c0)
                    times[name].append(time.perf_counter() - t0)
                    assert response.status_code in (200, 204), (path, response.status_code)

            engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
            print(f"# desk today page, {engine}, Django test client in process")
            print(f"load average before the requests: {load_before}")
            print(
                f"data: {1 + args.colleagues} case managers x {args.clients} clients; "
                f"{Appointment.objects.count()} appointments, {Message.objects.count()} "
                f"messages (made in {made:.1f} s); {args.requests} requests per page"
            )
            # Wall time waits for a CPU on a busy machine; CPU time of this process (SQLite
            # runs inside it) is the work the request needed.
            print(f"{'page':<8} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8} {'CPU p50 ms':>11}")
            for name, samples in times.items():
                ordered = sorted(samples)
                p90 = ordered[int(len(ordered) * 0.9) - 1] * 1000
                print(
                    f"{name:<8} {_p50_ms(samples):>8.1f} {p90:>8.1f} {ordered[-1] * 1000:>8.1f}"
                    f" {_p50_ms(cpu[name]):>11.1f}"
                )
            for name in ("today", "live"):
                print(
                    f"{name} - bare (p50): {_p50_ms(times[name]) - _p50_ms(times['bare']):.1f} ms"
                    f" wall, {_p50_ms(cpu[name]) - _p50_ms(cpu['bare']):.1f} ms CPU"
                )
            print(f"load average after the run: {os.getloadavg()}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
