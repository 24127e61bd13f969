"""Throughput and latency of the client portal home page against a bare Django view.

Both targets are served in the same run by the same process (`manage.py serve`: uvicorn,
one worker, DEBUG off, full middleware stack), both requested with the same logged-in
client's session cookie, at 50 concurrent keep-alive connections for a fixed time each.
The figure that matters is the ratio portal/bare of requests per second (goal >= 0.7): it
says how much of the framework's capacity the page itself uses, independent of the machine.

Load generator: wrk (Debian package, `scripts/system-deps.sh bench`), else a small asyncio
HTTP/1.1 client in this file (it shares the CPU with the server, so its absolute figures are
lower; the ratio stays comparable).

Run: .venv/bin/python bench/load.py [--duration 10] [--connections 50] [--tool wrk|python]
     [--database-url postgresql://.../empty_db --redis-url redis://127.0.0.1:6379/6]
(without them: SQLite and the in-process cache, the embedded configuration).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server import BenchServer, machine_info, running_server


@dataclass
class LoadResult:
    target: str
    tool: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx answers plus socket errors


# --- wrk -----------------------------------------------------------------------------------


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str, *, target: str, connections: int, seconds: float) -> LoadResult:
    percentiles = {
        p: _ms(v, u)
        for p, v, u in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\b", output, re.M)
    }
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if not (total and rps and "50" in percentiles and "99" in percentiles):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    bad = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        bad += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        target=target,
        tool="wrk",
        connections=connections,
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        requests=int(total.group(1)),
        rps=float(rps.group(1)),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        bad=bad,
    )


def run_wrk(url: str, cookie: str, *, target: str, connections: int, seconds: float) -> LoadResult:
    threads = max(1, min(4, connections))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-H",
        "Accept-Language: de",
        *(["-H", f"Cookie: {cookie}"] if cookie else []),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse_wrk(done.stdout, target=target, connections=connections, seconds=seconds)


# --- asyncio fallback ----------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _worker(
    host: str, port: int, request: bytes, stop_at: float, latencies: list[float], bad: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                bad.append(1)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 400:
                bad.append(1)
    finally:
        writer.close()


def run_python(
    url: str, cookie: str, *, target: str, connections: int, seconds: float
) -> LoadResult:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "Accept-Language: de\r\nConnection: keep-alive\r\n\r\n"
    ).encode("latin-1")
    latencies: list[float] = []
    bad: list[int] = []

    async def main() -> float:
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(
            *(_worker(host, port, request, stop_at, latencies, bad) for _ in range(connections))
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    if len(latencies) < 2:
        raise RuntimeError(f"{target}: fewer than two answers in {seconds} s")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(
        target=target,
        tool="python",
        connections=connections,
        seconds=elapsed,
        requests=len(latencies),
        rps=len(latencies) / elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        bad=len(bad),
    )


# --- the benchmark -------------------------------------------------------------------------

BARE = "bare Django view (baseline)"
PORTAL = "client portal home"


def check_answers_200(url: str, cookie: str) -> None:
    """A redirect to the login page would be measured as a fast page: refuse to go on."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    opener.addheaders = [("Cookie", cookie)]
    try:
        with opener.open(url, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise RuntimeError(f"{url} answers {status} for the bench session, not 200")


def run(
    server: BenchServer, *, duration: float = 10.0, connections: int = 50, tool: str = "auto"
) -> str:
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    runner = run_wrk if tool == "wrk" else run_python
    cookie = server.client_cookie
    paths = server.fixtures["paths"]
    targets = [
        (BARE, server.url(paths["bare"]), cookie),
        (PORTAL, server.url(paths["portal_home"]), cookie),
        # For information: the same bare view without a session shows what the session costs.
        ("bare view, no session (info)", server.url(paths["bare"]), ""),
    ]
    for _, url, target_cookie in targets:
        if target_cookie:
            check_answers_200(url, target_cookie)
        runner(url, target_cookie, target="warm-up", connections=connections, seconds=2)
    results = [
        runner(url, target_cookie, target=name, connections=connections, seconds=duration)
        for name, url, target_cookie in targets
    ]
    return report(results)


ROW = "{:<30} {:<6} {:>5} {:>5} {:>8} {:>8} {:>7} {:>7} {:>6}"


def report(results: list[LoadResult]) -> str:
    head = ROW.format(
        "target", "tool", "conns", "secs", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            ROW.format(
                r.target,
                r.tool,
                r.connections,
                f"{r.seconds:.1f}",
                r.requests,
                f"{r.rps:.1f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                r.bad,
            )
        )
    by_target = {r.target: r for r in results}
    bare, page = by_target[BARE], by_target[PORTAL]
    ratio = page.rps / bare.rps if bare.rps else 0.0
    verdict = "meets the goal" if ratio >= 0.7 else "BELOW the goal"
    lines.append(f"ratio portal/bare throughput = {ratio:.2f} (goal >= 0.70: {verdict})")
    if any(r.bad for r in results):
        lines.append("WARNING: some answers were errors or not 2xx/3xx; the figures are suspect")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    parser.add_argument("--redis-url", help="cache on Redis (default: in-process cache)")
    args = parser.parse_args()
    stack = "PostgreSQL" if args.database_url else "SQLite"
    stack += " + Redis" if args.redis_url else ""
    print(f"# Load, {stack}, {machine_info()}, load average {os.getloadavg()[0]:.1f}", flush=True)
    with running_server(database_url=args.database_url, redis_url=args.redis_url) as server:
        print(run(server, duration=args.duration, connections=args.connections, tool=args.tool))


if __name__ == "__main__":
    main()
