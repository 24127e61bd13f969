"""Background jobs for appointments: sending the mails (retried when SMTP is down)."""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone
from django_tasks import task, task_backends

from .models import AppointmentMail

logger = logging.getLogger(__name__)

# Waits between attempts while the mail server is unreachable: 1, 2, 4 … at most 60 minutes.
MAX_RETRY_DELAY_MINUTES = 60


def _retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_MINUTES))


@task()
def appointment_mail_send(mail_id: int) -> str:
    """Send one appointment mail; on failure schedule another attempt, then fail this one."""
    from .services import appointment_mail_deliver

    try:
        return appointment_mail_deliver(mail_id=mail_id)
    except Exception:
        logger.warning("Appointment mail %s could not be sent; will retry", mail_id, exc_info=True)
        backend = task_backends[appointment_mail_send.backend]
        if backend.supports_defer:
            attempts = AppointmentMail.objects.filter(pk=mail_id).values_list("attempts", flat=True)
            run_after = timezone.now() + _retry_delay(attempts.first() or 1)
            appointment_mail_send.using(run_after=run_after).enqueue(mail_id)
        raise


@task()
def appointment_mail_retry_pending() -> int:
    """Queue every mail that is still unsent, e.g. after the mail server came back."""
    from .services import appointment_mail_pending_ids

    ids = appointment_mail_pending_ids()
    for mail_id in ids:
        appointment_mail_send.enqueue(mail_id)
    return len(ids)


@task()
def reminder_send(reminder_id: int) -> str:
    """Send one reminder if it is due. Bookings now queue per-minute sweeps instead
    (`reminders_send_due`); this stays for jobs queued by earlier versions."""
    from .reminders import reminder_deliver

    outcome = reminder_deliver(reminder_id=reminder_id)
    if outcome == "failed":
        # Mail server or SMS gateway down: try again in a few minutes (never after the start).
        backend = task_backends[reminder_send.backend]
        if backend.supports_defer:
            run_after = timezone.now() + _retry_delay(3)
            reminder_send.using(run_after=run_after).enqueue(reminder_id)
    return outcome


@task()
def reminders_send_due() -> dict[str, int]:
    """Sweep: send every due reminder in batches. Queued once per minute in which reminders
    fall due (`reminder_sweep_schedule`); also the safety net after downtime. When a send
    failed (mail server or SMS gateway down), another sweep is queued a few minutes later."""
    from .reminders import reminder_sweep_schedule, reminder_sweeps_forget
    from .reminders import reminders_send_due as send_due

    started = timezone.now()
    outcomes = send_due()
    reminder_sweeps_forget(before=started)
    if outcomes.get("failed"):
        reminder_sweep_schedule(run_at=timezone.now() + _retry_delay(3))
    return outcomes


@task()
def appointment_caldav_sync(appointment_id: int) -> str:
    """Write one appointment's current state to the configured CalDAV calendar."""
    from .caldav import appointment_caldav_sync as sync

    try:
        return sync(appointment_id=appointment_id)
    except Exception:
        logger.warning("CalDAV sync of appointment %s failed", appointment_id, exc_info=True)
        backend = task_backends[appointment_caldav_sync.backend]
        if backend.supports_defer:
            run_after = timezone.now() + _retry_delay(3)
            appointment_caldav_sync.using(run_after=run_after).enqueue(appointment_id)
        raise
