"""The documents sweep that the task worker runs every DOCUMENT_SWEEP_INTERVAL_MINUTES: it
queues processing left unfinished again and removes expired uploads (no cron job needed).

The sweep is a job in the same queue as every other (django-tasks-db, run_after); each run
first queues the next one, and every worker queues one when it starts, so the chain
survives restarts and a worker that dies mid-sweep. A unique row per slot keeps it to one
queued job per slot, however many workers there are.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import DocumentSweep
from .processing import documents_unfinished_requeue
from .uploads import upload_sessions_expire


def _next_slot(moment: datetime.datetime) -> datetime.datetime:
    """The first slot boundary after `moment` (slots are aligned to the epoch, so that all
    workers compute the same one)."""
    step = max(1, settings.DOCUMENT_SWEEP_INTERVAL_MINUTES) * 60
    boundary = (int(moment.timestamp()) // step + 1) * step
    return datetime.datetime.fromtimestamp(boundary, tz=datetime.UTC)


def documents_sweep_schedule(*, now: datetime.datetime | None = None) -> bool:
    """Make sure the sweep job for the first slot after `now` waits in the queue; returns
    True when this call queued it. Without a persistent queue (the tests' immediate backend)
    nothing is queued."""
    from django_tasks import task_backends

    from ..tasks import documents_sweep_task

    if not task_backends[documents_sweep_task.backend].supports_defer:
        return False
    run_at = _next_slot(now or timezone.now())
    try:
        with transaction.atomic():
            _slot, created = DocumentSweep.objects.get_or_create(run_at=run_at)
            if created:
                documents_sweep_task.using(run_after=run_at).enqueue(run_at.isoformat())
    except IntegrityError:
        return False  # another worker queued this slot at the same moment
    return created


def documents_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """One sweep: documents left unfinished are queued again, expired uploads removed, and
    the bookkeeping of past slots dropped. Returns what it did."""
    now = now or timezone.now()
    requeued = documents_unfinished_requeue(now=now)
    expired = upload_sessions_expire(now=now)
    DocumentSweep.objects.filter(run_at__lt=now - datetime.timedelta(days=1)).delete()
    return {"requeued": requeued, "uploads_expired": expired}
