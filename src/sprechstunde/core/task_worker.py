"""The task worker's start: both workers (the thread `manage.py serve` runs in embedded mode
and each scaled `manage.py db_worker`) first let every app queue its periodic jobs.

Periodic jobs are ordinary jobs of the django-tasks-db queue with a run_after: each run
queues its next one. An app takes part by giving its AppConfig a `task_worker_started()`
method; that seeds the chain on a fresh database and after a queue was cleared.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.utils import timezone

if TYPE_CHECKING:
    from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


def task_worker_started() -> None:
    """Run every app's `task_worker_started` hook; a failing hook is logged, not fatal, so
    that the worker still runs the jobs already queued."""
    for app_config in apps.get_app_configs():
        hook = getattr(app_config, "task_worker_started", None)
        if hook is None:
            continue
        try:
            hook()
        except Exception:
            logger.exception("task_worker_started of %s failed", app_config.label)


def embedded_worker() -> Worker:
    """django-tasks-db's worker loop as `make run` uses it: every queue, polled each second."""
    # Unique per process: several `serve` processes may each run an embedded worker.
    worker_id = f"embedded-{socket.gethostname()[:40]}-{os.getpid()}"
    return leased_worker_class()(
        queue_names=["*"],
        interval=1.0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def start_embedded_worker() -> tuple[threading.Thread, Worker]:
    """Run the worker in a daemon thread of this process (the embedded mode). Returns the
    thread and the worker (setting `worker.running = False` ends the loop)."""
    worker = embedded_worker()

    def run() -> None:
        try:
            task_worker_started()
            worker.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="task-worker", daemon=True)
    thread.start()
    return thread, worker


# --- Heartbeat, lease and recovery (ADR 0082) ------------------------------------------------
#
# django-tasks-db marks a job RUNNING when a worker claims it and never looks at it again: a
# worker killed in the middle (SIGKILL, out of memory, power) leaves the job RUNNING forever.
# Each worker therefore beats in `TaskWorker` from a thread of its own; a RUNNING job whose
# worker has not beaten for the lease is put back into the queue by whichever worker notices.

_current = threading.local()


class WorkerLost(Exception):
    """Recorded on a job given up after its workers died under it too often."""


def current_worker_id() -> str:
    """The id of the task worker running the calling thread's job, or "" outside a worker."""
    return str(getattr(_current, "worker_id", ""))


def heartbeat_seconds() -> float:
    return float(getattr(settings, "TASK_WORKER_HEARTBEAT_SECONDS", 10))


def lease_seconds() -> float:
    return float(getattr(settings, "TASK_WORKER_LEASE_SECONDS", 60))


def live_worker_ids(*, now: datetime.datetime | None = None) -> set[str]:
    """Workers whose last heartbeat is within the lease."""
    from .models import TaskWorker

    since = (now or timezone.now()) - datetime.timedelta(seconds=lease_seconds())
    return set(TaskWorker.objects.filter(beat_at__gte=since).values_list("worker_id", flat=True))


def worker_beat(*, worker_id: str) -> None:
    """Record that the worker is alive (creates its row on the first beat)."""
    from .models import TaskWorker

    now = timezone.now()
    updated = TaskWorker.objects.filter(worker_id=worker_id).update(beat_at=now)
    if not updated:
        TaskWorker.objects.update_or_create(
            worker_id=worker_id,
            defaults={"hostname": socket.gethostname()[:255], "pid": os.getpid(), "beat_at": now},
        )


def worker_forget(*, worker_id: str) -> None:
    """A worker that stops cleanly removes its row (its jobs have finished)."""
    from .models import TaskWorker

    TaskWorker.objects.filter(worker_id=worker_id).delete()


def task_results_recover(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Put RUNNING jobs of dead workers back into the queue; give a job up (FAILED, with
    `WorkerLost`) once workers died under it TASK_MAX_WORKER_LOSSES times.

    Safe to run from several workers at once: each change is conditional on the job still
    being RUNNING with the same start time. The job itself must be safe to run again; the
    senders are (`handover.py`), sealing is (one transaction).
    """
    from django_tasks_db.models import DBTaskResult

    from .models import TaskWorker

    now = now or timezone.now()
    lease = datetime.timedelta(seconds=lease_seconds())
    alive = live_worker_ids(now=now)
    limit = int(getattr(settings, "TASK_MAX_WORKER_LOSSES", 5))
    outcome = {"requeued": 0, "failed": 0}
    running = DBTaskResult.objects.filter(status="RUNNING", started_at__lt=now - lease)
    for pk, started_at, worker_ids in running.values_list("pk", "started_at", "worker_ids"):
        owner = worker_ids[-1] if worker_ids else ""
        if owner in alive:
            continue
        same = DBTaskResult.objects.filter(pk=pk, status="RUNNING", started_at=started_at)
        if len(worker_ids) >= limit:
            changed = same.update(
                status="FAILED",
                finished_at=now,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"The worker running this job stopped {len(worker_ids)} times.",
            )
            outcome["failed"] += changed
            if changed:
                logger.error("Job %s given up: its worker died %s times", pk, len(worker_ids))
        else:
            changed = same.update(status="READY", run_after=now)
            outcome["requeued"] += changed
            if changed:
                logger.warning("Job %s put back into the queue: worker %s died", pk, owner)
    # Rows of workers gone for long are kept a while for the operator, then dropped.
    TaskWorker.objects.filter(beat_at__lt=now - 10 * lease).delete()
    return outcome


class _Heartbeat(threading.Thread):
    """Beats for one worker and runs the recovery sweep, until stopped."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"task-heartbeat-{worker_id[:16]}", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                try:
                    worker_beat(worker_id=self.worker_id)
                    task_results_recover()
                except Exception:
                    # Database away for a moment: the next beat tries again.
                    logger.warning("Task worker heartbeat failed", exc_info=True)
                    connections.close_all()
                self.stopped.wait(heartbeat_seconds())
        finally:
            connections.close_all()


def leased_worker_class() -> type[Worker]:
    """django-tasks-db's Worker with a heartbeat and the recovery of dead workers' jobs
    (imported lazily: django_tasks_db's command module needs the apps loaded)."""
    from django_tasks_db.management.commands.db_worker import Worker as UpstreamWorker

    class LeasedWorker(UpstreamWorker):
        def run(self) -> None:
            # Registered before the first claim, so no job of ours ever looks orphaned.
            worker_beat(worker_id=self.worker_id)
            heartbeat = _Heartbeat(self.worker_id)
            heartbeat.start()
            _current.worker_id = self.worker_id
            try:
                super().run()
            finally:
                _current.worker_id = ""
                heartbeat.stopped.set()
                heartbeat.join(timeout=5)
                try:
                    worker_forget(worker_id=self.worker_id)
                except Exception:
                    logger.warning("Could not remove task worker row", exc_info=True)

    return LeasedWorker
