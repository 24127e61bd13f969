"""The database connections of a server process stay bounded (ADR 0038).

Under ASGI, Django's persistent connections (CONN_MAX_AGE) belong to the thread a request
ran in and pile up until PostgreSQL refuses new clients. With PostgreSQL the settings turn on
a connection pool per process instead. The burst test runs `bench/database_connections.py`'s
measurement briefly; it needs the PostgreSQL server CI runs (127.0.0.1:5432, or the one
DATABASE_URL names), and under CI=true a skip is a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench import database_connections

POOL_SIZE = 4


def _database_settings(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'pool': db.get('OPTIONS', {}).get('pool'), "
        "'age': db['CONN_MAX_AGE'], 'checks': db['CONN_HEALTH_CHECKS']}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=database_connections.production_environment(str(tmp_path), **overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_postgresql_gets_a_bounded_pool_and_sqlite_none(tmp_path):
    url = "postgres://app@db.example:5432/sprechstunde"
    default = _database_settings(tmp_path, DATABASE_URL=url)
    sized = _database_settings(
        tmp_path, DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="25", DATABASE_POOL_TIMEOUT="3"
    )
    persistent = _database_settings(
        tmp_path, DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="0", DATABASE_CONN_MAX_AGE="60"
    )
    sqlite = _database_settings(tmp_path)

    for result in (default, sized, persistent, sqlite):
        assert result.returncode == 0, result.stderr
    assert json.loads(default.stdout) == {
        "pool": {"min_size": 2, "max_size": 10, "timeout": 10.0},
        "age": 0,
        "checks": True,
    }
    assert json.loads(sized.stdout)["pool"] == {"min_size": 2, "max_size": 25, "timeout": 3.0}
    assert json.loads(persistent.stdout)["pool"] is None
    assert json.loads(persistent.stdout)["age"] == 60
    assert json.loads(sqlite.stdout)["pool"] is None


def test_persistent_connections_beside_the_pool_are_refused_with_a_clear_message(tmp_path):
    refused = _database_settings(
        tmp_path,
        DATABASE_URL="postgres://app@db.example:5432/sprechstunde",
        DATABASE_CONN_MAX_AGE="60",
    )

    assert refused.returncode != 0
    assert "DATABASE_CONN_MAX_AGE must be 0" in refused.stderr
    assert "DATABASE_POOL_MAX_SIZE=0" in refused.stderr


def test_a_burst_of_requests_stays_within_the_pool_and_every_request_succeeds():
    database = database_connections.postgres_url()
    try:
        psycopg.connect(database_connections.libpq_url(database), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server at {database}: {error}")

    result = database_connections.measure(
        "pool",
        database,
        {"DATABASE_POOL_MAX_SIZE": str(POOL_SIZE)},
        clients=10 * POOL_SIZE,
        seconds=3,
    )

    assert 1 <= result.peak_connections <= POOL_SIZE
    assert result.not_ok == 0
    assert result.requests >= 10 * POOL_SIZE
