from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "sprechstunde.documents"
    label = "documents"
    verbose_name = _("Documents")

    def client_timeline_sources(self) -> list[Any]:
        """This app's events in the client's timeline (clients.timeline, ADR 0060)."""
        from .timeline import sources

        return sources()

    def client_actions(self, *, user: Any, client: Any) -> list[Any]:
        """What `user` may start here for `client` from the client page (ADR 0060)."""
        from .timeline import actions

        return actions(user=user, client=client)

    def task_worker_started(self) -> None:
        """Called by every task worker as it starts (sprechstunde.core.task_worker): queue
        the documents sweep, which then queues its own next run."""
        from .services.sweep import documents_sweep_schedule

        documents_sweep_schedule()
