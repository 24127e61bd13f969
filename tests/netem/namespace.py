"""Network namespaces joined to the host by a veth pair; rate caps, UDP loss, address changes.

Layout of one namespace `ns` with subnet index k (10.99.k.0/24):

    host (root namespace)                      namespace ns
    <tag>h  10.99.k.254/24  <---- veth ---->  <tag>n  10.99.k.1/24, default route via .254

A process runs inside with `ip netns exec ns ...`; a thread of this process can open sockets
inside with `entered(ns)` (setns(2) affects only the calling thread, and a socket stays in
the namespace it was created in).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000
SUBNET = "10.99.{index}.{host}"
_libc = ctypes.CDLL(None, use_errno=True)


def require_root() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network emulation needs root (ip netns, tc, nft)"
    missing = [tool for tool in ("ip", "tc", "nft", "ss") if shutil.which(tool) is None]
    if missing:
        return (
            f"missing tools: {', '.join(missing)} (apt-get install iproute2 nftables; "
            "scripts/system-deps.sh test installs them)"
        )
    return None


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Run the block in this thread inside network namespace `name` (None: where we are)."""
    if name is None:
        yield
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)


def socket_in(name: str | None, kind: int) -> socket.socket:
    """A new IPv4 socket (SOCK_STREAM or SOCK_DGRAM) that lives in namespace `name`."""
    with entered(name):
        return socket.socket(socket.AF_INET, kind)


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


def _used_indexes() -> set[int]:
    out = _run("ip", "-o", "-4", "addr", "show")
    return {
        int(part.split(".")[2])
        for part in out.split()
        if part.startswith("10.99.") and part.count(".") == 3
    }


