from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "sprechstunde.documents"
    label = "documents"
    verbose_name = _("Documents")

    def task_worker_started(self) -> None:
        """Called by every task worker as it starts (sprechstunde.core.task_worker): queue
        the documents sweep, which then queues its own next run."""
        from .services.sweep import documents_sweep_schedule

        documents_sweep_schedule()
