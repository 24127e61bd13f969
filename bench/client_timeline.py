"""The client page with its timeline: server time for a case manager with 80 clients and a year
of data each, beside a bare Django page measured in the same run (issue 14).

Usage:
    .venv/bin/python bench/client_timeline.py [--runs 200] [--clients 80]

Runs in one process on a throw-away SQLite database (or DATABASE_URL's server, in a database
of its own) with the test settings. "Server time" is the time Django needs for the request
through the whole middleware stack, measured around the in-process test client: no network,
no browser. Both pages are requested alternately, so load on the machine hits both alike.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=80)
    args = parser.parse_args()

    import django

    django.setup()
    from allauth.mfa.models import Authenticator
    from django.db import connection
    from django.test import Client as WebClient
    from django.test.utils import (
        CaptureQueriesContext,
        override_settings,
        setup_test_environment,
    )
    from django.urls import reverse

    from bench.story_data import StorySize, client_story_make
    from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
    from sprechstunde.clients.factories import ClientFactory

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        case_manager = CaseManagerFactory(team=TeamFactory())
        Authenticator.objects.get_or_create(
            user=case_manager, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "A" * 32}}
        )
        started = time.monotonic()
        size = StorySize(weeks=52)
        clients = [ClientFactory(case_manager=case_manager) for _ in range(args.clients)]
        for client in clients:
            client_story_make(client=client, size=size)
        made = time.monotonic() - started
        subject = clients[0]
        browser = WebClient()
        browser.force_login(case_manager)
        timeline_path = reverse("clients:detail", args=[subject.pk])
        bare_path = "/__bench__/bare/"
        timings: dict[str, list[float]] = {"bare": [], "timeline": []}
        with override_settings(ROOT_URLCONF="bench.urls_bench"):
            for path in (bare_path, timeline_path):
                assert browser.get(path).status_code == 200, path  # warm-up
            with CaptureQueriesContext(connection) as queries:
                browser.get(timeline_path)
            query_count = len(queries)
            for _ in range(args.runs):
                for name, path in (("bare", bare_path), ("timeline", timeline_path)):
                    begin = time.perf_counter()
                    response = browser.get(path)
                    timings[name].append((time.perf_counter() - begin) * 1000)
                    assert response.status_code == 200
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"Client timeline bench, {args.runs} runs per page, {connection.vendor}")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"Data: 1 case manager, {args.clients} clients with {size.entries} timeline entries "
        f"each ({args.clients * size.entries} in all), made in {made:.0f} s"
    )
    print(f"Queries for the client page: {query_count}")
    print(f"{'page':<26}{'p50 ms':>8}{'p95 ms':>8}{'mean ms':>9}")
    for name, label in (("bare", "bare Django page"), ("timeline", "client page with timeline")):
        values = timings[name]
        print(
            f"{label:<26}{statistics.median(values):>8.1f}{_percentile(values, 0.95):>8.1f}"
            f"{statistics.fmean(values):>9.1f}"
        )


if __name__ == "__main__":
    main()
