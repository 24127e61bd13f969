"""Pushes to the sockets of a conversation, handed to the channel layer after a commit.

A chat socket stores a message in the database thread (one per process, shared by every
socket); waiting there for the channel layer (`async_to_sync(group_send)`) held that thread
while the busy event loop came round, so every other socket of the process waited too. A
consumer therefore binds its event loop before it calls a service (`bind_event_loop`), and
a push made in that call is scheduled on the loop without waiting. Pushes of one
conversation still leave in the order of their commits: they are chained per group. Callers
without a bound loop (views, tasks, the shell) push as before, waiting for the layer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from . import frames

logger = logging.getLogger(__name__)

EVENT_TYPE = "conversation.event"

_bound_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar(
    "messaging_push_loop", default=None
)
# Per event loop: the newest unfinished push of each group, which the next one waits for.
_tails: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Task[None]]] = (
    weakref.WeakKeyDictionary()
)


def bind_event_loop() -> None:
    """Called by a consumer (in its event loop) before it runs a service in the database
    thread: pushes made there are scheduled on this loop instead of waited for."""
    _bound_loop.set(asyncio.get_running_loop())


def conversation_event(frame: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer event for one frame. A message frame travels with its two JSON
    texts (for its sender and for everyone else), encoded once here rather than once for
    every socket that receives it."""
    event: dict[str, Any] = {"type": EVENT_TYPE, "frame": frame}
    if frame.get("type") == "message":
        sender_id = frame.get("sender_id")
        event["sender_id"] = sender_id
        event["text_own"] = json.dumps(frames.for_viewer(frame, viewer_id=sender_id))
        event["text_other"] = json.dumps(frames.for_viewer(frame, viewer_id=None))
    return event


def publish(conversation_id: int, frame: dict[str, Any]) -> None:
    """Push `frame` to everyone connected to the conversation (call it after the commit).

    A push that gets lost is no loss: chat.js asks for what it missed whenever it sees a gap,
    reconnects, or hears a newer number in the answer to its ping."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = frames.group_name(conversation_id)
    event = conversation_event(frame)
    loop = _bound_loop.get()
    if loop is not None and loop.is_running() and not _runs_in(loop):
        loop.call_soon_threadsafe(_start, loop, layer, group, event)
        return
    async_to_sync(layer.group_send)(group, event)


def _runs_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _start(loop: asyncio.AbstractEventLoop, layer: Any, group: str, event: dict[str, Any]) -> None:
    # Runs in the loop, in the order the database thread scheduled it (commit order).
    tails = _tails.setdefault(loop, {})
    previous = tails.get(group)
    task = loop.create_task(_send_after(previous, layer, group, event))
    tails[group] = task

    def forget(done: asyncio.Task[None]) -> None:
        if tails.get(group) is done:
            del tails[group]

    task.add_done_callback(forget)


async def _send_after(
    previous: asyncio.Task[None] | None, layer: Any, group: str, event: dict[str, Any]
) -> None:
    if previous is not None:
        await asyncio.wait([previous])
    try:
        await layer.group_send(group, event)
    except Exception:
        # As with a failed on_commit push before: logged, and chat.js catches up on its own.
        logger.exception("chat push to %s failed", group)
