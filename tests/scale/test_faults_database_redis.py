"""Fault suite (issue 16, item 4), first two cases: PostgreSQL and Redis restarted under the
app's two nodes while people use it.

- PostgreSQL stopped and started again while pages are being asked for: the requests caught
  by the outage get the clear 503 page "briefly unavailable" in the person's language (JSON
  for JSON callers), never a 500 or a stack trace; once the server is back, the next requests
  on both nodes succeed with no node restarted (the pool replaces its dead connections).
- Redis restarted during a chat and a call: the sockets are replaced, no chat message is lost
  or stored twice, and call signals and chat frames sent after the restart reach the other
  participant.

Real processes only, all started and stopped by this module: a PostgreSQL cluster of its own
(initdb and pg_ctl in a temporary folder, on a free port; as the `postgres` user when the tests
run as root), a redis-server of its own on a free port, and two `manage.py serve` nodes of the
tests/scale harness. Nothing of the suite's own PostgreSQL or Redis is used, so both CI runs
run it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.nginx_site import free_tcp_port
from tests.scale.harness import HOST, node_environment, prepare
from tests.scale.test_two_nodes import Node, _libpq, _socket

# --- private PostgreSQL and Redis ---------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder on a free loopback port. initdb refuses to
    run as root, so under root the server runs as the `postgres` system user."""

    def __init__(self) -> None:
        bindir = _postgres_bindir()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries are missing (scripts/system-deps.sh services)")
        self.bindir = bindir
        self.port = free_tcp_port()
        self.folder = Path(tempfile.mkdtemp(prefix="sprechstunde-faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.folder,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        # "fast": what a restart for a minor update does; open sessions are terminated.
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A redis-server without persistence on a free loopback port: a restart loses all it
    held (group memberships, channel queues), as a crashed Redis does."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is missing (scripts/system-deps.sh services)")
        self.binary = binary
        self.port = free_tcp_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder),
             "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self._pong():
            assert self.process.poll() is None, (self.folder / "redis.log").read_text()
            assert time.monotonic() < deadline, "redis-server does not answer"
            time.sleep(0.1)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the nodes on them -------------------------------------------------------------------------


@dataclass
class Site:
    postgres: PrivatePostgres
    redis: PrivateRedis
    nodes: list[Node]
    fixtures: dict[str, Any]
    database_url: str
    folder: Path = field(default_factory=Path)

    def cookie(self, who: str) -> str:
        return f"{self.fixtures['cookie']}={self.fixtures[who + '_session']}"

    def messages_stored(self) -> list[tuple[int, str]]:
        import psycopg

        with psycopg.connect(_libpq(self.database_url)) as connection:
            rows = connection.execute(
                "SELECT sequence, body FROM messaging_message WHERE conversation_id = %s"
                " ORDER BY sequence",
                [self.fixtures["conversation"]],
            ).fetchall()
        return [(int(sequence), str(body)) for sequence, body in rows]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    psycopg = pytest.importorskip("psycopg")
    folder = tmp_path_factory.mktemp("faults")
    postgres = PrivatePostgres()
    redis: PrivateRedis | None = None
    nodes: list[Node] = []
    try:
        redis = PrivateRedis(folder)
        with psycopg.connect(_libpq(postgres.url), autocommit=True) as admin:
            admin.execute('CREATE DATABASE "sprechstunde"')
        database_url = postgres.url.rsplit("/", 1)[0] + "/sprechstunde"
        env = node_environment(
            folder,
            database_url=database_url,
            redis_url=redis.url,
            EMBEDDED_TASK_WORKER="false",
        )
        fixtures = prepare(env, "tests.scale.fault_prepare")
        nodes = [Node(port=free_tcp_port(), env=env, log=folder / f"node-{n}.log") for n in (1, 2)]
        for node in nodes:
            node.start()
        yield Site(postgres, redis, nodes, fixtures, database_url, folder=folder)
    finally:
        for node in nodes:
            node.stop()
        if redis is not None:
            redis.stop()
        postgres.remove()


