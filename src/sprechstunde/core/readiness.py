"""Whether this node can do its work: the readiness check behind `/gesundheit/bereit/`.

Each part answers "ok" or a short, fixed reason; never an exception's text (it may carry a
host name, a user or a key). Details go to the log, under the request's id.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection

from .heartbeat import worker_heartbeat_age

logger = logging.getLogger(__name__)

OK = "ok"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return OK


def _redis() -> str:
    """Only with REDIS_URL (scaled mode): the cache and the channel layer live there."""
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        return OK if client.ping() else "no answer"
    finally:
        client.close()


def _object_storage() -> str:
    """The document storage (a local folder or S3): write, read back and delete a probe. The
    probe's name is random and under `readiness/`: no personal data."""
    storage = storages["documents"]
    name = storage.save(f"readiness/{uuid.uuid4().hex}", ContentFile(b"ready"))
    try:
        with storage.open(name, "rb") as probe:
            if probe.read() != b"ready":
                return "read back differs"
    finally:
        storage.delete(name)
    return OK


def _worker() -> str:
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    if not max_age:
        return "not checked"
    age = worker_heartbeat_age()
    if age is None:
        return "no heartbeat yet"
    if age > max_age:
        return f"last heartbeat {int(age)} s ago"
    return OK


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "redis": _redis,
    "object_storage": _object_storage,
    "worker": _worker,
}
# Answers that do not make the node unready.
PASSING = {OK, "not configured", "not checked"}


def readiness_report() -> tuple[bool, dict[str, str]]:
    """(all parts pass, {part: "ok" or why not}). A part that raises is reported as
    "unavailable" and logged with its exception; the rest are still checked."""
    report: dict[str, str] = {}
    for part, check in CHECKS.items():
        try:
            report[part] = check()
        except Exception:  # any failure of a part makes the node unready
            logger.warning("Readiness: %s check failed", part, exc_info=True)
            report[part] = "unavailable"
    # The worker check needs the database: when that is down, say so once.
    if report["database"] != OK and report["worker"] == "unavailable":
        report["worker"] = "unknown (database unavailable)"
    return all(answer in PASSING for answer in report.values()), report
