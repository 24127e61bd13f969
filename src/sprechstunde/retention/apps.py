from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "sprechstunde.retention"
    label = "retention"
    verbose_name = _("Retention and data-subject requests")

    def task_worker_started(self) -> None:
        """Called by every task worker as it starts (sprechstunde.core.task_worker): queue
        the daily retention run, which then queues its own next run."""
        from .services import retention_schedule

        retention_schedule()