def _page(node: Node, cookie: str, *, accept: str, language: str) -> tuple[int, str, str]:
    """One request of a phone, straight to `node` as the proxy sends it: (status, content
    type, body). A refused or broken connection raises (a node must never drop a request)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{node.port}/klienten/portal/",
        headers={
            "Cookie": cookie,
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "Accept": accept,
            "Accept-Language": language,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode(errors="replace")


# --- PostgreSQL restarted under traffic --------------------------------------------------------

HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
# A Ukrainian client's phone (her account's language and her browser's): the outage answer is
# Ukrainian whether it comes before her session was read or after.
CALLERS = {
    # name: (Accept, Accept-Language, what the outage answer must say)
    "page": (HTML, "uk", "Ми ненадовго недоступні."),
    "json": ("application/json", "uk", "Ми ненадовго недоступні."),
}


def test_postgresql_restarted_under_traffic_gives_a_clear_page_and_the_pool_recovers(site):
    cookie = site.cookie("client")
    name = site.fixtures["client_first_name"]
    pids = [node.process.pid for node in site.nodes if node.process is not None]
    phase = ["before"]
    answers: dict[str, list[tuple[str, int, str, str]]] = {caller: [] for caller in CALLERS}
    broken: list[BaseException] = []
    stop = threading.Event()

    def traffic(caller: str) -> None:
        accept, language, _text = CALLERS[caller]
        turn = 0
        while not stop.is_set():
            node = site.nodes[turn % 2]
            turn += 1
            at = phase[0]
            try:
                status, kind, body = _page(node, cookie, accept=accept, language=language)
            except BaseException as error:  # reported below
                broken.append(error)
                return
            answers[caller].append((at, status, kind, body))

    def wait_for(condition: Any, what: str) -> None:
        deadline = time.monotonic() + 120
        while not condition():
            assert not broken, broken
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    threads = [threading.Thread(target=traffic, args=(caller,)) for caller in CALLERS]
    for thread in threads:
        thread.start()
    try:
        wait_for(
            lambda: all(sum(1 for a in got if a[1] == 200) >= 2 for got in answers.values()),
            "pages answer before the restart",
        )
        site.postgres.stop()
        phase[0] = "down"
        wait_for(
            lambda: all(
                any(a[0] == "down" and a[1] != 200 for a in got) for got in answers.values()
            ),
            "requests during the outage were answered",
        )
        site.postgres.start()
        phase[0] = "back"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
    assert not broken, broken

    for caller, got in answers.items():
        accept, _language, text = CALLERS[caller]
        for at, status, kind, body in got:
            assert status in (200, 503), (caller, at, status, body[:500])
            if status == 200:
                if accept == HTML:
                    assert name in body
                continue
            # The outage answer: clear, in the caller's language, no detail of the failure.
            assert "Traceback" not in body and "OperationalError" not in body
            assert "127.0.0.1" not in body and str(site.postgres.port) not in body
            if accept == HTML:
                assert kind.startswith("text/html")
                assert text in body, (caller, body[:500])
                assert '<html lang="uk"' in body
            else:
                assert kind == "application/json"
                answer = json.loads(body)
                assert answer["error"] == "unavailable"
                assert text in answer["message"]
        assert any(status == 503 for _at, status, _k, _b in got), caller

    # The server is back: the next requests on both nodes succeed, without a hand.
    for _round in range(3):
        for node in site.nodes:
            for caller, (accept, language, _text) in CALLERS.items():
                status, kind, body = _page(node, cookie, accept=accept, language=language)
                assert status == 200, (caller, node.port, status, body[:500])
                assert name in body
    # Neither node was restarted.
    assert [node.process.pid for node in site.nodes if node.process is not None] == pids
    assert all(node.process is not None and node.process.poll() is None for node in site.nodes)


# --- Redis restarted during a chat and a call --------------------------------------------------


class ChatPage:
    """What chat.js does, on one node: a socket that is replaced when it closes (then `sync`
    from the last number seen), a ping when quiet (the pong says the last number; behind it,
    `sync`), and sending until acknowledged, under the same message id."""

    def __init__(self, site: Site, who: str, node: Node) -> None:
        self.url = f"ws://127.0.0.1:{node.port}/ws/nachrichten/{site.fixtures['conversation']}/"
        self.cookie = site.cookie(who)
        self.who = who
        self.connection: Any = None
        self.seen: dict[int, str] = {}
        self.last = 0
        self.reconnects = 0
        self.failure: AssertionError | None = None
        self.acks: dict[str, asyncio.Future[int]] = {}
        self.open = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def note(self, message: dict[str, Any]) -> None:
        sequence = int(message["sequence"])
        assert self.seen.get(sequence, message["body"]) == message["body"]
        self.seen[sequence] = message["body"]
        self.last = max(self.last, sequence)

    async def start(self) -> None:
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._pulse())]
        await asyncio.wait_for(self.open.wait(), 30)

    async def _read(self) -> None:
        while True:
            try:
                self.connection = await _socket(self.url, self.cookie, proxy=False)
                await self.connection.send(json.dumps({"type": "sync", "after": self.last}))
                self.open.set()
                async for raw in self.connection:
                    frame = json.loads(raw)
                    kind = frame.get("type")
                    if kind == "message":
                        self.note(frame)
                    elif kind == "messages":
                        for message in frame["messages"]:
                            self.note(message)
                    elif kind == "pong" and frame.get("last_sequence", 0) > self.last:
                        await self.connection.send(json.dumps({"type": "sync", "after": self.last}))
                    elif kind == "ack":
                        waiting = self.acks.get(frame["client_msg_id"])
                        if waiting is not None and not waiting.done():
                            waiting.set_result(int(frame["sequence"]))
            except AssertionError as error:  # a message seen under two numbers
                self.failure = error
                raise
            except Exception:  # noqa: S110 (closed: replaced below, as chat.js does)
                pass
            self.open.clear()
            self.connection = None
            self.reconnects += 1
            await asyncio.sleep(0.3)

    async def _pulse(self) -> None:
        while True:
            await asyncio.sleep(1.5)
            if self.connection is not None:
                with contextlib.suppress(Exception):
                    await self.connection.send(json.dumps({"type": "ping"}))

    async def send(self, body: str) -> int:
        msg_id = uuid.uuid4().hex
        self.acks[msg_id] = asyncio.get_running_loop().create_future()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.open.wait(), 10)
                await self.connection.send(
                    json.dumps({"type": "send", "client_msg_id": msg_id, "body": body})
                )
                return await asyncio.wait_for(asyncio.shield(self.acks[msg_id]), 5)
            except Exception:  # closed or no answer: again, under the same id
                await asyncio.sleep(0.3)
        raise AssertionError(f"{self.who}: no ack for {body!r}")

    async def until_seen(self, sequence: int, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while sequence not in self.seen:
            assert self.failure is None, self.failure
            assert time.monotonic() < deadline, f"{self.who} never got message {sequence}"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.connection.close()


def test_redis_restarted_during_a_chat_loses_and_doubles_no_message(site):
    """The client on node 1, her case manager on node 2. Redis is stopped in the middle of
    the chat (messages are sent while it is away) and started again empty."""
    first, second = site.nodes
    before = len(site.messages_stored())

    async def run() -> list[str]:
        phone = ChatPage(site, "client", first)
        desk = ChatPage(site, "staff", second)
        await phone.start()
        await desk.start()
        sent: list[str] = []
        try:
            restart: asyncio.Task[None] | None = None
            for number in range(12):
                if number == 4:
                    site.redis.stop()

                    async def back_later() -> None:
                        await asyncio.sleep(3)
                        await asyncio.to_thread(site.redis.start)

                    restart = asyncio.create_task(back_later())
                sender, receiver = (phone, desk) if number % 2 == 0 else (desk, phone)
                body = f"Nachricht {number} von {sender.who}"
                sequence = await sender.send(body)
                sent.append(body)
                if number < 4 or number >= 8:
                    # Before the outage and after it, each message reaches the other side.
                    await receiver.until_seen(sequence)
            assert restart is not None
            await restart
            last = max(phone.last, desk.last)
            for page in (phone, desk):
                await page.until_seen(last)
                seen = list(page.seen.values())
                assert set(sent) <= set(seen), page.who
                assert len(seen) == len(set(seen)), page.who
            # The outage cut the sockets, and they were replaced.
            assert phone.reconnects >= 1 and desk.reconnects >= 1
        finally:
            await phone.close()
            await desk.close()
        return sent

    sent = asyncio.run(run())
    stored = site.messages_stored()[before:]
    # Every message stored exactly once, in the order sent, numbered without gaps.
    assert [body for _sequence, body in stored] == sent
    sequences = [sequence for sequence, _body in stored]
    assert sequences == list(range(sequences[0], sequences[0] + len(sent)))


class CallPage:
    """What the call page's signalling.js does, on one node: one page session id for the
    page's life, a socket replaced when it closes (or when a ping gets no pong), frames
    collected as they come."""

    def __init__(self, site: Site, who: str, node: Node) -> None:
        self.url = (
            f"ws://127.0.0.1:{node.port}/ws/video/{site.fixtures['call']}/"
            f"?s={uuid.uuid4().hex[:16]}"
        )
        self.cookie = site.cookie(who)
        self.who = who
        self.connection: Any = None
        self.frames: list[dict[str, Any]] = []
        self.welcomes: list[dict[str, Any]] = []
        self.reconnects = 0
        self.open = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> dict[str, Any]:
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._probe())]
        await asyncio.wait_for(self.open.wait(), 30)
        return self.welcomes[-1]

    async def _read(self) -> None:
        from websockets.asyncio.client import connect

        while True:
            try:
                self.connection = await connect(
                    self.url,
                    additional_headers={
                        "Cookie": self.cookie,
                        "Origin": f"https://{HOST}",
                        "X-Forwarded-Proto": "https",
                    },
                    open_timeout=20,
                    ping_interval=None,
                    max_queue=None,
                )
                self.heard = time.monotonic()
                async for raw in self.connection:
                    frame = json.loads(raw)
                    self.heard = time.monotonic()
                    self.frames.append(frame)
                    if frame.get("type") == "welcome":
                        self.welcomes.append(frame)
                        self.open.set()
            except Exception:  # noqa: S110 (replaced below, as the page does)
                pass
            self.open.clear()
            self.connection = None
            self.reconnects += 1
            await asyncio.sleep(0.3)

    async def _probe(self) -> None:
        # signalling.js: a socket with no answer to a ping within 4 s is replaced.
        while True:
            await asyncio.sleep(1.5)
            connection = self.connection
            if connection is None:
                continue
            pinged = time.monotonic()
            with contextlib.suppress(Exception):
                await connection.send(json.dumps({"type": "ping"}))
            await asyncio.sleep(4)
            if self.connection is connection and self.heard < pinged:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def send(self, frame: dict[str, Any]) -> None:
        await asyncio.wait_for(self.open.wait(), 30)
        await self.connection.send(json.dumps(frame))

    async def until(self, kind: str, match: Any = None, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if frame.get("type") == kind and (match is None or match(frame)):
                    return frame
            assert time.monotonic() < deadline, f"{self.who}: no {kind} frame"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.connection.send(json.dumps({"type": "leave"}))
            await self.connection.close()


OFFER = {"type": "offer", "sdp": "v=0\r\na=fingerprint:sha-256 AB:CD:EF\r\n"}


def test_redis_restarted_during_a_call_replaces_the_sockets_and_signals_go_on(site):
    """The case manager hosts the call on node 1, the client joins on node 2 and is let in.
    Redis is restarted (empty): both pages' sockets are replaced, and an offer and a chat
    frame sent afterwards reach the other side."""
    first, second = site.nodes

    async def run() -> None:
        host = CallPage(site, "staff", first)
        guest = CallPage(site, "client", second)
        host_welcome = await host.start()
        assert host_welcome["state"] == "admitted"
        guest_welcome = await guest.start()
        assert guest_welcome["state"] == "waiting"
        host_id, guest_id = host_welcome["me"], guest_welcome["me"]
        try:
            await host.until(
                "roster",
                lambda f: any(p["id"] == guest_id for p in f.get("participants", [])),
            )
            await host.send({"type": "admit", "participant": guest_id})
            await guest.until("admitted")
            await guest.send(
                {"type": "signal", "to": host_id, "cid": "before", "description": OFFER}
            )
            await host.until("signal", lambda f: f.get("cid") == "before")

            connections = (host.connection, guest.connection)
            await asyncio.to_thread(site.redis.stop)
            await asyncio.sleep(2)
            await asyncio.to_thread(site.redis.start)

            # Both sockets were replaced (each page has a welcome of its new socket).
            for page, old in zip((host, guest), connections, strict=True):
                deadline = time.monotonic() + 60
                while page.connection is old or page.connection is None or not page.open.is_set():
                    assert time.monotonic() < deadline, f"{page.who}: socket not replaced"
                    await asyncio.sleep(0.1)
            assert len(guest.welcomes) >= 2 and len(host.welcomes) >= 2
            assert guest.welcomes[-1]["state"] == "admitted"  # no second waiting room

            # Signals and chat after the restart, both ways.
            await guest.send(
                {"type": "signal", "to": host_id, "cid": "after", "description": OFFER}
            )
            signal = await host.until("signal", lambda f: f.get("cid") == "after")
            assert signal["from"] == guest_id and signal["description"] == OFFER
            await host.send(
                {"type": "signal", "to": guest_id, "cid": "answer", "description": OFFER}
            )
            await guest.until("signal", lambda f: f.get("cid") == "answer")
            await host.send({"type": "chat", "text": "Hören Sie mich wieder?"})
            chat = await guest.until("chat", lambda f: f.get("text") == "Hören Sie mich wieder?")
            assert chat["text"] == "Hören Sie mich wieder?"
        finally:
            await host.close()
            await guest.close()

    asyncio.run(run())
