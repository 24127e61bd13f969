"""Reminders before appointments: scheduling on book/move, and sending each at most once.

Steps come from settings.APPOINTMENT_REMINDER_STEPS (minutes before the start; default
24 h and 1 h). The queue holds one sweep job per minute in which reminders fall due (not
one job per reminder: a job costs more than sending a reminder), and that job sends every
due reminder in batches. Each due reminder is sent by exactly one worker: a conditional
UPDATE claims a batch of rows for that worker (claimed_by), and it sends only what it
claimed. After downtime only the nearest missed step goes out, and nothing goes out once
the appointment has begun. bench/reminders.py measures the throughput.
"""

from __future__ import annotations

import datetime
import functools
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from sprechstunde.core.fault_points import fault_point
from sprechstunde.core.sms_gateway import sms_gateway

from .choices import AppointmentStatus, ReminderChannel
from .models import Appointment, Reminder, ReminderSweep

logger = logging.getLogger(__name__)

DEFAULT_STEPS = (24 * 60, 60)


def reminder_steps() -> list[int]:
    """The configured steps in minutes before the start, largest first."""
    steps = getattr(settings, "APPOINTMENT_REMINDER_STEPS", DEFAULT_STEPS)
    return sorted({int(step) for step in steps if int(step) > 0}, reverse=True)


def _channels_for(appointment: Appointment) -> list[str]:
    channels: list[str] = []
    if appointment.client.email:
        channels.append(ReminderChannel.EMAIL)
    if appointment.client.mobile_number and getattr(settings, "SMS_GATEWAY_URL", ""):
        channels.append(ReminderChannel.SMS)
    return channels


def reminders_schedule(*, appointment: Appointment) -> list[Reminder]:
    """Create the reminders for the appointment's current version (call inside the change).

    Steps whose time has already passed are left out: a booking 3 hours ahead gets only
    the 1-hour reminder. Reminders of older versions stay and are skipped when due.
    """
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at is None:
        return []
    now = timezone.now()
    created = []
    for channel in _channels_for(appointment):
        for step in reminder_steps():
            due_at = appointment.starts_at - datetime.timedelta(minutes=step)
            if due_at <= now:
                continue
            reminder, was_created = Reminder.objects.get_or_create(
                appointment=appointment,
                sequence=appointment.sequence,
                step_minutes=step,
                channel=channel,
                defaults={"due_at": due_at},
            )
            if was_created:
                created.append(reminder)
                transaction.on_commit(functools.partial(reminder_sweep_schedule, run_at=due_at))
    return created


def _next_full_minute(moment: datetime.datetime) -> datetime.datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + datetime.timedelta(minutes=1)


def reminder_sweep_schedule(*, run_at: datetime.datetime) -> bool:
    """Make sure one sweep job waits in the queue for the minute `run_at` falls in (rounded
    up); returns True when this call queued it. With a persistent queue (django-tasks-db)
    the job waits in the database until then; without one, `appointments_dispatch` sweeps."""
    from django_tasks import task_backends

    from .tasks import reminders_send_due

    if not task_backends[reminders_send_due.backend].supports_defer:
        return False
    minute = _next_full_minute(run_at)
    try:
        with transaction.atomic():
            # The unique run_at makes concurrent bookings for the same minute queue one job.
            _sweep, created = ReminderSweep.objects.get_or_create(run_at=minute)
            if created:
                reminders_send_due.using(run_after=minute).enqueue()
    except IntegrityError:
        return False
    return created


def reminder_sweeps_forget(*, before: datetime.datetime) -> int:
    """Drop the bookkeeping rows of sweeps whose minute has passed."""
    deleted, _ = ReminderSweep.objects.filter(run_at__lt=before).delete()
    return deleted


# Reminders handled per round trip: one claim, one read, a few writes for the whole batch.
BATCH_SIZE = 200