class Namespace:
    """One emulated client network; use as a context manager (deleted again on exit)."""

    def __init__(self, prefix: str = "sprn") -> None:
        tag = f"{random.randrange(16**5):05x}"
        self.name = f"{prefix}-{tag}"
        self.host_if = f"v{tag}h"
        self.ns_if = f"v{tag}n"
        free = sorted(set(range(100, 250)) - _used_indexes())
        if not free:
            raise RuntimeError("no free 10.99.x.0/24 subnet")
        self.index = random.choice(free)
        self.gateway = SUBNET.format(index=self.index, host=254)
        self.address = SUBNET.format(index=self.index, host=1)
        self._created = False
        self._scripts: list[Path] = []
        self._nft_table = f"netem_{tag}"
        self._nft_tables = False
        self._cut_table = f"cut_{tag}"
        self._cut = False

    def address_for(self, host: int) -> str:
        return SUBNET.format(index=self.index, host=host)

    # --- life cycle ---------------------------------------------------------------------

    def create(self) -> Namespace:
        problem = require_root()
        if problem:
            raise RuntimeError(problem)
        _run("ip", "netns", "add", self.name)
        self._created = True
        _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        _run("ip", "link", "set", self.ns_if, "netns", self.name)
        _run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.host_if)
        _run("ip", "link", "set", self.host_if, "up")
        _run("ip", "-n", self.name, "link", "set", "lo", "up")
        _run("ip", "-n", self.name, "addr", "add", f"{self.address}/24", "dev", self.ns_if)
        _run("ip", "-n", self.name, "link", "set", self.ns_if, "up")
        _run("ip", "-n", self.name, "route", "add", "default", "via", self.gateway)
        # The IPv6 link-local address comes up "tentative" and turns valid about a second later
        # (duplicate address detection): an address change that Chromium's network change
        # notifier reports, failing the requests of a page still loading with
        # ERR_NETWORK_CHANGED. Wait until it is valid, so the only change a test sees is its own.
        tentative = ("ip", "-n", self.name, "-6", "addr", "show", "dev", self.ns_if, "tentative")
        if not wait_for(lambda: not _run(*tentative).strip(), timeout=10):
            raise RuntimeError(f"{self.ns_if}: the IPv6 link-local address stayed tentative")
        return self

    def destroy(self) -> None:
        """Removes the namespace and with it the veth pair, qdiscs and nft rules."""
        for script in self._scripts:
            script.unlink(missing_ok=True)
        if self._nft_tables:
            subprocess.run(
                ["nft", "delete", "table", "netdev", self._nft_table],
                check=False,
                capture_output=True,
            )
            self._nft_tables = False
        self.restore_link()
        if self._created:
            subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)
            subprocess.run(["ip", "link", "del", self.host_if], check=False, capture_output=True)
            self._created = False

    def __enter__(self) -> Namespace:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # --- impairments in the kernel ------------------------------------------------------

    def shape(self, *, uplink_kbit: float, downlink_kbit: float, queue_ms: int = 300) -> None:
        """A rate cap per direction with tbf (uplink: egress inside; downlink: host egress)."""
        for netns, dev, rate in (
            (self.name, self.ns_if, uplink_kbit),
            (None, self.host_if, downlink_kbit),
        ):
            prefix = ["ip", "netns", "exec", netns] if netns else []
            # burst: at least one MTU-sized packet plus some slack, as tbf requires.
            burst = max(4000, int(rate * 1000 / 8 / 50))
            _run(
                *prefix,
                "tc",
                "qdisc",
                "replace",
                "dev",
                dev,
                "root",
                "tbf",
                "rate",
                f"{int(rate)}kbit",
                "burst",
                str(burst),
                "latency",
                f"{queue_ms}ms",
            )

    def drop_udp(self, percent: float) -> None:
        """Random loss of UDP packets in both directions, with nftables (per mille steps).

        Dropped at the receiving end of the veth (netdev ingress on each side), so the sender
        never notices, as on a radio link; a drop in the output hook would instead fail the
        sender's send() with EPERM.
        """
        per_mille = round(percent * 10)
        match = "" if per_mille >= 1000 else f"numgen random mod 1000 < {per_mille} "
        for netns, dev in ((self.name, self.ns_if), (None, self.host_if)):
            table = self._nft_table
            ruleset = (
                f"table netdev {table}\ndelete table netdev {table}\n"
                f"table netdev {table} {{\n  chain loss {{ type filter hook ingress device"
                f' "{dev}" priority 0; ip protocol udp {match}counter drop; }}\n}}\n'
            )
            prefix = ["ip", "netns", "exec", netns] if netns else []
            done = subprocess.run(
                [*prefix, "nft", "-f", "-"],
                input=ruleset,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"nft failed: {done.stderr}")
        self._nft_tables = True

    def dropped_udp(self) -> int:
        """Packets dropped so far by `drop_udp`, both directions."""
        total = 0
        for prefix in (["ip", "netns", "exec", self.name], []):
            out = _run(*prefix, "nft", "list", "table", "netdev", self._nft_table)
            total += sum(
                int(words[words.index("packets") + 1])
                for line in out.splitlines()
                if "packets" in (words := line.split())
            )
        return total

    # --- the link is lost (a tunnel, a dead spot) and comes back -------------------------

    def cut_link(self) -> None:
        """Every packet, any protocol, dropped where it arrives on either end of the veth.

        Neither side's kernel notices (the link stays up, no route changes, sends succeed),
        as when a phone's radio loses the network: only silence tells. `restore_link` undoes it.
        """
        for netns, dev in ((self.name, self.ns_if), (None, self.host_if)):
            table = self._cut_table
            ruleset = (
                f"table netdev {table}\ndelete table netdev {table}\n"
                f"table netdev {table} {{\n  chain cut {{ type filter hook ingress device"
                f' "{dev}" priority -500; counter drop; }}\n}}\n'
            )
            prefix = ["ip", "netns", "exec", netns] if netns else []
            done = subprocess.run(
                [*prefix, "nft", "-f", "-"],
                input=ruleset,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"nft failed: {done.stderr}")
            self._cut = True

    def cut_drops(self) -> dict[str, int]:
        """Packets dropped so far by `cut_link`: "in" arrived at the namespace, "out" left it."""
        counts = {}
        for direction, prefix in (("in", ["ip", "netns", "exec", self.name]), ("out", [])):
            out = _run(*prefix, "nft", "list", "table", "netdev", self._cut_table)
            counts[direction] = sum(
                int(words[words.index("packets") + 1])
                for line in out.splitlines()
                if "packets" in (words := line.split())
            )
        return counts

    def restore_link(self) -> None:
        """Ends `cut_link`: packets pass again."""
        if not self._cut:
            return
        for prefix in (["ip", "netns", "exec", self.name], []):
            subprocess.run(
                [*prefix, "nft", "delete", "table", "netdev", self._cut_table],
                capture_output=True,
                check=False,
            )
        self._cut = False

    # --- the phone moves to another network ---------------------------------------------

    def change_address(self, host: int) -> str:
        """Swap the namespace's address for 10.99.k.<host>, as on a Wi-Fi to mobile switch.

        The old address goes first (deleting a primary address would also delete a secondary
        one in the same subnet), then the new one and the default route. TCP connections from
        the old address are destroyed with `ss -K`, as Android does with SOCK_DESTROY when a
        network goes away; otherwise they would hang until their timeouts.
        """
        old, new = self.address, self.address_for(host)
        _run("ip", "-n", self.name, "addr", "del", f"{old}/24", "dev", self.ns_if)
        _run("ip", "-n", self.name, "addr", "add", f"{new}/24", "dev", self.ns_if)
        _run("ip", "-n", self.name, "route", "replace", "default", "via", self.gateway)
        self.address = new
        subprocess.run(
            ["ip", "netns", "exec", self.name, "ss", "-K", "-t", "src", old],
            capture_output=True,
            check=False,
        )
        return new

    def udp_sockets(self, address: str) -> int:
        """How many UDP sockets inside are bound to `address` (a browser's ICE sockets)."""
        out = _run("ip", "netns", "exec", self.name, "ss", "-u", "-a", "-n", "-H")
        return sum(
            1
            for line in out.splitlines()
            if len(line.split()) > 3 and line.split()[3].rsplit(":", 1)[0] == address
        )

    # --- programs inside ----------------------------------------------------------------

    def wrapper(self, executable: str) -> Path:
        """A script that runs `executable` inside the namespace (for Playwright's
        executable_path: the pipes Playwright talks over survive `ip netns exec`)."""
        handle, name = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".sh")
        path = Path(name)
        with os.fdopen(handle, "w") as script:
            script.write(f'#!/bin/sh\nexec ip netns exec {self.name} {executable} "$@"\n')
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        self._scripts.append(path)
        return path


def chromium_in_namespace(namespace: Namespace, executable: str = "/usr/bin/chromium") -> Path:
    """The executable_path that starts Chromium inside `namespace`."""
    return namespace.wrapper(executable)


def wait_for(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    """Polls a callable until it returns true or the time is up (setup helper, not a test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return False
