"""Chat throughput: messages per second through one server process, and the delivery latency
to every connected member, for 200 connected websockets, beside a bare Channels consumer
doing the same fan-out, measured in the same run.

Usage:
    .venv/bin/python bench/messaging_fanout.py [--pairs 100] [--messages 1000]
        [--rate 5] [--paced-messages 300] [--configs embedded,scaled] [--conn-max-age N]

The shape of "200 connected clients". A conversation belongs to one client and is seen by the
staff who look after them, so a socket only ever receives its own conversation's messages.
The bench therefore opens 100 conversations, each with two sockets: the client's phone and
the case manager's conversation page (10 case managers with 10 clients each, every one with
a TOTP authenticator as staff must have; each client accepted an invitation and consented to
portal use). 200 sockets in all. Both sides write; every message is delivered to both
sockets of its conversation: to the addressee, and to the sender's own socket (the echo that
lets the sender's other tabs show it). One message is therefore one store, one ack and two
deliveries.

What one run measures, for each target, on sockets that stay open through all phases:

* connect: open the 200 sockets (login from the session cookie, access check, audit, welcome),
  20 at a time;
* warm-up: one message per socket, not counted;
* paced: `--paced-messages` at a fixed `--rate` (default 5 messages/s, i.e. 18,000 an hour;
  open loop, round robin over the 200 sockets, latency counted from the scheduled send time),
  the same for both targets: the latency a member sees when the server is busy but not
  overloaded. Run first, because an overload leaves backlogs behind;
* saturated: every socket writes as chat.js does, one message in flight until its ack, then
  the next, `--messages` in all. Throughput = messages stored and acknowledged / time from the
  first send to the last ack; the time until the last delivery is printed too. Its latencies
  are mostly queueing: 200 writers wait for one process.

Delivery latency is counted for every connected member (both sockets of the conversation),
from the send to the arrival of the "message" frame; "missing" counts acks and deliveries
that did not come within 60 s after the phase.

Targets, each in its own uvicorn process of the same kind (`python -m uvicorn <app>
--lifespan off`, one worker, the same settings and channel layer):

* baseline: bench/messaging_echo.py, a bare Channels consumer with the same frames and the
  same fan-out through the channel layer, no login, no access check, no database, no audit;
* application: config.asgi (origin check, session login, ConversationConsumer: session check
  per frame, access rules, message stored with its number under a row lock, audit, e-mail
  notice job queued, push after commit), with bench/settings_messaging.py, which lifts the
  per-connection rate limits (the limiter still runs).

Configurations: `embedded` (SQLite file, in-memory channel layer) and `scaled` (PostgreSQL from
DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, in a database the bench
creates and drops; Redis channel layer from REDIS_URL, default redis://127.0.0.1:6379/0, under
a key prefix of its own). The load generator is one asyncio process on the same machine
(the `websockets` client); its CPU time is printed, as is each server's CPU time per message.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path[:0] = [str(REPO / "src"), str(REPO)]

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SETTINGS = "bench.settings_messaging"
APP = "config.asgi:application"
BASELINE = "bench.messaging_echo:application"
RESULT_MARK = "BENCH-RESULT "
CONNECT_AT_ONCE = 20
FRAME_TIMEOUT = 60.0
BODY = "Guten Tag, ich habe die Lohnabrechnung hochgeladen. Reicht das so? Nachricht {n}"


# --- the child: bench data in the bench database -------------------------------------------


def _prepare(pairs: int, case_managers: int) -> dict[str, Any]:
    """Case managers with TOTP, clients who accepted an invitation, one conversation each,
    and a login session for everyone; made through the apps' own services."""
    import django

    django.setup()
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.models import Team, User
    from sprechstunde.clients import services as client_services
    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.messaging.services import conversation_get_or_create

    def session_for(user: User) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return str(store.session_key)

    team = Team.objects.create(name="Bench messaging")
    managers = []
    for number in range(case_managers):
        manager = User.objects.create_user(
            f"bench-cm-{number}@jobcenter.example",
            role=Role.CASE_MANAGER,
            team=team,
            first_name="Bench",
            last_name=f"Fallmanager {number}",
        )
        TOTP.activate(manager, generate_totp_secret())
        managers.append((manager, session_for(manager)))
    conversations = []
    for number in range(pairs):
        manager, manager_session = managers[number % len(managers)]
        client = client_services.client_create(
            actor=manager,
            first_name="Bench",
            last_name=f"Kunde {number}",
            email=f"bench-client-{number}@example.org",
            case_manager=manager,
        )
        issued = client_services.invitation_send(client=client, actor=manager)
        client = client_services.invitation_accept(
            token=issued.token, purposes=[ConsentPurpose.PORTAL], language="de"
        )
        assert client.user is not None
        conversation = conversation_get_or_create(client=client)
        conversations.append(
            {
                "id": conversation.pk,
                "sessions": [session_for(client.user), manager_session],
            }
        )
    return {"cookie": settings.SESSION_COOKIE_NAME, "conversations": conversations}