def _skip_reason(
    reminder: Reminder, *, now: datetime.datetime, nearest_due: dict[tuple[int, int, str], int]
) -> str:
    """Why a claimed reminder must not go out, or "" when it should."""
    appointment = reminder.appointment
    if appointment.status != AppointmentStatus.BOOKED:
        return "not-booked"
    if appointment.sequence != reminder.sequence:
        return "moved"
    if appointment.starts_at is None or appointment.starts_at <= now:
        return "started"
    key = (appointment.pk, reminder.sequence, reminder.channel)
    if nearest_due.get(key, reminder.step_minutes) < reminder.step_minutes:
        # Missed during downtime: one reminder, the nearest, is enough.
        return "superseded"
    return ""


def _send(reminder: Reminder) -> str:
    """Send one reminder now; "" when sent, else the reason it could not be.

    The reminder is marked handed over (committed) just before the mail server or the SMS
    gateway is called, and unmarked when that call fails: a worker killed in between leaves
    the mark, and the reminder is then never sent again (ADR 0082).
    """
    from .mails import reminder_mail_message, reminder_sms_text

    client = reminder.appointment.client
    if client.processing_restricted_at is not None:
        return "restricted"  # Art. 18 GDPR: nothing goes out while restricted (ADR 0062)
    connection = None
    if reminder.channel == ReminderChannel.EMAIL:
        message = reminder_mail_message(reminder)
        if message is None:
            return "no-address"
        # Connect and log in before the mark: an unreachable server is a plain failure.
        connection = message.get_connection(fail_silently=False)
        connection.open()

        def send() -> None:
            connection.send_messages([message])

    else:
        gateway = sms_gateway()
        if gateway is None or not client.mobile_number:
            return "no-sms"
        text = reminder_sms_text(reminder)

        def send() -> None:
            gateway.send(to=client.mobile_number, text=text)

    try:
        fault_point("handover.claimed", "reminder")
        mark = Reminder.objects.filter(pk=reminder.pk)
        mark.update(handed_over_at=timezone.now())
        try:
            send()
        except BaseException:
            mark.update(handed_over_at=None)  # known not taken: a later run tries again
            raise
    finally:
        if connection is not None:
            connection.close()
    fault_point("handover.sent", "reminder")
    return ""


def _claimer_id() -> str:
    """Who claims reminders: the task worker's id (its heartbeat tells whether it lives),
    or, outside a worker, "-" and a random part (such claims lapse after HANDOVER_CLAIM)."""
    from sprechstunde.core.task_worker import current_worker_id

    return current_worker_id() or f"-{uuid.uuid4().hex}"


def reminder_claims_release_dead(*, now: datetime.datetime | None = None) -> int:
    """Free the claims of workers that died before finishing their batch: such reminders go
    out on this run unless they were already handed over (then they are only marked)."""
    from sprechstunde.core.handover import HANDOVER_CLAIM
    from sprechstunde.core.task_worker import live_worker_ids

    now = now or timezone.now()
    # Only due reminders are ever claimed: the due_at index keeps this look-up small.
    stuck = Reminder.objects.filter(
        due_at__lte=now, claimed_at__isnull=False, sent_at__isnull=True, skipped_at__isnull=True
    )
    claimers = set(stuck.order_by().values_list("claimed_by", flat=True).distinct())
    if not claimers:
        return 0
    alive = live_worker_ids(now=now)
    dead_workers = [c for c in claimers if c and not c.startswith("-") and c not in alive]
    lapsed = Q(claimed_by__startswith="-") | Q(claimed_by="")
    orphaned = stuck.filter(
        Q(claimed_by__in=dead_workers) | (lapsed & Q(claimed_at__lt=now - HANDOVER_CLAIM))
    )
    # Handed over when the worker died: it may have gone out. Never again (ADR 0082).
    uncertain = orphaned.filter(handed_over_at__isnull=False).update(
        skipped_at=now, skip_reason="uncertain"
    )
    if uncertain:
        logger.error(
            "%s reminders were being sent when their worker died; not sent again", uncertain
        )
    released = orphaned.filter(handed_over_at__isnull=True).update(claimed_at=None, claimed_by="")
    if released:
        logger.warning("Released %s reminder claims of stopped workers", released)
    return released


