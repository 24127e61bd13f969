"""The daily retention run as a job of the task queue (no cron job needed)."""

from __future__ import annotations

from django_tasks import task


@task()
def retention_run_task(slot: str = "") -> dict[str, int]:
    """Once a day at RETENTION_RUN_HOUR: delete what is due (RETENTION_DRY_RUN: only list
    it in the log). The next run is queued first, so a worker that dies here does not end
    the chain."""
    import datetime
    import logging

    from django.conf import settings
    from django.utils import timezone

    from .services import retention_run, retention_schedule

    now = timezone.now()
    this_slot = datetime.datetime.fromisoformat(slot) if slot else now
    retention_schedule(now=max(now, this_slot) + datetime.timedelta(minutes=1))
    reports = retention_run(now=now, dry_run=settings.RETENTION_DRY_RUN)
    logger = logging.getLogger(__name__)
    for report in reports:
        if report.count:
            logger.info(
                "retention %s: %s %s",
                "would delete" if settings.RETENTION_DRY_RUN else "deleted",
                report.count,
                report.kind.value,
            )
    return {report.kind.value: report.count for report in reports}
