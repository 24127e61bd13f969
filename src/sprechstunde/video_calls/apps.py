from collections.abc import Collection
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideoCallsConfig(AppConfig):
    name = "sprechstunde.video_calls"
    label = "video_calls"
    verbose_name = _("Video consultations")

    def client_timeline_sources(self) -> list[Any]:
        """This app's events in the client's timeline (clients.timeline, ADR 0060)."""
        from .timeline import sources

        return sources()

    def consent_withdrawn(self, *, client: Any, purposes: Collection[str], actor: Any) -> None:
        """Called by clients' consent_withdraw inside its transaction (ADR 0051): without the
        video consent, the calls of the client's future appointments are closed for good."""
        from sprechstunde.clients.choices import ConsentPurpose

        from .services import call_void_for_client

        if ConsentPurpose.VIDEO in purposes:
            call_void_for_client(actor=actor, client=client)

    def task_worker_started(self) -> None:
        """Called by every task worker as it starts (sprechstunde.core.task_worker): finish
        the calls whose sweep was due while no worker ran (ADR 0054)."""
        from .tasks import calls_finish_due_task

        calls_finish_due_task.enqueue()

    def metrics_levels(self) -> list[Any]:
        """Gauges for /metrics (sprechstunde.core.metrics): calls with people in them now."""
        from prometheus_client.core import GaugeMetricFamily

        from .models import Call

        in_progress = Call.objects.filter(
            started_at__isnull=False,
            ended_at__isnull=True,
            closed_at__isnull=True,
            finished_at__isnull=True,
        ).count()
        return [
            GaugeMetricFamily(
                "sprechstunde_calls_in_progress",
                "Video calls with at least one admitted person in them now.",
                value=in_progress,
            )
        ]
