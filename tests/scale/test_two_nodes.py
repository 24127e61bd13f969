"""Two web nodes of the app behind the shipped nginx site (deploy/nginx/sprechstunde.conf), on
one PostgreSQL database and Redis (issue 16, item 2): sessions are valid on both, a chat
between a client on one node and her case manager on the other goes through, and restarting
a node in the middle of a chat loses and doubles no message; the sockets come back through
the proxy. Uploads and downloads go on across the nodes and a restart. Two Chromium pages hold
a video call with their sockets on different nodes, and it goes on when the client's node is
restarted mid-call.

Real processes only: two `manage.py serve` (uvicorn), nginx, PostgreSQL on 127.0.0.1:5432
(a database of its own, dropped afterwards), Redis on 127.0.0.1:6379 under a key prefix of
its own, SeaweedFS, clamd, headless Chromium. Runs in both CI runs (it does not depend on the
suite's database)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.nginx_site import free_tcp_port, nginx_binary, nginx_config
from tests.scale.harness import HOST, node_environment, prepare

REPO = Path(__file__).resolve().parents[2]
PG_SERVER = os.environ.get("SCALE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("SCALE_TEST_REDIS", "redis://127.0.0.1:6379/13")


@dataclass
class Node:
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.port} ended:\n{self.log.read_text()[-3000:]}")
            try:
                probe = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}/gesundheit/",
                    headers={"Host": HOST, "X-Forwarded-Proto": "https"},
                )
                with urllib.request.urlopen(probe, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {self.port} did not answer:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Cluster:
    nodes: list[Node]
    https_port: int
    fixtures: dict[str, Any]
    database_url: str
    bucket: str
    nginx: subprocess.Popen[bytes] | None = None
    folder: Path = field(default_factory=Path)

    def cookie(self, who: str) -> str:
        return f"{self.fixtures['cookie']}={self.fixtures[who + '_session']}"

    def proxy_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.https_port}{path}"

    def messages_stored(self) -> list[tuple[int, str]]:
        import psycopg

        with psycopg.connect(_libpq(self.database_url)) as connection:
            rows = connection.execute(
                "SELECT sequence, body FROM messaging_message WHERE conversation_id = %s"
                " ORDER BY sequence",
                [self.fixtures["conversation"]],
            ).fetchall()
        return [(int(sequence), str(body)) for sequence, body in rows]


def _libpq(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _get(url: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie, "Host": HOST})  # noqa: S310
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_tls()), _NoRedirect())
    try:
        with opener.open(request, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.contextmanager
def _database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"test_nodes_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(_libpq(PG_SERVER), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server at {PG_SERVER}: {error}")
    parts = urllib.parse.urlsplit(PG_SERVER)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(_libpq(PG_SERVER), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, s3_server: Any, clamd_daemon: Any
) -> Iterator[Cluster]:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    folder = tmp_path_factory.mktemp("two-nodes")
    bucket = "nodes-" + uuid.uuid4().hex[:12]
    s3_server.client().create_bucket(Bucket=bucket)
    with _database() as database_url:
        env = node_environment(
            folder,
            database_url=database_url,
            redis_url=REDIS,
            # Each node runs a task worker thread (uploads are processed where they end).
            EMBEDDED_TASK_WORKER="true",
            # Documents, previews and upload parts in SeaweedFS (S3), shared by the nodes.
            DOCUMENT_S3_BUCKET=bucket,
            DOCUMENT_S3_ENDPOINT_URL=s3_server.url,
            DOCUMENT_S3_ACCESS_KEY_ID=s3_server.access_key,
            DOCUMENT_S3_SECRET_ACCESS_KEY=s3_server.secret_key,
            DOCUMENT_S3_ADDRESSING_STYLE="path",
            CLAMD_SOCKET=clamd_daemon.socket,
            # Each node's /metrics, asked directly: which node holds which call socket.
            METRICS_ALLOWED_IPS="127.0.0.1",
        )
        fixtures = prepare(env, "tests.scale.cluster_prepare")
        nodes = [Node(port=free_tcp_port(), env=env, log=folder / f"node-{n}.log") for n in (1, 2)]
        https_port = free_tcp_port()
        config = nginx_config(
            folder,
            http_port=free_tcp_port(),
            https_port=https_port,
            nodes=[node.port for node in nodes],
        )
        result = Cluster(nodes, https_port, fixtures, database_url, bucket, folder=folder)
        try:
            for node in nodes:
                node.start()
            result.nginx = subprocess.Popen(
                [nginx, "-c", str(config), "-p", str(folder), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while _get(result.proxy_url("/gesundheit/"), "")[0] != 200:
                assert time.monotonic() < deadline, "nginx does not pass requests on"
                time.sleep(0.2)
            yield result
        finally:
            if result.nginx is not None:
                result.nginx.terminate()
                result.nginx.wait(timeout=10)
            for node in nodes:
                node.stop()
            from sprechstunde.documents.object_storage_testing import bucket_remove

            bucket_remove(s3_server, bucket)


# --- sessions --------------------------------------------------------------------------------


def test_a_session_is_valid_on_both_nodes_and_through_the_proxy(cluster):
    name = cluster.fixtures["client_first_name"]
    for _ in cluster.nodes:
        status, _body = _get(cluster.proxy_url("/klienten/portal/"), "")
        assert status == 302  # no session: to the login
    # The same cookie, by turns on each node and through the proxy (round robin).
    for _ in range(2):
        for node in cluster.nodes:
            request_url = f"http://127.0.0.1:{node.port}/klienten/portal/"
            # USE_TLS: the app trusts X-Forwarded-Proto from the local proxy only; straight
            # to a node over plain HTTP it redirects to HTTPS, so ask as the proxy would.
            request = urllib.request.Request(
                request_url,
                headers={
                    "Cookie": cluster.cookie("client"),
                    "Host": HOST,
                    "X-Forwarded-Proto": "https",
                },
            )
            with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310
                assert answer.status == 200
                assert name in answer.read().decode()
    for _ in range(4):
        status, body = _get(cluster.proxy_url("/klienten/portal/"), cluster.cookie("client"))
        assert status == 200
        assert name in body


# --- chat across nodes -------------------------------------------------------------------------


async def _socket(url: str, cookie: str, *, proxy: bool) -> Any:
    from websockets.asyncio.client import connect

    connection = await connect(
        url,
        additional_headers={"Cookie": cookie, "Origin": f"https://{HOST}"}
        if proxy
        else {"Cookie": cookie, "Origin": f"https://{HOST}", "X-Forwarded-Proto": "https"},
        ssl=_tls() if proxy else None,
        open_timeout=20,
        ping_interval=None,
        max_queue=None,
    )
    welcome = json.loads(await asyncio.wait_for(connection.recv(), 20))
    assert welcome["type"] == "welcome", welcome
    return connection


async def _until(connection: Any, kind: str, *, match: Any = None, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(connection.recv(), deadline - time.monotonic()))
        if frame.get("type") == kind and (match is None or match(frame)):
            return frame


def test_chat_between_a_client_on_one_node_and_staff_on_the_other(cluster):
    path = f"/ws/nachrichten/{cluster.fixtures['conversation']}/"
    first, second = cluster.nodes

    async def run() -> None:
        phone = await _socket(
            f"ws://127.0.0.1:{first.port}{path}", cluster.cookie("client"), proxy=False
        )
        desk = await _socket(
            f"ws://127.0.0.1:{second.port}{path}", cluster.cookie("staff"), proxy=False
        )
        try:
            for sender, receiver, body in (
                (phone, desk, "Hallo vom Telefon, Knoten 1"),
                (desk, phone, "Antwort vom Schreibtisch, Knoten 2"),
            ):
                msg_id = uuid.uuid4().hex
                frame = {"type": "send", "client_msg_id": msg_id, "body": body}
                await sender.send(json.dumps(frame))
                ack = await _until(
                    sender, "ack", match=lambda f, i=msg_id: f.get("client_msg_id") == i
                )
                pushed = await _until(
                    receiver, "message", match=lambda f, s=ack["sequence"]: f.get("sequence") == s
                )
                assert pushed["body"] == body
        finally:
            await phone.close()
            await desk.close()

    asyncio.run(run())


def test_restarting_a_node_during_a_chat_loses_and_doubles_nothing(cluster):
    """Both sides talk through the proxy. Node 1 is restarted in the middle: sockets on it
    close, the sides reconnect through the proxy (which sends them to node 2 while node 1 is
    down), catch up with `sync`, and resend what had no ack, with the same message id."""
    path = f"/ws/nachrichten/{cluster.fixtures['conversation']}/"
    url = f"wss://127.0.0.1:{cluster.https_port}{path}"
    before = len(cluster.messages_stored())

    class Side:
        def __init__(self, who: str) -> None:
            self.who = who
            self.connection: Any = None
            self.seen: dict[int, str] = {}
            self.last = 0
            self.reconnects = 0

        async def connect(self) -> None:
            self.connection = await _socket(url, cluster.cookie(self.who), proxy=True)
            # Like chat.js after a reconnect: fetch whatever came meanwhile.
            await self.connection.send(json.dumps({"type": "sync", "after": self.last}))
            answer = await _until(self.connection, "messages")
            for message in answer["messages"]:
                self.note(message)

        def note(self, message: dict[str, Any]) -> None:
            sequence = int(message["sequence"])
            assert self.seen.get(sequence, message["body"]) == message["body"]
            self.seen[sequence] = message["body"]
            self.last = max(self.last, sequence)

        async def send(self, body: str) -> None:
            """Send until acknowledged; a closed socket is replaced through the proxy and the
            same message id is sent again (the page does the same)."""
            msg_id = uuid.uuid4().hex
            deadline = time.monotonic() + 60
            while True:
                try:
                    if self.connection is None:
                        await self.connect()
                    await self.connection.send(
                        json.dumps({"type": "send", "client_msg_id": msg_id, "body": body})
                    )
                    while True:
                        frame = json.loads(await asyncio.wait_for(self.connection.recv(), 10))
                        if frame.get("type") == "message":
                            self.note(frame)
                        if frame.get("type") == "ack" and frame.get("client_msg_id") == msg_id:
                            return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    with contextlib.suppress(Exception):
                        await self.connection.close()
                    self.connection = None
                    self.reconnects += 1
                    await asyncio.sleep(0.3)

        async def catch_up(self) -> None:
            if self.connection is None:
                await self.connect()
            await self.connection.send(json.dumps({"type": "sync", "after": self.last}))
            answer = await _until(self.connection, "messages")
            for message in answer["messages"]:
                self.note(message)

    async def run() -> tuple[list[str], int]:
        phone, desk = Side("client"), Side("staff")
        await phone.connect()
        await desk.connect()
        sent: list[str] = []
        node = cluster.nodes[0]
        for number in range(12):
            if number == 4:
                node.stop()  # mid-chat: whoever was on node 1 loses the socket
            if number == 8:
                await asyncio.to_thread(node.start)
            side = phone if number % 2 == 0 else desk
            body = f"Nachricht {number} von {side.who}"
            await side.send(body)
            sent.append(body)
        for side in (phone, desk):
            await side.catch_up()
            # Each side has every message, each under one number only.
            bodies_seen = list(side.seen.values())
            assert set(sent) <= set(bodies_seen)
            assert len(bodies_seen) == len(set(bodies_seen))
            with contextlib.suppress(Exception):
                await side.connection.close()
        return sent, phone.reconnects + desk.reconnects

    sent, reconnects = asyncio.run(run())
    # The restart did cut a socket (nginx spreads the two sockets over both nodes).
    assert reconnects >= 1
    stored = cluster.messages_stored()[before:]
    bodies = [body for _sequence, body in stored]
    # Every message exactly once, in the order sent, numbered without gaps.
    assert bodies == sent
    sequences = [sequence for sequence, _body in stored]
    assert sequences == list(range(sequences[0], sequences[0] + len(sent)))


# --- uploads and downloads across nodes --------------------------------------------------------

CSRF = "a" * 32


def _request(
    cluster: Cluster,
    method: str,
    path: str,
    *,
    node: Node | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request as the client's phone makes it (session and CSRF cookies, Origin), straight
    to `node` (as the proxy would send it) or through the proxy."""
    cookie = f"{cluster.cookie('client')}; __Host-csrftoken={CSRF}"
    base = {
        "Cookie": cookie,
        "Origin": f"https://{HOST}",
        "Referer": f"https://{HOST}/dokumente/portal/hochladen/",
        "X-CSRFToken": CSRF,
        "Accept": "application/json",
        "Host": HOST,
        **(headers or {}),
    }
    if node is None:
        url = cluster.proxy_url(path)
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=_tls()), _NoRedirect()
        )
    else:
        url = f"http://127.0.0.1:{node.port}{path}"
        base["X-Forwarded-Proto"] = "https"
        opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(url, data=data, method=method, headers=base)  # noqa: S310
    try:
        with opener.open(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_an_upload_goes_on_across_nodes_and_a_restart_and_the_other_node_serves_it(cluster):
    from sprechstunde.documents.factories import jpeg_bytes

    first, second = cluster.nodes
    data = jpeg_bytes(1600, 1200)
    form = urllib.parse.urlencode(
        {"name": "kontoauszug.jpg", "size": str(len(data)), "batch": "b" * 22, "position": "0"}
    ).encode()
    status, body = _request(
        cluster,
        "POST",
        "/dokumente/uploads/",
        node=first,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 201, body
    session = json.loads(body)
    chunk = max(4096, len(data) // 6)
    offset, index = 0, 0
    while offset < len(data):
        piece = data[offset : offset + chunk]
        if index == 3:
            first.stop()  # a node goes down mid-upload; the proxy takes the rest to the other
        target = None if index >= 3 else (first if index % 2 == 0 else second)
        status, body = _request(
            cluster,
            "PUT",
            session["url"],
            node=target,
            data=piece,
            headers={"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
        )
        assert status == 200, body
        offset = json.loads(body)["offset"]
        index += 1
    first.start()
    assert offset == len(data)

    # Finished on node 1 (back again), processed by a node's worker, downloaded from node 2.
    form = urllib.parse.urlencode(
        {"title": "Kontoauszug", "upload_ids": str(session["id"]), "csrfmiddlewaretoken": CSRF}
    ).encode()
    status, body = _request(
        cluster,
        "POST",
        "/dokumente/portal/hochladen/",
        node=first,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 201, body
    document_url = json.loads(body)["url"]
    pdf_url = document_url.rstrip("/") + "/pdf/"
    deadline = time.monotonic() + 120
    while True:
        status, pdf = _request(cluster, "GET", pdf_url, node=second, headers={"Accept": "*/*"})
        if status == 200 and pdf.startswith(b"%PDF"):
            break
        assert time.monotonic() < deadline, f"the document did not become ready: {status}"
        time.sleep(1)
    # Every byte arrived: the received file's hash is what was sent.
    import hashlib

    import psycopg

    with psycopg.connect(_libpq(cluster.database_url)) as connection:
        (sha256,) = connection.execute(
            "SELECT sha256 FROM documents_document WHERE id = %s",
            [int(document_url.strip("/").split("/")[-1])],
        ).fetchone()
    assert sha256 == hashlib.sha256(data).hexdigest()
    # Nothing of it is on a node's disk: the nodes share only the object storage.
    var = cluster.folder / "var"
    leftovers = [p for p in var.rglob("*") if p.is_file() and p.suffix in {".part", ".bin"}]
    assert leftovers == []


# --- a video call between two browsers on different nodes ------------------------------------


@pytest.mark.browser
def test_a_video_call_between_browsers_on_different_nodes_survives_a_node_restart(cluster):
    """The client's phone opens the call through the proxy, which gives its socket to one node
    (call it A; each node's /metrics says which); the case manager's desk opens it through an
    nginx of the shipped site that leads to the other node (B) only. Offers, answers and ICE
    candidates cross from A to B through Redis: both see each other's video, and both pages
    show the same verification code. Then A is restarted mid-call: the phone's socket comes
    back through the proxy (on B, the node still up), the page restarts ICE over it (a new
    offer and answer) and the call's chat goes both ways. Media is peer to peer and goes on
    meanwhile. So each node carried part of the call's signalling, and no node was needed
    twice: no sticky sessions."""
    from tests.browser.support.chromium import require_chromium
    from tests.scale import call_browsers as call

    require_chromium()
    fixtures = cluster.fixtures
    path, cookie_name = fixtures["call_path"], fixtures["cookie"]
    proxy_origin = f"https://127.0.0.1:{cluster.https_port}"
    ports = [node.port for node in cluster.nodes]

    def sockets() -> list[int | None]:
        return [call.video_sockets(port) for port in ports]

    assert sockets() == [0, 0]
    with call.chromium() as browser:
        phone = call.page_for(
            browser, proxy_origin, (cookie_name, fixtures["client_session"]), call.PHONE
        )
        phone.goto(proxy_origin + path)
        call.join(phone)
        call.wait_phase(phone, "waiting")
        # The page holds one call socket (opened during the pre-join check): on which node?
        on = call.until(sockets, lambda counts: sorted(counts) == [0, 1])
        a, b = (0, 1) if on[0] == 1 else (1, 0)
        node_a, node_b = cluster.nodes[a], cluster.nodes[b]

        with call.front_for(cluster.folder / "front-b", node_b.port) as front_b:
            desk_origin = f"https://127.0.0.1:{front_b}"
            desk = call.page_for(
                browser, desk_origin, (cookie_name, fixtures["staff_session"]), call.DESKTOP
            )
            desk.goto(desk_origin + path)
            call.join(desk)
            call.wait_phase(desk, "in-call")
            row = desk.locator("#waiting-list li", has_text=fixtures["client_name"])
            row.locator("[data-action=admit]").click()
            call.wait_phase(phone, "in-call")

            # One socket on each node: the phone's on A, the desk's on B.
            expected = [0, 0]
            expected[a], expected[b] = 1, 1
            assert call.until(sockets, lambda counts: counts == expected) == expected

            phone_id, desk_id = call.me(phone), call.me(desk)
            for page, peer in ((phone, desk_id), (desk, phone_id)):
                call.until(
                    lambda page=page, peer=peer: call.connection(page, peer),
                    lambda c: c is not None and c["state"] == "connected",
                )
                seen = call.remote_video_plays(page, peer)
                assert seen["width"] > 0 and seen["frames"] >= 5
            # The same code on both ends: the fingerprints came through unchanged.
            phone_code, desk_code = call.codes(phone)[str(desk_id)], call.codes(desk)[str(phone_id)]
            assert phone_code == desk_code
            before = call.connection(desk, phone_id)
            assert before is not None

            # Node A goes down mid-call.
            node_a.stop()
            # Media is peer to peer: the desk goes on seeing the phone meanwhile.
            call.remote_video_plays(desk, phone_id)
            # The phone's socket came back through the proxy, on B (A is down).
            call.until(
                lambda: call.video_sockets(node_b.port), lambda count: count == 2, timeout=60
            )
            # Over it the page restarted ICE: a new offer and answer through the server.
            after = call.until(
                lambda: call.connection(desk, phone_id),
                lambda c: (
                    c is not None
                    and c["remoteUfrag"] != before["remoteUfrag"]
                    and c["localUfrag"] != before["localUfrag"]
                    and c["state"] == "connected"
                ),
            )
            assert after["signalling"] == "stable"
            call.chat(phone, "Wieder da nach dem Neustart.")
            call.chat_arrives(desk, "Wieder da nach dem Neustart.")
            call.chat(desk, "Ich sehe und höre Sie weiter.")
            call.chat_arrives(phone, "Ich sehe und höre Sie weiter.")

            # A comes back; nothing moves to it by itself, and the call goes on both ways.
            node_a.start()
            expected[a], expected[b] = 0, 2
            assert call.until(sockets, lambda counts: counts == expected) == expected
            for page, peer in ((phone, desk_id), (desk, phone_id)):
                call.remote_video_plays(page, peer)
            assert call.codes(phone)[str(desk_id)] == phone_code
            assert call.codes(desk)[str(phone_id)] == desk_code
            phone.context.close()
            desk.context.close()
    # The pages are gone, and so are their sockets.
    assert call.until(sockets, lambda counts: counts == [0, 0]) == [0, 0]
