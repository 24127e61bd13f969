import os
import socket

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sprechstunde.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Every background job logs under its own id (sprechstunde.core.request_ids).
        from django_tasks.signals import task_finished, task_started

        from .request_ids import task_request_id_end, task_request_id_start

        task_started.connect(task_request_id_start, dispatch_uid="core.task_request_id_start")
        task_finished.connect(task_request_id_end, dispatch_uid="core.task_request_id_end")

    def task_worker_started(self) -> None:
        """Called by every task worker as it starts (sprechstunde.core.task_worker): beat once
        at once, then keep the heartbeat job in the queue (sprechstunde.core.heartbeat)."""
        from .heartbeat import worker_heartbeat_record, worker_heartbeat_schedule

        worker_heartbeat_record(worker_id=f"{socket.gethostname()}:{os.getpid()}")
        worker_heartbeat_schedule()
