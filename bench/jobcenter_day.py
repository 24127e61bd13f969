"""A Jobcenter's day, ten times (issue 16, point 7): one day of a Jobcenter with 25 staff, 5,000
clients and 1,000 appointments, played at a multiple of its peak rate against the scaled
configuration on this machine, with p50/p99 per kind of request and the error count.

    .venv/bin/python bench/jobcenter_day.py [--scale 10] [--duration 90] [--ramp]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_jobcenter_day]
        [--redis-url redis://127.0.0.1:6379/0] [--nodes 2]

The stack, all real processes on this machine: PostgreSQL (the database named by
--database-url is created for the run and dropped after), Redis (cache, sessions' neighbours
and the channel layer, under a key prefix of its own), SeaweedFS (documents and upload parts,
started as tests/scale starts it), clamd (EICAR-only signatures, as in the tests), --nodes
uvicorn nodes (`manage.py serve`, pool of 4 connections each) and one task worker (`manage.py
db_worker`). The generator speaks to the nodes directly, by turns (what the proxy does), over
HTTP/1.1 keep-alive and websockets, from one asyncio loop in this process.

The day model (docs/benchmarks.md, "A Jobcenter's day, ten times", and ADR 0090) gives each
kind of work its rate at the day's peak; --scale multiplies them all. Arrivals are open-loop
(Poisson): a slow server does not slow the arrivals down, as real people do not wait for each
other. --ramp plays the day at --scale, then doubles the rate until a kind has errors or a p99
above 1 s, and reports that point. Each step lasts --duration seconds.

The reminder kind is the worker's: reminders fall due while the load runs (one sweep job per
minute, as bookings queue them); its latency is from the sweep's minute to the reminder's
`sent_at`. The upload kind's documents are processed by the worker too (virus check, PDF,
previews); how many are ready at the end is printed beside.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server import PYTHON, REPO, free_port, machine_info, serve_and_wait

# --- the day model ------------------------------------------------------------------------------
# Per second at the day's peak (1x); docs/benchmarks.md derives each figure.
PEAK_RATES: dict[str, float] = {
    "client page": 0.39,  # 1,000 acting clients x 4.5 pages / 8 h, x 2.5 at the peak
    "staff page": 1.875,  # 25 staff, a page every 20 s, x 1.5 at the peak
    "desk poll": 1.67,  # 25 today pages open, today.js polls every 15 s
    "chat (ws)": 0.07,  # 800 client messages / 8 h, x 2.5, over the chat socket
    "message (HTTP)": 0.07,  # 800 staff answers / 8 h, x 2.5, by the form
    "upload": 0.035,  # 400 documents / 8 h, x 2.5: start, one chunk, finish
    "call": 0.016,  # 333 video appointments / 8 h, x 1.5: join, admit, offer/answer, ICE
    "form submission": 0.026,  # 300 submitted forms / 8 h, x 2.5
    "reminder": 0.104,  # 2 reminders per appointment / 8 h, x 1.5 (sent by the worker)
    "bare view (baseline)": 0.1,  # not part of the day: the floor of a request, same run
}
# What each kind reports (one kind of work can make several kinds of request).
REQUEST_KINDS: dict[str, list[str]] = {
    "client page": ["client page"],
    "staff page": ["staff page"],
    "desk poll": ["desk poll"],
    "chat (ws)": ["chat connect (ws)", "chat message (ws)"],
    "message (HTTP)": ["message (HTTP)"],
    "upload": ["upload start", "upload chunk", "upload finish"],
    "call": ["call join (ws)", "call admit (ws)", "call signal (ws)"],
    "form submission": ["form submission"],
    "reminder": ["reminder (worker)"],
    "bare view (baseline)": ["bare view (baseline)"],
}
CLIENT_PAGES = [
    "/klienten/portal/",
    "/termine/meine/",
    "/nachrichten/portal/",
    "/dokumente/portal/",
    "/dokumente/portal/anforderungen/",
]
STAFF_PAGES = [
    "/heute/",
    "/klienten/",
    "/klienten/{client}/",
    "/nachrichten/",
    "/nachrichten/klient/{client}/",
    "/termine/",
    "/dokumente/klient/{client}/",
]
REQUEST_TIMEOUT = 10.0
EXPLODED_P99_MS = 1000.0


# --- the stack --------------------------------------------------------------------------------


@dataclass
class Stack:
    env: dict[str, str]
    database_url: str
    ports: list[int]
    fixtures: dict[str, Any]
    folder: Path
    pids: dict[str, int] = field(default_factory=dict)
    seed_seconds: float = 0.0


def _libpq(url: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(scheme="postgresql"))


@contextlib.contextmanager
def _database(url: str, *, keep: bool) -> Iterator[str]:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = _libpq(urllib.parse.urlunsplit(parts._replace(path="/postgres")))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        if not keep:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _module(env: dict[str, str], module: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-m", module, *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def running_stack(
    *,
    database_url: str,
    redis_url: str,
    nodes: int,
    day: dict[str, int],
    keep_database: bool = False,
    note: Callable[[str], None] = lambda text: None,
) -> Iterator[Stack]:
    """SeaweedFS, clamd, a fresh database with the day's data, `nodes` web nodes, one worker."""
    import django

    # The test helpers that start clamd and SeaweedFS import models; the test settings do.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from tests.scale.harness import node_environment

    from sprechstunde.documents.object_storage_testing import SeaweedFS
    from sprechstunde.documents.testing import Clamd

    folder = Path(tempfile.mkdtemp(prefix="jobcenter-day-"))
    processes: list[subprocess.Popen[bytes]] = []
    weed = SeaweedFS(folder / "weed")
    clamd = Clamd(folder / "clamd")
    (folder / "clamd").mkdir()
    try:
        weed.start()
        clamd.start()
        bucket = "day-" + secrets.token_hex(6)
        weed.endpoint.client().create_bucket(Bucket=bucket)
        with _database(database_url, keep=keep_database) as url:
            env = node_environment(
                folder,
                database_url=url,
                redis_url=redis_url,
                DJANGO_SETTINGS_MODULE="bench.settings_bench",
                USE_TLS="false",
                SITE_URL="http://127.0.0.1",
                EMBEDDED_TASK_WORKER="false",
                DOCUMENT_S3_BUCKET=bucket,
                DOCUMENT_S3_ENDPOINT_URL=weed.endpoint.url,
                DOCUMENT_S3_ACCESS_KEY_ID=weed.endpoint.access_key,
                DOCUMENT_S3_SECRET_ACCESS_KEY=weed.endpoint.secret_key,
                DOCUMENT_S3_ADDRESSING_STYLE="path",
                CLAMD_SOCKET=clamd.socket,
            )
            note("migrating")
            _manage(env, "migrate", "--no-input", "-v0")
            _manage(env, "collectstatic", "--no-input", "-v0")
            note("seeding the day")
            started = time.perf_counter()
            fixtures = _module(
                env, "bench.jobcenter_seed", "day", *(f"--{k}={v}" for k, v in day.items())
            )
            seed_seconds = time.perf_counter() - started
            note(f"seeded in {seed_seconds:.1f} s ({fixtures['counts']})")
            ports = [free_port() for _ in range(nodes)]
            stack = Stack(env, url, ports, fixtures, folder, seed_seconds=seed_seconds)
            for n, port in enumerate(ports, start=1):
                proc, _base = serve_and_wait(port=port, env=env, log_path=folder / f"node{n}.log")
                processes.append(proc)
                stack.pids[f"node {n}"] = proc.pid
            with (folder / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [PYTHON, "manage.py", "db_worker", "--queue-name", "*", "--worker-id", "day-1"],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            processes.append(worker)
            stack.pids["worker"] = worker.pid
            note(f"nodes on {ports}, worker pid {worker.pid}")
            yield stack
            for proc in reversed(processes):
                _stop(proc)
            processes.clear()
    finally:
        for proc in reversed(processes):
            _stop(proc)
        clamd.stop()
        weed.stop(crash=True)
        shutil.rmtree(folder, ignore_errors=True)


# --- the generator's HTTP/1.1 client ------------------------------------------------------------


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Pool:
    """Keep-alive connections to one node; a request takes an idle one or opens one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> Response:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body)}")
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            response = await _read(reader)
        except BaseException:
            writer.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer))
        return response


async def _read(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(part[:-2] for part in parts)
    else:
        body = b""
    return Response(status, headers, body)


# --- the simulation -----------------------------------------------------------------------------


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    started: dict[str, int] = field(default_factory=dict)

    def ok(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.samples.setdefault(kind, what[:300])


class Day:
    """The people of the day and what each kind of work does."""

    def __init__(self, stack_ports: list[int], fixtures: dict[str, Any], seed: int = 16) -> None:
        self.pools = [Pool(port) for port in stack_ports]
        self.ports = stack_ports
        self.fixtures = fixtures
        self.rng = random.Random(seed)
        self.turn = 0
        self.record = Recorder()
        self.digests: dict[str, str] = {}
        self.csrf = secrets.token_hex(16)  # a 32-character secret, as the cookie holds one
        self.photo = _photo()
        # Shared by the steps of a run: a form is sent once.
        self.forms: list[dict[str, Any]] = fixtures.setdefault("forms", [])

    def _node(self) -> int:
        self.turn = (self.turn + 1) % len(self.pools)
        return self.turn

    def _headers(self, session: str, **extra: str) -> dict[str, str]:
        cookie = f"{self.fixtures['session_cookie']}={session}; {self.fixtures['csrf_cookie']}"
        return {
            "Cookie": f"{cookie}={self.csrf}",
            "Accept-Language": "de",
            "X-CSRFToken": self.csrf,
            **extra,
        }

    async def _timed(
        self,
        kind: str,
        method: str,
        path: str,
        session: str,
        *,
        expect: tuple[int, ...] = (200,),
        body: bytes = b"",
        **headers: str,
    ) -> Response | None:
        pool = self.pools[self._node()]
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(
                pool.request(method, path, self._headers(session, **headers), body),
                REQUEST_TIMEOUT,
            )
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
            self.record.error(kind, f"{method} {path}: {type(error).__name__} {error}")
            return None
        if response.status not in expect:
            self.record.error(kind, f"{method} {path}: {response.status} {response.body[:200]!r}")
            return None
        self.record.ok(kind, time.perf_counter() - started)
        return response

    # --- kinds of work ---

    async def client_page(self) -> None:
        client = self.rng.choice(self.fixtures["clients"])
        await self._timed("client page", "GET", self.rng.choice(CLIENT_PAGES), client["session"])

    async def staff_page(self) -> None:
        staff = self.rng.choice(self.fixtures["staff"])
        path = self.rng.choice(STAFF_PAGES).format(client=self.rng.choice(staff["clients"]))
        await self._timed("staff page", "GET", path, staff["session"])

    async def desk_poll(self) -> None:
        staff = self.rng.choice(self.fixtures["staff"])
        digest = urllib.parse.quote(self.digests.get(staff["session"], ""))
        response = await self._timed(
            "desk poll",
            "GET",
            f"/heute/aktuell/?digest={digest}",
            staff["session"],
            expect=(200, 204),
            Accept="application/json",
        )
        if response is not None and response.status == 200:
            self.digests[staff["session"]] = response.json().get("digest", "")

    async def bare(self) -> None:
        client = self.rng.choice(self.fixtures["clients"])
        await self._timed("bare view (baseline)", "GET", "/__bench__/bare/", client["session"])

    async def staff_message(self) -> None:
        staff = self.rng.choice(self.fixtures["staff"])
        form = urllib.parse.urlencode(
            {"body": "Danke, ich habe es erhalten.", "client_msg_id": str(uuid.uuid4())}
        ).encode()
        await self._timed(
            "message (HTTP)",
            "POST",
            f"/nachrichten/klient/{self.rng.choice(staff['clients'])}/",
            staff["session"],
            expect=(302,),
            body=form,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def upload(self) -> None:
        client = self.rng.choice(self.fixtures["clients"])
        form = urllib.parse.urlencode({"name": "nachweis.jpg", "size": len(self.photo)}).encode()
        started = await self._timed(
            "upload start",
            "POST",
            "/dokumente/uploads/",
            client["session"],
            expect=(201,),
            body=form,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        if started is None:
            return
        session = started.json()
        chunk = await self._timed(
            "upload chunk",
            "PUT",
            session["url"],
            client["session"],
            body=self.photo,
            **{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        if chunk is None:
            return
        form = urllib.parse.urlencode({"upload_ids": session["id"], "title": "Nachweis"}).encode()
        await self._timed(
            "upload finish",
            "POST",
            "/dokumente/portal/hochladen/",
            client["session"],
            expect=(201,),
            body=form,
            **{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )

    async def _socket(self, kind: str, path: str, session: str) -> Any:
        from websockets.asyncio.client import connect

        port = self.ports[self._node()]
        started = time.perf_counter()
        connection = await connect(
            f"ws://127.0.0.1:{port}{path}",
            additional_headers={
                "Cookie": f"{self.fixtures['session_cookie']}={session}",
                "Origin": f"http://127.0.0.1:{port}",
            },
            open_timeout=REQUEST_TIMEOUT,
            ping_interval=None,
            max_queue=None,
            compression=None,
        )
        return connection, started

    async def chat(self) -> None:
        client = self.rng.choice(self.fixtures["clients"])
        path = f"/ws/nachrichten/{client['conversation']}/"
        kind = "chat connect (ws)"
        try:
            connection, started = await self._socket(kind, path, client["session"])
            try:
                await _until(connection, "welcome")
                self.record.ok(kind, time.perf_counter() - started)
                kind = "chat message (ws)"
                for _ in range(self.rng.choice((1, 1, 2))):
                    msg_id = uuid.uuid4().hex
                    started = time.perf_counter()
                    await connection.send(
                        json.dumps(
                            {"type": "send", "client_msg_id": msg_id, "body": "Ist mein Antrag da?"}
                        )
                    )
                    await _until(connection, "ack", lambda f, i=msg_id: f["client_msg_id"] == i)
                    self.record.ok(kind, time.perf_counter() - started)
            finally:
                await connection.close()
        except Exception as error:  # every failure counts as the kind's error
            self.record.error(kind, f"{path}: {type(error).__name__} {error}")

    async def call(self) -> None:
        """Both sides join, the host admits the client, an offer, an answer and four ICE
        candidates each way go through the server; then both leave."""
        call = self.rng.choice(self.fixtures["calls"])
        path = f"/ws/video/{call['call']}/?s={secrets.token_hex(8)}"
        kind = "call join (ws)"
        sockets: list[Any] = []
        try:
            client, started = await self._socket(kind, path, call["client_session"])
            sockets.append(client)
            client_welcome = await _until(client, "welcome")
            self.record.ok(kind, time.perf_counter() - started)
            host, started = await self._socket(kind, path, call["staff_session"])
            sockets.append(host)
            host_welcome = await _until(host, "welcome")
            self.record.ok(kind, time.perf_counter() - started)
            me_client, me_host = client_welcome["me"], host_welcome["me"]
            if client_welcome.get("state") != "admitted":
                kind = "call admit (ws)"
                started = time.perf_counter()
                await host.send(json.dumps({"type": "admit", "participant": me_client}))
                await _until(client, "admitted")
                self.record.ok(kind, time.perf_counter() - started)
            kind = "call signal (ws)"
            sdp = "v=0\r\n" + "a=candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host\r\n" * 40
            exchange = [(host, client, me_client, {"description": {"type": "offer", "sdp": sdp}})]
            exchange.append(
                (client, host, me_host, {"description": {"type": "answer", "sdp": sdp}})
            )
            for n in range(4):
                candidate = {"candidate": f"candidate:{n} 1 udp 1 10.0.0.{n} 5000{n} typ host"}
                exchange.append((host, client, me_client, {"candidate": candidate}))
                exchange.append((client, host, me_host, {"candidate": candidate}))
            for sender, receiver, to, payload in exchange:
                cid = secrets.token_hex(4)
                started = time.perf_counter()
                await sender.send(json.dumps({"type": "signal", "to": to, "cid": cid, **payload}))
                await _until(receiver, "signal", lambda f, c=cid: f.get("cid") == c)
                self.record.ok(kind, time.perf_counter() - started)
            for connection in sockets:
                await connection.send(json.dumps({"type": "leave"}))
        except Exception as error:  # every failure counts as the kind's error
            self.record.error(kind, f"{path}: {type(error).__name__} {error}")
        finally:
            for connection in sockets:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def form_submission(self) -> None:
        """The last step of a filled-in form: the one-time code entered, the form sent
        (each prepared form is sent once; when they run out, the kind is an error)."""
        if not self.forms:
            self.record.error("form submission", "no prepared form left (seed more: --forms)")
            return
        form = self.forms.pop()
        body = urllib.parse.urlencode({"code": form["code"], "revision": form["revision"]})
        sent = await self._timed(
            "form submission",
            "POST",
            f"/formulare/portal/{form['submission']}/bestaetigen/",
            form["session"],
            expect=(302,),
            body=body.encode(),
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        location = sent.headers.get("location", "") if sent else ""
        if sent is not None and not location.endswith("/gesendet/"):
            # A redirect elsewhere (back to the review) is a refusal, not a submission.
            self.record.latencies["form submission"].pop()
            self.record.error("form submission", f"redirected to {location}")


async def _until(connection: Any, kind: str, match: Callable[[dict], bool] | None = None) -> dict:
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {kind} frame")
        frame = json.loads(await asyncio.wait_for(connection.recv(), remaining))
        if frame.get("type") in ("error", "refused"):
            raise RuntimeError(f"{frame}")
        if frame.get("type") == kind and (match is None or match(frame)):
            return frame


def _photo() -> bytes:
    """A small phone photo (JPEG, about 100 KB): the upload of the day."""
    import io

    from PIL import Image

    rng = random.Random(7)
    image = Image.new("RGB", (800, 600), (220, 215, 200))
    pixels = image.load()
    for y in range(0, 600, 2):
        for x in range(0, 800, 2):
            shade = rng.randrange(150, 255)
            pixels[x, y] = (shade, shade - 20, shade - 40)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(value) for value in fields[11:15]) / ticks


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def _play(day: Day, rates: dict[str, float], duration: float) -> float:
    actions: dict[str, Callable[[], Awaitable[None]]] = {
        "client page": day.client_page,
        "staff page": day.staff_page,
        "desk poll": day.desk_poll,
        "chat (ws)": day.chat,
        "message (HTTP)": day.staff_message,
        "upload": day.upload,
        "call": day.call,
        "form submission": day.form_submission,
        "bare view (baseline)": day.bare,
    }
    running: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    stop_at = started + duration

    async def arrivals(kind: str, rate: float) -> None:
        # The first arrival comes early, so that every kind runs even in a short run.
        wait = day.rng.uniform(0, min(1 / rate, duration / 4))
        while True:
            await asyncio.sleep(max(0.0, started + wait - time.perf_counter()))
            if time.perf_counter() >= stop_at:
                return
            day.record.started[kind] = day.record.started.get(kind, 0) + 1
            task = asyncio.create_task(actions[kind]())
            running.add(task)
            task.add_done_callback(running.discard)
            wait += day.rng.expovariate(rate)

    await asyncio.gather(
        *(arrivals(kind, rate) for kind, rate in rates.items() if kind in actions and rate > 0)
    )
    if running:
        await asyncio.wait(running, timeout=REQUEST_TIMEOUT * 3)
    return time.perf_counter() - started


def _reminders(
    database_url: str, seeded: dict[str, Any], since: float, grace: float
) -> tuple[list[float], int, str]:
    """Delays (s) from each reminder's sweep minute (or the step's start, for a backlog) to
    its sending; errors (skipped, or not sent `grace` seconds after the load), with a sample."""
    import psycopg

    deadline = time.monotonic() + grace
    query = (
        "SELECT due_at, sent_at, skipped_at, skip_reason FROM appointments_reminder"
        " WHERE id BETWEEN %s AND %s"
    )
    with psycopg.connect(_libpq(database_url), autocommit=True) as connection:
        while True:
            rows = connection.execute(query, [seeded["first_id"], seeded["last_id"]]).fetchall()
            open_ = [r for r in rows if r[1] is None and r[2] is None]
            if not open_ or time.monotonic() > deadline:
                break
            time.sleep(1)
    delays, errors, sample = [], 0, ""
    for due_at, sent_at, skipped_at, reason in rows:
        minute = due_at.replace(second=0, microsecond=0).timestamp() + 60
        if sent_at is not None:
            delays.append(max(0.0, sent_at.timestamp() - max(minute, since)))
        else:
            errors += 1
            sample = sample or (f"skipped: {reason}" if skipped_at else "not sent")
    return delays, errors, sample


def _documents(database_url: str, since: float, grace: float = 30) -> str:
    """The states of the documents uploaded since `since`, once the worker has processed
    them (or `grace` seconds have passed)."""
    import psycopg

    deadline = time.monotonic() + grace
    with psycopg.connect(_libpq(database_url), autocommit=True) as connection:
        while True:
            rows = connection.execute(
                "SELECT status, count(*) FROM documents_document"
                " WHERE created_at >= to_timestamp(%s) GROUP BY status",
                [since],
            ).fetchall()
            waiting = {"receiving", "processing"} & {status for status, _count in rows}
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(1)
    return ", ".join(f"{status} {count}" for status, count in sorted(rows)) or "none"


@dataclass
class StepResult:
    scale: float
    duration: float  # of the arrivals; `seconds` adds the wait for the last answers
    seconds: float
    rows: list[dict[str, Any]]
    generator_cpu: float
    processes_cpu: dict[str, float]
    machine_busy: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    documents: str
    samples: dict[str, str]

    @property
    def errors(self) -> int:
        return sum(row["errors"] for row in self.rows if row["kind"] != "form submission")

    @property
    def worst_p99(self) -> float:
        return max((row["p99_ms"] for row in self.rows if row["count"]), default=0.0)


def play_step(
    stack: Stack, *, scale: float, duration: float, rates: dict[str, float] | None = None
) -> StepResult:
    """Play the day at `scale` times its peak for `duration` seconds."""
    if rates is None:
        rates = {k: v * scale for k, v in PEAK_RATES.items()}
        # The baseline is no part of the day: the same small rate at every scale.
        rates["bare view (baseline)"] = PEAK_RATES["bare view (baseline)"] * 10
    else:
        rates = {k: v * scale for k, v in rates.items()}
    if not stack.fixtures.get("calls"):
        rates.pop("call", None)
    if not stack.fixtures.get("eforms"):
        rates.pop("form submission", None)
    reminder_count = max(1, round(rates.get("reminder", 0) * duration))
    start = time.time()
    reminders = _module(
        stack.env,
        "bench.jobcenter_seed",
        "reminders",
        f"--start={start + 1}",
        f"--until={start + duration}",
        f"--count={reminder_count}",
    )
    load_before = os.getloadavg()
    day = Day(stack.ports, stack.fixtures)
    cpu_before = {name: _cpu_seconds(pid) for name, pid in stack.pids.items()}
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = _machine_busy()
    seconds = asyncio.run(_play(day, rates, duration))
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    busy_after = _machine_busy()
    cpu_after = {name: _cpu_seconds(pid) for name, pid in stack.pids.items()}
    load_after = os.getloadavg()
    cores = os.cpu_count() or 1
    generator = (
        self_after.ru_utime + self_after.ru_stime - self_before.ru_utime - self_before.ru_stime
    )
    delays, reminder_errors, reminder_sample = _reminders(stack.database_url, reminders, start, 75)
    record = day.record
    if delays or reminder_errors:
        record.latencies["reminder (worker)"] = delays
        if reminder_errors:
            record.errors["reminder (worker)"] = reminder_errors
            record.samples["reminder (worker)"] = reminder_sample
    rows = []
    for work, kinds in REQUEST_KINDS.items():
        if work not in rates:
            continue
        for kind in kinds:
            values = sorted(record.latencies.get(kind, []))
            rows.append(
                {
                    "kind": kind,
                    "work": work,
                    "rate": rates[work],
                    "count": len(values),
                    "errors": record.errors.get(kind, 0),
                    "p50_ms": _quantile(values, 0.50) * 1000,
                    "p99_ms": _quantile(values, 0.99) * 1000,
                }
            )
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return StepResult(
        scale=scale,
        duration=duration,
        seconds=seconds,
        rows=rows,
        generator_cpu=generator / seconds / cores,
        processes_cpu={
            name: (cpu_after[name] - cpu_before[name]) / seconds / cores for name in stack.pids
        },
        machine_busy=busy,
        load_before=load_before,
        load_after=load_after,
        documents=_documents(stack.database_url, start),
        samples=record.samples,
    )


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


ROW = "{:<22} {:>7} {:>7} {:>8} {:>8} {:>7}"


def report(step: StepResult) -> str:
    lines = [
        f"## {step.scale:g} x peak, {step.duration:.0f} s of arrivals ({step.seconds:.0f} s"
        " with the last answers); load average "
        f"{step.load_before[0]:.2f} before, {step.load_after[0]:.2f} after",
        ROW.format("kind", "per s", "count", "p50 ms", "p99 ms", "errors"),
    ]
    for row in step.rows:
        lines.append(
            ROW.format(
                row["kind"],
                f"{row['count'] / step.duration:.2f}",
                row["count"],
                f"{row['p50_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                row["errors"],
            )
        )
    cpu = ", ".join(f"{name} {share:.0%}" for name, share in step.processes_cpu.items())
    lines.append(
        f"CPU of the 2 cores: machine {step.machine_busy:.0%} busy; generator "
        f"{step.generator_cpu:.0%}; {cpu}"
    )
    lines.append(f"documents uploaded in this step, by state at the end: {step.documents}")
    if not any(row["work"] == "form submission" for row in step.rows):
        lines.append("form submission: not played (no eforms submit service on this branch)")
    for kind, sample in step.samples.items():
        lines.append(f"first error of {kind}: {sample}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=90.0)
    parser.add_argument("--ramp", action="store_true", help="then double until errors")
    parser.add_argument("--max-steps", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--staff", type=int, default=25)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=1000)
    parser.add_argument("--active", type=int, default=1000, help="clients with a session")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_jobcenter_day"
        ),
        help="created for the run (dropped first if it exists) and dropped after",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds, not measured")
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed the day, keep the database and stop (for profiling pages against it)",
    )
    parser.add_argument("--json", action="store_true", help="also print each step as JSON")
    options = parser.parse_args(argv)
    print(f"# A Jobcenter's day, {machine_info()}", flush=True)
    day = {
        "staff": options.staff,
        "clients": options.clients,
        "appointments": options.appointments,
        "active": options.active,
    }
    with running_stack(
        database_url=options.database_url,
        redis_url=options.redis_url,
        nodes=0 if options.seed_only else options.nodes,
        day=day,
        keep_database=options.seed_only,
        note=lambda text: print(f"  [setup] {text}", file=sys.stderr, flush=True),
    ) as stack:
        print(
            f"seed: {stack.fixtures['counts']}; rows in {stack.fixtures['seconds_rows']} s,"
            f" with sessions {stack.fixtures['seconds_total']} s,"
            f" whole step {stack.seed_seconds:.1f} s",
            flush=True,
        )
        if options.seed_only:
            print(json.dumps(stack.fixtures))
            return
        if options.warmup:
            # Templates compiled, connections opened, caches filled: not measured.
            play_step(stack, scale=options.scale, duration=options.warmup)
        scale = options.scale
        for step_number in range(options.max_steps if options.ramp else 1):
            step = play_step(stack, scale=scale, duration=options.duration)
            print(report(step), flush=True)
            if options.json:
                print(json.dumps({**step.__dict__, "errors": step.errors}), flush=True)
            if step.errors or step.worst_p99 > EXPLODED_P99_MS:
                if step_number:
                    print(f"breaking point: {scale:g} x peak (errors or a p99 above 1 s)")
                break
            scale *= 2
            time.sleep(5)
        else:
            if options.ramp:
                print(f"no breaking point up to {scale / 2:g} x peak")


if __name__ == "__main__":
    main()
