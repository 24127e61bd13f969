"""Background jobs of the documents app: the processing pipeline of one document, the sweep
that picks up what was left unfinished, and the notice and reminders of document requests."""

from __future__ import annotations

from django_tasks import task


@task()
def document_process(document_id: int) -> str:
    """Virus check, conversion to PDF, encryption, previews; see services.document_process."""
    from .services.processing import document_process as process

    return process(document_id=document_id)


@task()
def documents_sweep_task(slot: str = "") -> dict[str, int]:
    """Every DOCUMENT_SWEEP_INTERVAL_MINUTES: processing left unfinished is queued again,
    expired uploads go. The next run (the slot after this one's) is queued first, so a
    worker that dies in this one does not end the chain."""
    import datetime

    from django.utils import timezone

    from .services.sweep import documents_sweep, documents_sweep_schedule

    now = timezone.now()
    this_slot = datetime.datetime.fromisoformat(slot) if slot else now
    documents_sweep_schedule(now=max(now, this_slot))
    return documents_sweep(now=now)


@task()
def document_request_notice_task(document_request_id: int) -> str:
    """Right after a request was made: tell the client, without content, that one waits."""
    from .services.requests import document_request_notify_created

    return document_request_notify_created(document_request_id=document_request_id)


@task()
def document_request_remind_task(document_request_id: int) -> str:
    """Queued for each reminder day of a request (run_after that morning); sends nothing
    when the request was answered or cancelled, or was reminded today already."""
    from .services.requests import document_request_remind

    return document_request_remind(document_request_id=document_request_id)


@task()
def document_request_reminders_sweep_task() -> dict[str, int]:
    """Send every reminder due today; the same sweep as `manage.py documents_remind`."""
    from .services.requests import document_request_reminders_send_due

    return document_request_reminders_send_due()
