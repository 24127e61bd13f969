"""The task worker's start: both workers (the thread `manage.py serve` runs in embedded mode
and each scaled `manage.py db_worker`) first let every app queue its periodic jobs.

Periodic jobs are ordinary jobs of the django-tasks-db queue with a run_after: each run
queues its next one. An app takes part by giving its AppConfig a `task_worker_started()`
method; that seeds the chain on a fresh database and after a queue was cleared.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import connections

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
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=1.0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="embedded",
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
