"""`manage.py db_worker`: django-tasks-db's worker, which first lets every app queue its
periodic jobs (sprechstunde.core.task_worker). It takes the upstream command's place because
sprechstunde.core comes before django_tasks_db in INSTALLED_APPS; options are unchanged."""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as UpstreamCommand

from sprechstunde.core.task_worker import task_worker_started


class Command(UpstreamCommand):
    help = "Run the background task worker (django-tasks-db) with Sprechstunde's periodic jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        task_worker_started()
        super().handle(*args, **options)
