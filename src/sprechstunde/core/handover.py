"""Hand a message to a third party (mail server, SMS gateway) at most once, even when the
worker doing it is killed at any point (ADR 0082).

`handover_once(key=..., send=...)` keeps one `Handover` row per message:
1. claim: the row is taken by this worker; a claim held by a live worker (or, outside a
   worker, one younger than HANDOVER_CLAIM) makes the call return "busy";
2. just before `send()` the row is marked handed over (committed);
3. `send()` runs; an exception means the server did not take the message: the marks are
   cleared and the exception raised again, so the caller retries as before;
4. on return the row is marked sent.
A worker killed before step 2 leaves a claim that the next attempt takes over once the
worker's heartbeat is gone. A worker killed between 2 and 4 leaves the outcome unknown: the
server may have taken the message. Such a row is never sent again ("uncertain"), and logged
for the operator: a duplicate is what the guarantee rules out.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .fault_points import fault_point
from .models import Handover
from .task_worker import current_worker_id, live_worker_ids

logger = logging.getLogger(__name__)

# A claim by a process that is not a task worker (a management command, the web process with
# the immediate backend) has no heartbeat: it may be taken over after this long.
HANDOVER_CLAIM = datetime.timedelta(minutes=5)


def _claim(key: str, worker_id: str) -> str:
    """Take the row for this worker; returns "" when taken, else why not."""
    now = timezone.now()
    try:
        with transaction.atomic():
            Handover.objects.get_or_create(key=key)
    except IntegrityError:
        pass  # created by a concurrent caller: fine, the row exists
    with transaction.atomic():
        row = Handover.objects.select_for_update().get(key=key)
        if row.sent_at is not None:
            return "already"
        if row.handed_over_at is not None:
            return "uncertain"
        if row.claimed_by or row.claimed_at:
            if row.claimed_by and not row.claimed_by.startswith("-"):
                if row.claimed_by in live_worker_ids(now=now):
                    return "busy"
            elif row.claimed_at and row.claimed_at > now - HANDOVER_CLAIM:
                return "busy"
        Handover.objects.filter(pk=row.pk).update(
            claimed_by=worker_id, claimed_at=now, attempts=F("attempts") + 1
        )
    return ""


def handover_once(*, key: str, send: Callable[[], object]) -> str:
    """Run `send()` unless this message was handed over already; returns "sent", "already"
    (sent before), "uncertain" (a worker died while handing it over: not sent again) or
    "busy" (another live worker is on it). Exceptions from `send()` propagate."""
    # Outside a worker the claim is marked with "-" and a timestamp only.
    worker_id = current_worker_id() or "-"
    refused = _claim(key, worker_id)
    if refused:
        if refused == "uncertain":
            logger.error("Hand-over %s was interrupted by a dying worker; not sent again", key)
        return refused
    fault_point("handover.claimed", key.split(":", 1)[0])
    Handover.objects.filter(key=key, claimed_by=worker_id).update(handed_over_at=timezone.now())
    try:
        send()
    except BaseException:
        # The server refused or could not be reached: known not taken, free for a retry.
        Handover.objects.filter(key=key).update(handed_over_at=None, claimed_by="", claimed_at=None)
        raise
    fault_point("handover.sent", key.split(":", 1)[0])
    Handover.objects.filter(key=key).update(sent_at=timezone.now())
    return "sent"


def mail_handover_once(*, key: str, message: Any) -> str:
    """`handover_once` for one e-mail (a Django EmailMessage). The connection to the mail
    server is opened (connect, TLS, login) before the hand-over is marked, so an unreachable
    or refusing server never leaves a mail uncertain: only the SMTP transaction is inside."""
    connection = message.get_connection(fail_silently=False)
    connection.open()
    try:
        return handover_once(key=key, send=lambda: connection.send_messages([message]))
    finally:
        connection.close()


def handover_state(*, key: str) -> str:
    """ "sent", "uncertain", "claimed" or "" (never tried) for one message."""
    row = Handover.objects.filter(key=key).first()
    if row is None:
        return ""
    if row.sent_at:
        return "sent"
    if row.handed_over_at:
        return "uncertain"
    return "claimed" if row.claimed_at else ""
