"""Simulated chat devices for the no-loss tests: they follow the same rules as chat.js.

One message is in flight at a time until its ack; after a reconnect the unacknowledged head
goes out again with the same id, and everything missed is fetched with "sync"; a message
that arrives ahead of a gap waits until the gap is filled. The connection is cut at random
in three ways: the frame never left (the network died first), the ack never came back
(died after the server stored it), and a plain drop while frames were on their way.

The transport is pluggable (`connect` returns a Link), so the same devices run against the
in-process ASGI app and against real server processes.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Link(Protocol):
    """One open websocket, welcomed already."""

    async def send(self, frame: dict[str, Any]) -> None: ...

    async def receive(self, timeout: float) -> dict[str, Any]: ...

    async def cut(self) -> None:
        """Drop the connection without waiting for anything still on its way."""


@dataclass
class Device:
    """One browser tab: what it plans to write, what it has shown, what happened to it."""

    name: str
    user_id: int
    credentials: Any
    planned: deque[tuple[str, str]]
    unacked: deque[tuple[str, str]] = field(default_factory=deque)
    acks: dict[str, int] = field(default_factory=dict)
    shown: list[dict[str, Any]] = field(default_factory=list)
    waiting: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_sequence: int = 0
    cuts: Counter[str] = field(default_factory=Counter)
    sent_ids: list[str] = field(default_factory=list)
    # Others' messages pushed to this device as they were written (not fetched by sync).
    pushed_from_others: set[int] = field(default_factory=set)

    @classmethod
    def make(cls, name: str, user_id: int, credentials: Any, count: int) -> Device:
        plan = deque((str(uuid.uuid4()), f"{name} #{n}") for n in range(count))
        return cls(name=name, user_id=user_id, credentials=credentials, planned=plan)

    def accept(self, frame: dict[str, Any]) -> bool:
        """Show a message if it is the next one; returns True when a gap was seen."""
        sequence = frame["sequence"]
        if sequence <= self.last_sequence:
            return False
        if sequence > self.last_sequence + 1:
            self.waiting[sequence] = frame
            return True
        self.shown.append(frame)
        self.last_sequence = sequence
        while self.last_sequence + 1 in self.waiting:
            following = self.waiting.pop(self.last_sequence + 1)
            self.shown.append(following)
            self.last_sequence = following["sequence"]
        return False


Connect = Callable[[Device], Awaitable[Link]]


async def _handle(device: Device, link: Link, frame: dict[str, Any], head_id: str | None) -> bool:
    """Apply one frame; returns True when the head message was acknowledged."""
    kind = frame["type"]
    if kind == "ack":
        device.acks[frame["client_msg_id"]] = frame["sequence"]
        return bool(frame["client_msg_id"] == head_id)
    if kind == "message":
        if not frame["own"]:
            device.pushed_from_others.add(frame["sequence"])
        if device.accept(frame):
            await link.send({"type": "sync", "after": device.last_sequence})
    elif kind == "messages":
        for message in frame["messages"]:
            device.accept(message)
        if frame["has_more"]:
            await link.send({"type": "sync", "after": device.last_sequence})
    elif kind == "error":
        raise AssertionError(f"{device.name} got an error frame: {frame}")
    return False


async def _open(device: Device, connect: Connect) -> Link:
    link = await connect(device)
    await link.send({"type": "sync", "after": device.last_sequence})
    return link


async def write_all(
    device: Device, connect: Connect, rng: random.Random, *, cut_rate: float = 0.03
) -> None:
    """Send everything planned, one at a time, through a connection that keeps breaking."""
    while device.planned or device.unacked:
        link = await _open(device, connect)
        alive = True
        while alive and (device.planned or device.unacked):
            if not device.unacked:
                device.unacked.append(device.planned.popleft())
            head_id, body = device.unacked[0]
            if rng.random() < cut_rate:
                device.cuts["frame lost"] += 1
                break
            await link.send({"type": "send", "client_msg_id": head_id, "body": body})
            device.sent_ids.append(head_id)
            if rng.random() < cut_rate:
                device.cuts["ack lost"] += 1
                break
            while not await _handle(device, link, await link.receive(10), head_id):
                pass
            device.unacked.popleft()
            await asyncio.sleep(0)  # let the other devices run between messages
            if rng.random() < cut_rate:
                device.cuts["dropped"] += 1
                alive = False
        await link.cut()


async def catch_up(device: Device, connect: Connect, total: int) -> None:
    """After the storm: reconnect and fetch until everything is shown."""
    link = await _open(device, connect)
    while device.last_sequence < total:
        await _handle(device, link, await link.receive(10), None)
    await link.cut()


def check(
    devices: list[Device],
    plans: dict[str, list[tuple[str, str]]],
    stored: list[tuple[int, str, str, int]],
    total: int,
) -> None:
    """Everything stored once and numbered 1..total; every device acknowledged all it wrote,
    in its order; every device shows every message once, in order, with its text.

    `stored` rows are (sequence, client_msg_id, body, sender_id) in order of sequence.
    """
    assert [row[0] for row in stored] == list(range(1, total + 1))
    planned_ids = {msg_id for plan in plans.values() for msg_id, _body in plan}
    assert len(planned_ids) == total
    assert {row[1] for row in stored} == planned_ids
    by_id = {row[1]: row for row in stored}
    for device in devices:
        plan = plans[device.name]
        numbers = [by_id[msg_id][0] for msg_id, _body in plan]
        assert numbers == sorted(numbers), f"{device.name}: stored out of its order"
        assert [by_id[msg_id][2] for msg_id, _ in plan] == [body for _, body in plan]
        assert all(device.acks[msg_id] == by_id[msg_id][0] for msg_id, _body in plan)
        assert [frame["sequence"] for frame in device.shown] == list(range(1, total + 1))
        assert [frame["client_msg_id"] for frame in device.shown] == [row[1] for row in stored]
        assert [frame["body"] for frame in device.shown] == [row[2] for row in stored]
        assert all(
            frame["own"] == (by_id[frame["client_msg_id"]][3] == device.user_id)
            for frame in device.shown
        ), f"{device.name}: wrong 'own' flags"
        assert not device.waiting
    # The chaos really happened: every kind of cut, and ids that went out more than once.
    cuts = sum((device.cuts for device in devices), Counter())
    assert min(cuts["frame lost"], cuts["ack lost"], cuts["dropped"]) >= 3, cuts
    repeats = sum(n - 1 for d in devices for n in Counter(d.sent_ids).values())
    assert repeats >= 3, repeats
