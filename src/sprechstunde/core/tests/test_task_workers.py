"""The worker's heartbeat and lease, the recovery of a dead worker's jobs, and the at-most-once
hand-over (ADR 0082), in one process. test_worker_kill.py does the same with real processes
killed by SIGKILL."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from sprechstunde.core.handover import handover_once, handover_state
from sprechstunde.core.models import Handover, TaskWorker
from sprechstunde.core.task_worker import (
    _current,
    embedded_worker,
    leased_worker_class,
    task_results_recover,
    worker_beat,
)

pytestmark = pytest.mark.django_db

TASK = "sprechstunde.appointments.tasks.appointment_mail_retry_pending"


@pytest.fixture(autouse=True)
def short_lease(settings):
    settings.TASK_WORKER_LEASE_SECONDS = 60
    settings.TASK_MAX_WORKER_LOSSES = 3


def job(*, worker_ids: list[str], started_ago: float, status: str = "RUNNING") -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {}},
        task_path=TASK,
        backend_name="default",
        run_after=get_date_max(),  # "no time set", as django-tasks-db stores it
        started_at=now - datetime.timedelta(seconds=started_ago),
        worker_ids=worker_ids,
    )


def test_a_dead_workers_running_job_goes_back_into_the_queue():
    worker_beat(worker_id="alive")
    TaskWorker.objects.create(
        worker_id="dead", beat_at=timezone.now() - datetime.timedelta(seconds=300)
    )
    orphan = job(worker_ids=["dead"], started_ago=120)
    unregistered = job(worker_ids=["gone-without-a-row"], started_ago=120)
    busy = job(worker_ids=["dead", "alive"], started_ago=120)
    fresh = job(worker_ids=["dead"], started_ago=5)  # within the lease: not yet
    lost_too_often = job(worker_ids=["a", "b", "dead"], started_ago=120)

    assert task_results_recover() == {"requeued": 2, "failed": 1}

    for result in (orphan, unregistered, busy, fresh, lost_too_often):
        result.refresh_from_db()
    assert orphan.status == unregistered.status == "READY"
    assert DBTaskResult.objects.ready().filter(pk__in=[orphan.pk, unregistered.pk]).count() == 2
    assert busy.status == fresh.status == "RUNNING"
    assert lost_too_often.status == "FAILED"
    assert lost_too_often.exception_class_path.endswith("WorkerLost")
    # A second sweep (another worker) changes nothing more.
    assert task_results_recover() == {"requeued": 0, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_a_worker_registers_beats_and_leaves_when_it_stops():
    result = job(worker_ids=[], started_ago=0, status="READY")
    worker = leased_worker_class()(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w-" + uuid.uuid4().hex[:8],
        excluded_queue_names=[],
    )
    seen: list[bool] = []
    original = worker.run_task

    def run_task(db_task_result):
        seen.append(TaskWorker.objects.filter(worker_id=worker.worker_id).exists())
        original(db_task_result)

    worker.run_task = run_task
    worker.run()
    result.refresh_from_db()
    assert result.status == "SUCCESSFUL" and result.worker_ids == [worker.worker_id]
    assert seen == [True], "registered before it claimed the job"
    assert not TaskWorker.objects.filter(worker_id=worker.worker_id).exists()


def test_each_embedded_worker_has_an_id_of_its_own():
    worker = embedded_worker()
    assert worker.worker_id.startswith("embedded-") and worker.worker_id[-1].isdigit()
    assert type(worker).__name__ == "LeasedWorker", "with heartbeat and recovery"


def test_a_failed_send_is_free_for_a_retry_and_a_sent_one_is_never_repeated():
    sent: list[int] = []

    def refused():
        raise ConnectionRefusedError("mail server down")

    with pytest.raises(ConnectionRefusedError):
        handover_once(key="test:1", send=refused)
    assert handover_state(key="test:1") == ""
    assert handover_once(key="test:1", send=lambda: sent.append(1)) == "sent"
    assert handover_once(key="test:1", send=lambda: sent.append(2)) == "already"
    assert sent == [1]


def test_an_interrupted_hand_over_is_not_repeated():
    Handover.objects.create(
        key="test:2", claimed_by="dead", claimed_at=timezone.now(), handed_over_at=timezone.now()
    )
    sent: list[int] = []
    assert handover_once(key="test:2", send=lambda: sent.append(1)) == "uncertain"
    assert sent == []


def test_a_claim_is_respected_while_its_worker_lives_and_taken_over_after():
    worker_beat(worker_id="holder")
    Handover.objects.create(key="test:3", claimed_by="holder", claimed_at=timezone.now())
    sent: list[str] = []
    _current.worker_id = "other"
    try:
        assert handover_once(key="test:3", send=lambda: sent.append("x")) == "busy"
        TaskWorker.objects.filter(worker_id="holder").update(
            beat_at=timezone.now() - datetime.timedelta(seconds=300)
        )
        assert handover_once(key="test:3", send=lambda: sent.append("x")) == "sent"
    finally:
        _current.worker_id = ""
    assert sent == ["x"]
    assert Handover.objects.get(key="test:3").attempts == 1


def test_a_claim_outside_a_worker_lapses_after_a_while():
    Handover.objects.create(key="test:4", claimed_by="-", claimed_at=timezone.now())
    assert handover_once(key="test:4", send=lambda: None) == "busy"
    Handover.objects.filter(key="test:4").update(
        claimed_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    assert handover_once(key="test:4", send=lambda: None) == "sent"
