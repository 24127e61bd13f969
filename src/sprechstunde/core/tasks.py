"""Background jobs of the shared kernel: sending text messages (retried while the gateway
refuses them) and the task workers' heartbeat."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import TaskContext, task, task_backends

logger = logging.getLogger(__name__)


@task()
def sms_send(sms_id: int) -> str:
    """Send one SMS; while the gateway refuses it, try again later (1, 2, 4 … minutes)."""
    from .sms import sms_deliver, sms_retry_delay
    from .sms_gateway import SmsError

    try:
        return sms_deliver(sms_id=sms_id)
    except SmsError:
        logger.warning("SMS %s not accepted by the gateway; will retry", sms_id)
        backend = task_backends[sms_send.backend]
        if backend.supports_defer:
            run_after = timezone.now() + sms_retry_delay(sms_id=sms_id)
            sms_send.using(run_after=run_after).enqueue(sms_id)
        raise


@task(takes_context=True)
def worker_heartbeat_task(context: TaskContext) -> None:
    """Record that a worker took this job off the queue, and queue the next beat first, so a
    worker that dies here does not end the chain (sprechstunde.core.heartbeat)."""
    from .heartbeat import worker_heartbeat_record, worker_heartbeat_schedule

    worker_heartbeat_schedule()
    worker_ids = context.task_result.worker_ids
    worker_heartbeat_record(worker_id=worker_ids[-1] if worker_ids else "unknown")
