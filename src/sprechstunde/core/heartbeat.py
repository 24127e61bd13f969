"""The task workers' heartbeat: proof that some worker still takes jobs off the queue.

A small periodic job (`core.tasks.worker_heartbeat_task`, every WORKER_HEARTBEAT_SECONDS)
records a beat when a worker runs it, and queues its next run. So a beat means the whole
path works: the queue in the database, a worker polling it, and that worker writing back.
Any other code that knows a worker is alive (a worker's own loop, say) may call
`worker_heartbeat_record` too. The readiness check and /metrics read `worker_heartbeat_age`.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from .models import WorkerHeartbeat

# Rows of workers gone for longer than this are removed on the next beat.
_FORGET_AFTER = datetime.timedelta(days=1)


def worker_heartbeat_record(*, worker_id: str, now: datetime.datetime | None = None) -> None:
    """Note that the worker `worker_id` is alive now (one UPDATE, an INSERT the first time)."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(worker_id=worker_id[:64], defaults={"beat_at": now})
    WorkerHeartbeat.objects.filter(beat_at__lt=now - _FORGET_AFTER).delete()


def worker_heartbeat_age(*, now: datetime.datetime | None = None) -> float | None:
    """Seconds since the latest beat of any worker, or None when no worker ever beat."""
    latest = WorkerHeartbeat.objects.aggregate(latest=Max("beat_at"))["latest"]
    if latest is None:
        return None
    return max(0.0, ((now or timezone.now()) - latest).total_seconds())


def worker_heartbeat_schedule(*, now: datetime.datetime | None = None) -> bool:
    """Queue the next heartbeat job unless one already waits; True when this call queued it.
    Without a persistent queue (the tests' immediate backend) nothing is queued."""
    from django_tasks import task_backends
    from django_tasks_db.models import DBTaskResult

    from .tasks import worker_heartbeat_task

    if not task_backends[worker_heartbeat_task.backend].supports_defer:
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=worker_heartbeat_task.module_path, status="READY"
    ).exists()
    if waiting:
        # Two workers that started at once may each have queued one: the chains merge here.
        return False
    run_after = (now or timezone.now()) + datetime.timedelta(
        seconds=settings.WORKER_HEARTBEAT_SECONDS
    )
    worker_heartbeat_task.using(run_after=run_after).enqueue()
    return True