def _stored() -> dict[str, Any]:
    import django

    django.setup()
    from sprechstunde.messaging.models import Message

    return {"messages": Message.objects.count()}


# --- the load generator ----------------------------------------------------------------------


@dataclass
class Phase:
    """One measured batch of messages and everything that came back for it."""

    name: str
    expected: int
    members: int = 2
    started: float = 0.0
    last_ack: float = 0.0
    last_event: float = 0.0
    acks: list[float] = field(default_factory=list)
    deliveries: list[float] = field(default_factory=list)
    errors: int = 0
    max_lag: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def check_done(self) -> None:
        if len(self.acks) >= self.expected and len(self.deliveries) >= self.expected * self.members:
            self.done.set()


@dataclass
class Socket:
    connection: Any
    group: int
    waiters: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    closed: bool = False  # by the server, during the run


class Generator:
    """The sockets of one target and a reader per socket that timestamps what arrives."""

    def __init__(self) -> None:
        self.sockets: list[Socket] = []
        self.sent: dict[str, tuple[Phase, float]] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.counter = 0
        self.closing = False

    async def connect(self, url_for: Any, headers_for: Any, pairs: list[dict[str, Any]]) -> float:
        from websockets.asyncio.client import connect as ws_connect

        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def one(conversation: dict[str, Any], side: int) -> Socket:
            async with gate:
                connection = await ws_connect(
                    url_for(conversation["id"]),
                    additional_headers=headers_for(conversation, side),
                    open_timeout=FRAME_TIMEOUT,
                    ping_interval=None,
                    max_queue=None,
                )
                welcome = json.loads(await asyncio.wait_for(connection.recv(), FRAME_TIMEOUT))
                if welcome.get("type") != "welcome":
                    raise RuntimeError(f"no welcome: {welcome}")
                return Socket(connection, conversation["id"])

        started = time.perf_counter()
        self.sockets = list(await asyncio.gather(*(one(c, side) for c in pairs for side in (0, 1))))
        seconds = time.perf_counter() - started
        self.readers = [asyncio.create_task(self._read(s)) for s in self.sockets]
        return seconds

    async def _read(self, sock: Socket) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in sock.connection:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame.get("type")
                msg_id = frame.get("client_msg_id", "")
                entry = self.sent.get(msg_id)
                if kind == "ack" and entry is not None:
                    phase, sent_at = entry
                    phase.acks.append(now - sent_at)
                    phase.last_ack = max(phase.last_ack, now)
                    phase.last_event = max(phase.last_event, now)
                    phase.check_done()
                    waiter = sock.waiters.pop(msg_id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
                elif kind == "message" and entry is not None:
                    phase, sent_at = entry
                    phase.deliveries.append(now - sent_at)
                    phase.last_event = max(phase.last_event, now)
                    phase.check_done()
                elif kind == "error":
                    if entry is not None:
                        entry[0].errors += 1
                    waiter = sock.waiters.pop(msg_id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_exception(RuntimeError(f"error frame: {frame}"))
        if not self.closing:
            sock.closed = True
            for waiter in sock.waiters.values():
                if not waiter.done():
                    waiter.set_exception(RuntimeError("closed"))

    async def _send(
        self,
        sock: Socket,
        phase: Phase,
        *,
        sent_at: float | None = None,
        waiter: asyncio.Future[None] | None = None,
    ) -> str | None:
        """Send one message; None when the socket is closed (the message then counts as
        missing). A waiter is registered before the frame leaves, so no ack can overtake it."""
        if sock.closed:
            return None
        self.counter += 1
        msg_id = str(uuid.uuid4())
        frame = {"type": "send", "client_msg_id": msg_id, "body": BODY.format(n=self.counter)}
        if waiter is not None:
            sock.waiters[msg_id] = waiter
        self.sent[msg_id] = (phase, time.perf_counter() if sent_at is None else sent_at)
        try:
            await sock.connection.send(json.dumps(frame))
        except ConnectionClosed:
            sock.closed = True
            sock.waiters.pop(msg_id, None)
            return None
        return msg_id

    async def _one_in_flight(self, sock: Socket, phase: Phase, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            waiter: asyncio.Future[None] = loop.create_future()
            msg_id = await self._send(sock, phase, waiter=waiter)
            if msg_id is None:
                return
            try:
                await asyncio.wait_for(waiter, FRAME_TIMEOUT)
            except (TimeoutError, RuntimeError):
                sock.waiters.pop(msg_id, None)

    async def closed_loop(self, name: str, total: int) -> Phase:
        """Every socket writes one message at a time; `total` messages in all."""
        per_socket = max(1, total // len(self.sockets))
        phase = Phase(name, expected=per_socket * len(self.sockets))
        phase.started = time.perf_counter()
        await asyncio.gather(*(self._one_in_flight(s, phase, per_socket) for s in self.sockets))
        await self._settle(phase)
        return phase

    async def paced(self, name: str, total: int, rate: float) -> Phase:
        """`total` messages at `rate` per second, round robin over the sockets."""
        phase = Phase(name, expected=total)
        phase.started = time.perf_counter() + 0.05
        for number in range(total):
            due = phase.started + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                phase.max_lag = max(phase.max_lag, -delay)
            await self._send(self.sockets[number % len(self.sockets)], phase, sent_at=due)
        await self._settle(phase)
        return phase

    async def _settle(self, phase: Phase) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(phase.done.wait(), FRAME_TIMEOUT)

    @property
    def closed_by_server(self) -> int:
        return sum(sock.closed for sock in self.sockets)

    async def close(self) -> None:
        self.closing = True
        for sock in self.sockets:
            with contextlib.suppress(Exception):
                await sock.connection.close()
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


# --- servers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    app: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def cpu(self) -> float:
        return _cpu_seconds(self.process.pid)


@contextlib.contextmanager
def _serve(name: str, app: str, env: dict[str, str], var_dir: Path) -> Iterator[Server]:
    port = _free_port()
    log = var_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} server ended early:\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} server did not listen within 60 s") from None
                time.sleep(0.2)
        yield Server(name, app, port, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _env(
    var_dir: Path,
    database_url: str,
    redis_url: str | None,
    conn_max_age: int | None,
    pool_max_size: int | None = None,
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CACHE_KEY_", "PYTEST"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-" + os.urandom(16).hex(),
            "USE_TLS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": "http://127.0.0.1",
            "SPRECHSTUNDE_VAR_DIR": str(var_dir),
            "DATABASE_URL": database_url,
            "EMBEDDED_TASK_WORKER": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if conn_max_age is not None:
        env["DATABASE_CONN_MAX_AGE"] = str(conn_max_age)
        if conn_max_age:
            env["DATABASE_POOL_MAX_SIZE"] = "0"  # the settings refuse both together
    if pool_max_size is not None:
        env["DATABASE_POOL_MAX_SIZE"] = str(pool_max_size)
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CACHE_KEY_PREFIX"] = f"bench-messaging-{uuid.uuid4().hex[:8]}"
    return env


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return dict(json.loads(line[len(RESULT_MARK) :]))
    raise RuntimeError(f"bench step {args} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


@contextlib.contextmanager
def _postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of `server_url`, dropped on exit."""
    import psycopg

    name = f"bench_messaging_{uuid.uuid4().hex[:8]}"
    parts = urllib.parse.urlsplit(server_url)
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- one configuration ----------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _phase_row(phase: Phase, cpu_seconds: float) -> dict[str, Any]:
    # Throughput counts what was stored and acknowledged; deliveries may come later.
    seconds = max(phase.last_ack - phase.started, 1e-9)
    return {
        "phase": phase.name,
        "messages": phase.expected,
        "seconds": seconds,
        "all_delivered": phase.last_event - phase.started,
        "per_second": len(phase.acks) / seconds,
        "ack_p50": _percentile(phase.acks, 0.50) * 1000,
        "ack_p99": _percentile(phase.acks, 0.99) * 1000,
        "p50": _percentile(phase.deliveries, 0.50) * 1000,
        "p95": _percentile(phase.deliveries, 0.95) * 1000,
        "p99": _percentile(phase.deliveries, 0.99) * 1000,
        "max": max(phase.deliveries, default=float("nan")) * 1000,
        "missing_acks": phase.expected - len(phase.acks),
        "missing_deliveries": phase.expected * phase.members - len(phase.deliveries),
        "errors": phase.errors,
        "cpu_ms_per_message": 1000 * cpu_seconds / max(1, len(phase.acks)),
        "max_lag_ms": phase.max_lag * 1000,
    }


async def _drive(
    servers: dict[str, Server], world: dict[str, Any], args: argparse.Namespace
) -> list[dict[str, Any]]:
    cookie = world["cookie"]
    pairs = world["conversations"]
    generators: dict[str, Generator] = {}
    rows: list[dict[str, Any]] = []

    def url_for(target: str) -> Any:
        port = servers[target].port
        path = "/ws/nachrichten/{}/" if target == "application" else "/ws/echo/{}/"
        return lambda conversation_id: f"ws://127.0.0.1:{port}{path.format(conversation_id)}"

    def headers_for(target: str) -> Any:
        port = servers[target].port
        return lambda conversation, side: {
            "Origin": f"http://127.0.0.1:{port}",
            "Cookie": f"{cookie}={conversation['sessions'][side]}",
        }

    async def measured(target: str, phase_run: Any) -> dict[str, Any]:
        before = servers[target].cpu
        phase = await phase_run
        row = _phase_row(phase, servers[target].cpu - before)
        row["target"] = target
        row["closed_sockets"] = generators[target].closed_by_server
        rows.append(row)
        print(
            f"  {target:<11} {row['phase']:<10} {row['per_second']:7.1f} msg/s, "
            f"delivery p99 {row['p99']:.0f} ms",
            file=sys.stderr,
            flush=True,
        )
        return row

    try:
        for target in ("baseline", "application"):
            generator = Generator()
            generators[target] = generator
            seconds = await generator.connect(url_for(target), headers_for(target), pairs)
            print(
                f"  {target}: {len(generator.sockets)} sockets in {seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            rows.append({"target": target, "phase": "connect", "seconds": seconds})
            await generator.closed_loop("warm-up", len(generator.sockets))
        # Paced first: an overload leaves backlogs (and, with the in-memory layer, sockets
        # dropped from their groups) behind it.
        for target in ("baseline", "application"):
            await measured(
                target,
                generators[target].paced(f"paced {args.rate:g}/s", args.paced_messages, args.rate),
            )
        for target in ("baseline", "application"):
            await measured(target, generators[target].closed_loop("saturated", args.messages))
    finally:
        for generator in generators.values():
            await generator.close()
    return rows


def _measure(config: str, args: argparse.Namespace) -> dict[str, Any]:
    var_dir = Path(tempfile.mkdtemp(prefix="sprechstunde-bench-messaging-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, var_dir, True)
        if config == "embedded":
            database_url = f"sqlite:///{var_dir / 'bench.sqlite3'}"
            redis_url = None
            described = "SQLite, in-memory layer"
        else:
            server_url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
            database_url = stack.enter_context(_postgres_database(server_url))
            redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
            described = "PostgreSQL, Redis layer"
        env = _env(var_dir, database_url, redis_url, args.conn_max_age, args.pool_max_size)
        print(f"{config}: migrate and prepare ...", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "migrate", "--no-input", "-v0"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=900,
        )
        world = _child(
            env,
            "--child-prepare",
            "--pairs",
            str(args.pairs),
            "--case-managers",
            str(args.case_managers),
        )
        servers = {
            "baseline": stack.enter_context(_serve("baseline", BASELINE, env, var_dir)),
            "application": stack.enter_context(_serve("application", APP, env, var_dir)),
        }
        generator_cpu = resource.getrusage(resource.RUSAGE_SELF)
        rows = asyncio.run(_drive(servers, world, args))
        if any(row.get("closed_sockets") for row in rows):
            for server in servers.values():
                tail = server.log.read_text(errors="replace")[-3000:]
                print(f"--- end of the {server.name} server's log ---\n{tail}", file=sys.stderr)
        used = resource.getrusage(resource.RUSAGE_SELF)
        stored = _child(env, "--child-stored")["messages"]
        sent_to_application = sum(
            row.get("messages", 0) for row in rows if row["target"] == "application"
        ) + 2 * len(world["conversations"])  # the warm-up
        return {
            "config": config,
            "described": described,
            "rows": rows,
            "stored": stored,
            "sent_to_application": sent_to_application,
            "generator_cpu": (used.ru_utime + used.ru_stime)
            - (generator_cpu.ru_utime + generator_cpu.ru_stime),
        }
    raise AssertionError("unreachable")


def _report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "| configuration | target | phase | messages | s acked / delivered | msg/s | "
        "ack p50 / p99 ms | delivery p50 / p95 / p99 ms | missing | server CPU ms/msg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for result in results:
        for row in result["rows"]:
            if row["phase"] == "connect":
                notes.append(
                    f"{result['config']}, {row['target']}: {2 * args.pairs} sockets "
                    f"connected in {row['seconds']:.1f} s"
                )
                continue
            missing = row["missing_acks"] + row["missing_deliveries"] + row["errors"]
            lines.append(
                f"| {result['described']} | {row['target']} | {row['phase']} | "
                f"{row['messages']} | {row['seconds']:.1f} / {row['all_delivered']:.1f} | "
                f"{row['per_second']:.0f} | "
                f"{row['ack_p50']:.0f} / {row['ack_p99']:.0f} | "
                f"{row['p50']:.0f} / {row['p95']:.0f} / {row['p99']:.0f} | {missing} | "
                f"{row['cpu_ms_per_message']:.2f} |"
            )
            if row["closed_sockets"]:
                notes.append(
                    f"{result['config']}, {row['target']}, {row['phase']}: "
                    f"{row['closed_sockets']} sockets closed by the server so far"
                )
            if row["max_lag_ms"] > 5:
                notes.append(
                    f"{result['config']}, {row['target']}, {row['phase']}: the generator "
                    f"fell behind its schedule by up to {row['max_lag_ms']:.0f} ms"
                )
        by = {(r["target"], r["phase"]): r for r in result["rows"]}
        app, base = by[("application", "saturated")], by[("baseline", "saturated")]
        notes.append(
            f"{result['config']}: application/baseline saturated throughput = "
            f"{app['per_second'] / base['per_second']:.2f}; stored messages "
            f"{result['stored']} of {result['sent_to_application']} sent to the application; "
            f"load generator CPU {result['generator_cpu']:.0f} s"
        )
    return "\n".join(lines) + "\n\n" + "\n".join(f"* {note}" for note in notes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100, help="conversations (2 sockets each)")
    parser.add_argument("--messages", type=int, default=1000, help="saturated phase")
    parser.add_argument("--paced-messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0, help="paced phase, messages/s")
    parser.add_argument("--configs", default="embedded,scaled")
    parser.add_argument(
        "--conn-max-age", type=int, default=None, help="DATABASE_CONN_MAX_AGE (default: 0)"
    )
    parser.add_argument(
        "--pool-max-size",
        type=int,
        default=None,
        help="DATABASE_POOL_MAX_SIZE on PostgreSQL (default: the settings' 10; 0 = no pool)",
    )
    parser.add_argument("--case-managers", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--child-prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-stored", action="store_true", help=argparse.SUPPRESS)
    return parser


def run(argv: list[str] | None = None) -> str:
    """Measures every configuration asked for; returns the report (used by bench/run_all.py)."""
    args = build_parser().parse_args(argv)
    results = []
    for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
        results.append(_measure(config, args))
        # Each configuration's figures as soon as they are there (a long run may be cut).
        print(_report(results[-1:], args), file=sys.stderr, flush=True)
    header = (
        f"Chat fan-out: {2 * args.pairs} sockets ({args.pairs} conversations x client + case "
        f"manager), one uvicorn process per target, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"DATABASE_CONN_MAX_AGE {args.conn_max_age or 0}, PostgreSQL pool "
        f"{'default' if args.pool_max_size is None else args.pool_max_size}"
    )
    return header + "\n" + _report(results, args)


def main() -> None:
    args = build_parser().parse_args()
    if args.child_prepare:
        print(RESULT_MARK + json.dumps(_prepare(args.pairs, args.case_managers)))
        return
    if args.child_stored:
        print(RESULT_MARK + json.dumps(_stored()))
        return
    # A plain kill still stops the servers and removes the bench data (the finally blocks).
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(143))
    print(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
