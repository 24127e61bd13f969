"""Database connections of one uvicorn server process under a burst of requests (ADR 0038).

The same server (production settings, PostgreSQL, `GET /gesundheit/`, one `SELECT 1` per
request) runs three times in one go, each with a fresh process:

* `per request`: no pool, `DATABASE_CONN_MAX_AGE=0` (a new connection per request);
* `persistent`: no pool, `DATABASE_CONN_MAX_AGE=60` (what `.env.example` recommended before);
* `pool`: the default, a pool of `DATABASE_POOL_MAX_SIZE` connections.

For each it prints requests per second, answers other than 200, p50/p99 latency and the most
connections the server held at once (polled from pg_stat_activity by application name).

    .venv/bin/python bench/database_connections.py [--clients 40] [--seconds 10] [--pool 10]

PostgreSQL: DATABASE_URL if it names one, else postgres://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO))

from bench.server import bench_env  # noqa: E402

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_url() -> str:
    """DATABASE_URL if it names PostgreSQL, else the local server CI runs."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else DEFAULT_POSTGRES_URL


def libpq_url(url: str) -> str:
    """`url` as psycopg takes it, without query options."""
    return url.replace("postgres://", "postgresql://", 1).split("?", 1)[0]


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
    except OSError:
        return -1


def production_environment(var_dir: str, **overrides: str) -> dict[str, str]:
    """The bench server's environment (bench/server.py: production settings, DEBUG and TLS
    off), without this process's database settings, plus `overrides`."""
    env = {
        key: value
        for key, value in bench_env(Path(var_dir), 0, None).items()
        if not key.startswith(("DATABASE_", "PYTEST"))
    }
    env.update({"ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "CRITICAL", **overrides})
    return env


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    per_second: float
    not_ok: int  # answers other than 200, and requests that failed
    p50_ms: float
    p99_ms: float
    peak_connections: int


def measure(
    name: str, database: str, extra: dict[str, str], *, clients: int, seconds: float
) -> Result:
    application = f"bench-connections-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    with TemporaryDirectory(prefix="sprechstunde-bench-connections-") as var_dir:
        env = production_environment(
            var_dir,
            DATABASE_URL=f"{database.split('?', 1)[0]}?application_name={application}",
            **extra,
        )
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
                *("--port", str(port), "--lifespan", "off"),
                *("--log-level", "critical", "--no-access-log"),
            ],
            env=env,
            cwd=REPO,
        )
        url = f"http://127.0.0.1:{port}/gesundheit/"
        try:
            deadline = time.monotonic() + 30
            while _get(url) != 200:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: the server did not come up")
                time.sleep(0.1)
            peak = 0
            stop = threading.Event()

            def watch() -> None:
                nonlocal peak
                with psycopg.connect(libpq_url(database), autocommit=True) as watcher:
                    while not stop.is_set():
                        row = watcher.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            [application],
                        ).fetchone()
                        peak = max(peak, int(row[0]) if row else 0)
                        time.sleep(0.02)

            answers: list[tuple[int, float]] = []
            end = time.monotonic() + seconds

            def client() -> None:
                while time.monotonic() < end:
                    started = time.perf_counter()
                    status = _get(url)
                    answers.append((status, time.perf_counter() - started))

            watcher = threading.Thread(target=watch)
            watcher.start()
            began = time.monotonic()
            threads = [threading.Thread(target=client) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - began
            time.sleep(0.2)
            stop.set()
            watcher.join()
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    latencies = sorted(seconds for _, seconds in answers)
    return Result(
        name=name,
        requests=len(answers),
        per_second=len(answers) / elapsed,
        not_ok=sum(1 for status, _ in answers if status != 200),
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        peak_connections=peak,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    database = postgres_url()
    with psycopg.connect(libpq_url(database)) as probe:
        row = probe.execute("SHOW max_connections").fetchone()
    configurations = [
        ("per request (no pool, CONN_MAX_AGE 0)", {"DATABASE_POOL_MAX_SIZE": "0"}),
        (
            "persistent (no pool, CONN_MAX_AGE 60)",
            {"DATABASE_POOL_MAX_SIZE": "0", "DATABASE_CONN_MAX_AGE": "60"},
        ),
        (f"pool of {args.pool} (default)", {"DATABASE_POOL_MAX_SIZE": str(args.pool)}),
    ]
    print(
        f"{args.clients} clients, {args.seconds:g} s each, GET /gesundheit/ (SELECT 1), "
        f"one uvicorn process; PostgreSQL max_connections {row[0] if row else '?'}"
    )
    print("| configuration | requests/s | not 200 | p50 (ms) | p99 (ms) | most connections |")
    print("|---|---|---|---|---|---|")
    for name, extra in configurations:
        result = measure(name, database, extra, clients=args.clients, seconds=args.seconds)
        print(
            f"| {result.name} | {result.per_second:.0f} | {result.not_ok} "
            f"| {result.p50_ms:.0f} | {result.p99_ms:.0f} | {result.peak_connections} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
