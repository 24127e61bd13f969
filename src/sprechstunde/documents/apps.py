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

    def metrics_levels(self) -> list[Any]:
        """Gauges for /metrics (sprechstunde.core.metrics): documents by virus check state."""
        from django.db.models import Count
        from prometheus_client.core import GaugeMetricFamily

        from .choices import ScanStatus
        from .models import Document

        family = GaugeMetricFamily(
            "sprechstunde_documents_by_virus_check",
            "Documents by the state of their virus check (pending: waiting for ClamAV).",
            labels=["result"],
        )
        counts = dict(
            Document.objects.values_list("scan_status").annotate(n=Count("id")).order_by()
        )
        for status in ScanStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        return [family]
