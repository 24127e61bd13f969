"""One id per request, websocket or background job, carried in a context variable so that
every log line written while it runs names it (ADR 0081).

The proxy's `X-Request-ID` is taken when it is well formed (so a line in nginx's log and
ours can be joined); otherwise a fresh one is made. The id is an opaque token: it never
carries anything about the person asking.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import contextvars
import logging
import re
import threading
import uuid

# Letters, digits and the separators proxies use (nginx's $request_id is 32 hex digits,
# others send UUIDs); anything else could smuggle text into the log.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

HEADER = "X-Request-ID"


def request_id_new() -> str:
    """A fresh id: 32 hex digits, like nginx's $request_id."""
    return uuid.uuid4().hex


def request_id_accept(given: str | bytes | None) -> str:
    """The proxy's id if it is well formed (8 to 100 characters of [A-Za-z0-9._:-]), else a
    fresh one."""
    if isinstance(given, bytes):
        given = given.decode("latin-1")
    if given and _WELL_FORMED.fullmatch(given):
        return given
    return request_id_new()


def request_id_get() -> str:
    """The id of what this thread or task is working on ("" outside any)."""
    return _current.get()


def request_id_set(value: str) -> contextvars.Token[str]:
    """Make `value` the current id; give the token to `request_id_reset` when done."""
    return _current.set(value)


def request_id_reset(token: contextvars.Token[str]) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record as `request_id` (handlers' filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = _current.get()
        return True


# The id a job interrupted: a job run at once inside a request (the immediate backend) hands
# the request its own id back when it ends.
_interrupted = threading.local()


def task_request_id_start(sender: object, task_result: object, **kwargs: object) -> None:
    """django-tasks' `task_started`: a job logs under its own result id, so its lines can be
    found beside its row in the queue table."""
    stack = _interrupted.__dict__.setdefault("stack", [])
    stack.append(_current.get())
    _current.set(str(getattr(task_result, "id", "")) or request_id_new())


def task_request_id_end(sender: object, task_result: object, **kwargs: object) -> None:
    """django-tasks' `task_finished`: back to the id of whatever ran before the job."""
    stack = _interrupted.__dict__.get("stack") or [""]
    _current.set(stack.pop())
