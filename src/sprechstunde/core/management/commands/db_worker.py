"""`manage.py db_worker`: django-tasks-db's worker as a process of its own, any number of them
on one database queue. It first lets every app queue its periodic jobs
(sprechstunde.core.task_worker), beats in `TaskWorker` while it runs, and puts back into the
queue the jobs of workers that died (ADR 0082). It takes the upstream command's place because
sprechstunde.core comes before django_tasks_db in INSTALLED_APPS; options are unchanged."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as UpstreamCommand

from sprechstunde.core.task_worker import leased_worker_class, task_worker_started


class Command(UpstreamCommand):
    help = "Run a background task worker (django-tasks-db) with Sprechstunde's periodic jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        reload = options["reload"] and not options["batch"]
        queue_names = options["queue_name"].split(",")
        exclude = options["exclude_queues"]
        excluded_queue_names = exclude.split(",") if exclude else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        task_worker_started()
        worker = leased_worker_class()(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
