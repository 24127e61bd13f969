"""bench/jobcenter_day.py keeps working: the whole stack (PostgreSQL, Redis, SeaweedFS, clamd,
two web nodes, a task worker) with a tiny day, played for a few seconds; every kind of work
ran and none had an error. No timings are asserted."""

from __future__ import annotations

import os
import shutil
import urllib.parse
import uuid

import pytest

from bench import jobcenter_day

PG_SERVER = os.environ.get("SCALE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("SCALE_TEST_REDIS", "redis://127.0.0.1:6379/13")


@pytest.fixture
def database_url() -> str:
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(jobcenter_day._libpq(PG_SERVER), connect_timeout=5).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server at {PG_SERVER}: {error}")
    if shutil.which("clamd") is None:
        pytest.skip("clamd is not installed")
    parts = urllib.parse.urlsplit(PG_SERVER)
    return urllib.parse.urlunsplit(parts._replace(path=f"/test_day_{uuid.uuid4().hex[:8]}"))


def test_a_tiny_day_plays_every_kind_without_errors(database_url, monkeypatch):
    # The machine may be busy: this test is about every kind working, not about its time.
    monkeypatch.setattr(jobcenter_day, "REQUEST_TIMEOUT", 120.0)
    day = {"staff": 2, "clients": 24, "appointments": 12, "active": 12}
    with jobcenter_day.running_stack(
        database_url=database_url, redis_url=REDIS, nodes=2, day=day
    ) as stack:
        assert stack.fixtures["counts"]["clients"] == 24
        assert stack.fixtures["counts"]["appointments"] == 12
        assert stack.fixtures["calls"], "no video call is open now"
        # One of each kind of work every four seconds, for a few seconds (the first of each
        # kind comes early, so each runs even in so short a time).
        rates = dict.fromkeys(jobcenter_day.PEAK_RATES, 0.25)
        step = jobcenter_day.play_step(stack, scale=1, duration=6, rates=rates)
        # The nodes' and the worker's error lines, to say why if a kind had errors (the
        # stack's folder is removed when it stops).
        failures = _error_lines(stack.folder)
    played = {row["work"] for row in step.rows}
    expected = set(jobcenter_day.PEAK_RATES)
    if not stack.fixtures["eforms"]:
        expected.discard("form submission")
    assert played == expected
    for row in step.rows:
        assert row["count"] > 0, (row, step.samples)
        assert row["errors"] == 0, (row, step.samples, failures)
    assert "ready" in step.documents


def _error_lines(folder) -> list[str]:
    lines: list[str] = []
    for log in sorted(folder.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()
        for number, line in enumerate(text):
            if "Traceback" in line or '"level": "ERROR"' in line:
                lines.append(f"{log.name}: " + " | ".join(text[number : number + 40])[-3000:])
    return lines[-5:]
