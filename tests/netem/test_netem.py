"""The network emulation parts do what the benchmarks and the network-change test rely on."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.browser.support.chromium import is_ci
from tests.netem import Coturn, Impairment, Namespace, TcpForwarder, UdpRelay, require_root
from tests.netem.coturn import stun_binding_ok
from tests.netem.namespace import socket_in


@pytest.fixture(autouse=True)
def _root_only() -> None:
    problem = require_root()
    if problem:
        if is_ci():
            pytest.fail(f"CI=true and the network emulation cannot run: {problem}")
        pytest.skip(problem)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    with Namespace() as ns:
        yield ns


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A UDP echo server on the host's loopback."""
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            sock.sendto(data, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()
    stop.set()
    thread.join()
    sock.close()


def ask(address: tuple[str, int], count: int, namespace: str | None = None) -> int:
    """Sends `count` datagrams and returns how many echoes came back."""
    client = socket_in(namespace, socket.SOCK_DGRAM)
    client.settimeout(1.0)
    with client:
        for i in range(count):
            client.sendto(str(i).encode(), address)
        received = 0
        try:
            while received < count:
                client.recvfrom(2048)
                received += 1
        except TimeoutError:
            pass
    return received


def test_relay_passes_everything_without_impairment(echo: tuple[str, int]) -> None:
    with UdpRelay(listen=("127.0.0.1", 0), target=echo) as relay:
        assert ask(relay.address, 50) == 50
        assert relay.up.counters.packets == 50 and relay.up.counters.lost == 0


def test_relay_adds_its_delay_to_the_round_trip(echo: tuple[str, int]) -> None:
    delay = Impairment(delay_ms=60)
    with UdpRelay(listen=("127.0.0.1", 0), target=echo, up=delay, down=delay) as relay:
        ask(relay.address, 1)  # opens the upstream socket
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(5)
        with client:
            started = time.monotonic()
            client.sendto(b"x", relay.address)
            client.recvfrom(16)
            # A lower bound only: the relay can never be faster than its delay.
            assert time.monotonic() - started >= 0.12


def test_relay_loss_and_rate_cap_drop_packets(echo: tuple[str, int]) -> None:
    with UdpRelay(listen=("127.0.0.1", 0), target=echo, up=Impairment(loss=1.0)) as relay:
        assert ask(relay.address, 20) == 0
        assert relay.up.counters.lost == 20
    # 8 kbit/s with a 100 ms queue holds one 1000-byte datagram at a time.
    capped = Impairment(rate_kbit=8, queue_ms=100)
    with UdpRelay(listen=("127.0.0.1", 0), target=echo, up=capped) as relay:
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with client:
            for _ in range(20):
                client.sendto(b"x" * 1000, relay.address)
            time.sleep(0.3)
        assert relay.up.counters.queue_drops > 0


def test_namespace_reaches_host_and_nft_drops_udp(
    namespace: Namespace, echo: tuple[str, int]
) -> None:
    with UdpRelay(
        listen=(namespace.gateway, 0), target=echo
    ) as relay:  # the host end of the veth, reached from inside
        assert ask(relay.address, 10, namespace.name) == 10
        namespace.drop_udp(100)
        assert ask(relay.address, 10, namespace.name) == 0
        assert namespace.dropped_udp() >= 10


def test_address_change_destroys_tcp_connections_from_the_old_address(
    namespace: Namespace,
) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((namespace.gateway, 0))
    server.listen()
    with server:
        client = socket_in(namespace.name, socket.SOCK_STREAM)
        client.settimeout(5)
        client.connect(server.getsockname())
        accepted, peer = server.accept()
        assert peer[0] == namespace.address
        old = namespace.address
        new = namespace.change_address(7)
        assert new != old and namespace.address == new
        with pytest.raises(OSError):
            client.recv(1)
        accepted.close()
        client.close()
        # A new connection comes from the new address.
        again = socket_in(namespace.name, socket.SOCK_STREAM)
        with again:
            again.connect(server.getsockname())
            _conn, peer = server.accept()
            assert peer[0] == new
            _conn.close()


def test_tcp_forwarder_carries_a_connection_out_of_the_namespace(namespace: Namespace) -> None:
    target = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    target.bind(("127.0.0.1", 0))
    target.listen()
    with target:
        host_side = TcpForwarder(listen=(namespace.gateway, 0), target=target.getsockname())
        with host_side:
            inside = TcpForwarder(
                listen=("127.0.0.1", 0),
                target=host_side.address,
                listen_namespace=namespace.name,
                target_namespace=namespace.name,
                up=Impairment(delay_ms=20),
            )
            with inside:
                client = socket_in(namespace.name, socket.SOCK_STREAM)
                client.settimeout(5)
                with client:
                    client.connect(inside.address)
                    client.sendall(b"hello")
                    conn, _ = target.accept()
                    conn.settimeout(5)
                    with conn:
                        assert conn.recv(5) == b"hello"
                        conn.sendall(b"back")
                        assert client.recv(4) == b"back"


def test_coturn_answers_stun_on_its_address() -> None:
    with Coturn(listen_ips=["127.0.0.1"]) as turn:
        assert stun_binding_ok("127.0.0.1", turn.port)
        assert turn.urls() == [f"turn:127.0.0.1:{turn.port}?transport=udp"]
