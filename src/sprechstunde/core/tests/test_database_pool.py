"""The database connections of a server process stay bounded (ADR 0038).

Under ASGI, Django's persistent connections (CONN_MAX_AGE) belong to the thread a request
ran in and pile up until PostgreSQL refuses new clients. With PostgreSQL the settings turn on
a connection pool per process instead. These tests need the PostgreSQL server CI runs
(127.0.0.1:5432, or the one DATABASE_URL names); under CI=true a skip is a failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[4]
POOL_SIZE = 4


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        psycopg.connect(_libpq(url), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server at {url}: {error}")
    return url


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1).split("?", 1)[0]


def _environment(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "PYTEST"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "PYTHONPATH": str(REPO / "src"),
            "DEBUG": "false",
            "SECRET_KEY": "pool-test-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "USE_TLS": "false",
            "EMBEDDED_TASK_WORKER": "false",
            "LOG_LEVEL": "WARNING",
            **overrides,
        }
    )
    return env


def _database_settings(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'pool': db.get('OPTIONS', {}).get('pool'), "
        "'age': db['CONN_MAX_AGE'], 'checks': db['CONN_HEALTH_CHECKS']}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(SPRECHSTUNDE_VAR_DIR=str(tmp_path), **overrides),
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_burst_of_requests_stays_within_the_pool_and_every_request_succeeds(tmp_path):
    base = postgres_url()
    application = f"sprechstunde-pool-test-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        env=_environment(
            SPRECHSTUNDE_VAR_DIR=str(tmp_path),
            DATABASE_URL=f"{base.split('?', 1)[0]}?application_name={application}",
            DATABASE_POOL_MAX_SIZE=str(POOL_SIZE),
        ),
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    health = f"http://127.0.0.1:{port}/gesundheit/"
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        with psycopg.connect(_libpq(base), autocommit=True) as watcher:
            while not done.is_set():
                (count,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [application],
                ).fetchone() or (0,)
                peak = max(peak, int(count))
                time.sleep(0.01)

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(health) == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not come up: {server.communicate()[1][-2000:]}")
            time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        statuses: list[int] = []

        def client() -> None:
            for _ in range(5):
                try:
                    statuses.append(_get(health))
                except OSError:  # refused, reset or timed out
                    statuses.append(-1)

        clients = [threading.Thread(target=client) for _ in range(10 * POOL_SIZE)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=120)
        done.set()
        watcher.join(timeout=10)
    finally:
        done.set()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

    assert 1 <= peak <= POOL_SIZE
    assert statuses == [200] * (50 * POOL_SIZE)
