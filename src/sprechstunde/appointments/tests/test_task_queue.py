"""Mails and reminders go through the persistent task queue (django-tasks-db), as in production:
jobs wait in the database until due, and a worker started later still finds them."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sprechstunde.appointments import services
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.models import AppointmentMail, Reminder

from .conftest import slot_start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def db_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker():
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1)


def test_jobs_are_persisted_and_reminders_wait_until_due(db_queue, case_manager, client_record):
    start = slot_start(datetime.timedelta(days=3))
    appointment = services.appointment_book(
        actor=case_manager,
        client=client_record,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        channel=Channel.PHONE,
    )
    paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    # Two mails now; for the reminders one sweep job per minute in which one falls due.
    assert paths == [
        "sprechstunde.appointments.tasks.appointment_mail_send",
        "sprechstunde.appointments.tasks.appointment_mail_send",
        "sprechstunde.appointments.tasks.reminders_send_due",
        "sprechstunde.appointments.tasks.reminders_send_due",
    ]
    sweep_jobs = DBTaskResult.objects.filter(task_path__endswith="reminders_send_due")
    assert sorted(job.run_after for job in sweep_jobs) == [
        start - datetime.timedelta(hours=24),
        start - datetime.timedelta(hours=1),
    ]
    assert mail.outbox == []

    run_worker()  # e.g. after a restart: the mail jobs are still there and run now
    assert sorted(m.to[0] for m in mail.outbox) == ["fm@jobcenter.example", "kundin@example.org"]
    assert not AppointmentMail.objects.filter(sent_at__isnull=True).exists()
    assert Reminder.objects.filter(sent_at__isnull=False).count() == 0  # not due yet

    # Time passes: the 24-hour reminder becomes due.
    past = timezone.now() - datetime.timedelta(seconds=1)
    day_before = appointment.reminders.get(step_minutes=1440)
    Reminder.objects.filter(pk=day_before.pk).update(due_at=past)
    job = next(j for j in sweep_jobs if j.run_after == start - datetime.timedelta(hours=24))
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=past)
    mail.outbox.clear()
    run_worker()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Reminder"]
    day_before.refresh_from_db()
    assert day_before.sent_at is not None
    # The job is done; running the worker again sends nothing more, and the 1-hour one waits.
    run_worker()
    assert len(mail.outbox) == 1
    assert appointment.reminders.get(step_minutes=60).sent_at is None


def test_many_reminders_in_one_minute_share_one_sweep_job(db_queue, case_manager, team):
    from sprechstunde.appointments.models import ReminderSweep
    from sprechstunde.appointments.reminders import reminder_sweep_schedule

    minute = (timezone.now() + datetime.timedelta(days=1)).replace(second=0, microsecond=0)
    queued = [
        reminder_sweep_schedule(run_at=minute - datetime.timedelta(seconds=s)) for s in range(30)
    ]
    queued.append(reminder_sweep_schedule(run_at=minute + datetime.timedelta(seconds=1)))
    # 0..29 s before the minute round up to it: one job; a second later is the next minute.
    assert queued.count(True) == 2
    jobs = DBTaskResult.objects.filter(task_path__endswith="reminders_send_due")
    assert sorted(j.run_after for j in jobs) == [minute, minute + datetime.timedelta(minutes=1)]
    assert ReminderSweep.objects.count() == 2


def test_a_failed_send_queues_another_sweep(db_queue, case_manager, client_record, monkeypatch):
    from sprechstunde.appointments import reminders, tasks

    start = slot_start(datetime.timedelta(days=3))
    appointment = services.appointment_book(
        actor=case_manager,
        client=client_record,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        channel=Channel.PHONE,
    )
    Reminder.objects.filter(appointment=appointment, step_minutes=1440).update(
        due_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    DBTaskResult.objects.all().delete()

    def broken(reminder):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(reminders, "_send", broken)
    outcomes = tasks.reminders_send_due.call()
    assert outcomes == {"failed": 1}
    retry = DBTaskResult.objects.get(task_path__endswith="reminders_send_due")
    assert retry.run_after > timezone.now()
    assert appointment.reminders.get(step_minutes=1440).claimed_at is None  # released for it
