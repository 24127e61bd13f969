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

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def db_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker():
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1)


def test_jobs_are_persisted_and_reminders_wait_until_due(db_queue, case_manager, client_record):
    start = (timezone.now() + datetime.timedelta(days=3)).replace(second=0, microsecond=0)
    appointment = services.appointment_book(
        actor=case_manager,
        client=client_record,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        channel=Channel.PHONE,
    )
    paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == [
        "sprechstunde.appointments.tasks.appointment_mail_send",
        "sprechstunde.appointments.tasks.appointment_mail_send",
        "sprechstunde.appointments.tasks.reminder_send",
        "sprechstunde.appointments.tasks.reminder_send",
    ]
    reminder_jobs = DBTaskResult.objects.filter(task_path__endswith="reminder_send")
    assert sorted(job.run_after for job in reminder_jobs) == [
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
    job = next(j for j in reminder_jobs if j.args_kwargs["args"] == [day_before.pk])
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=past)
    mail.outbox.clear()
    run_worker()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Reminder"]
    day_before.refresh_from_db()
    assert day_before.sent_at is not None
    # The job is done; running the worker again sends nothing more.
    run_worker()
    assert len(mail.outbox) == 1