def _deliver_batch(ids: list[int], *, worker: str) -> dict[int, str]:
    """Claim, check and send the given reminders; returns each one's outcome.

    The conditional UPDATE claims only rows nobody has claimed yet, so two workers given the
    same ids send each reminder once. A failed send releases its claim for a later run.
    """
    now = timezone.now()
    Reminder.objects.filter(
        pk__in=ids,
        sent_at__isnull=True,
        skipped_at__isnull=True,
        claimed_at__isnull=True,
        due_at__lte=now,
    ).update(claimed_at=now, claimed_by=worker, attempts=F("attempts") + 1)
    claimed = list(
        Reminder.objects.filter(
            pk__in=ids, claimed_by=worker, sent_at__isnull=True, skipped_at__isnull=True
        ).select_related("appointment", "appointment__client", "appointment__case_manager")
    )
    outcomes = dict.fromkeys(ids, "not-claimed")
    if not claimed:
        return outcomes
    # For each appointment version and channel: the smallest step that is already due.
    nearest_due: dict[tuple[int, int, str], int] = {}
    for appointment_id, sequence, channel, step in Reminder.objects.filter(
        appointment_id__in={r.appointment_id for r in claimed}, due_at__lte=now
    ).values_list("appointment_id", "sequence", "channel", "step_minutes"):
        key = (appointment_id, sequence, channel)
        nearest_due[key] = min(step, nearest_due.get(key, step))
    sent: list[int] = []
    skipped: dict[str, list[int]] = {}
    failed: list[int] = []
    try:
        for reminder in claimed:
            reason = _skip_reason(reminder, now=now, nearest_due=nearest_due)
            if not reason:
                try:
                    reason = _send(reminder)
                except Exception:
                    logger.warning("Reminder %s could not be sent", reminder.pk, exc_info=True)
                    failed.append(reminder.pk)
                    outcomes[reminder.pk] = "failed"
                    continue
            if reason:
                skipped.setdefault(reason, []).append(reminder.pk)
                outcomes[reminder.pk] = f"skipped:{reason}"
            else:
                sent.append(reminder.pk)
                outcomes[reminder.pk] = "sent"
    finally:
        # Written even if something unexpected stops the loop: what went out stays sent.
        if sent:
            Reminder.objects.filter(pk__in=sent).update(sent_at=timezone.now())
        for reason, skipped_ids in skipped.items():
            Reminder.objects.filter(pk__in=skipped_ids).update(
                skipped_at=timezone.now(), skip_reason=reason
            )
        if failed:
            # Known not sent: release the claim so a later run tries again (before the start).
            Reminder.objects.filter(pk__in=failed).update(claimed_at=None, claimed_by="")
    return outcomes


def reminder_deliver(*, reminder_id: int) -> str:
    """Send one due reminder if it is still right to; return what happened."""
    reminder_claims_release_dead()
    return _deliver_batch([reminder_id], worker=_claimer_id())[reminder_id]


def reminder_due_ids(*, now: datetime.datetime | None = None) -> list[int]:
    """Reminders that are due and neither sent, skipped nor held by a worker."""
    return list(_due(now or timezone.now()).order_by("pk").values_list("pk", flat=True))


def _due(now: datetime.datetime) -> QuerySet[Reminder]:
    return Reminder.objects.filter(
        due_at__lte=now, sent_at__isnull=True, skipped_at__isnull=True, claimed_at__isnull=True
    )


def reminders_send_due(*, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Send every due reminder once, in batches; failures are retried on the next run."""
    reminder_claims_release_dead()
    worker = _claimer_id()
    now = timezone.now()
    outcomes: dict[str, int] = {}
    last_pk = 0
    while True:
        # Walk by primary key, so a reminder released after a failure waits for the next run.
        ids = list(
            _due(now)
            .filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return outcomes
        last_pk = ids[-1]
        for outcome in _deliver_batch(ids, worker=worker).values():
            if outcome != "not-claimed":
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
