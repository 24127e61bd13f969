from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideoCallsConfig(AppConfig):
    name = "sprechstunde.video_calls"
    label = "video_calls"
    verbose_name = _("Video consultations")

    def task_worker_started(self) -> None:
        """Called by every task worker as it starts (sprechstunde.core.task_worker): finish
        the calls whose sweep was due while no worker ran (ADR 0054)."""
        from .tasks import calls_finish_due_task

        calls_finish_due_task.enqueue()
