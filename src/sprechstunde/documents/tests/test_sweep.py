"""Processing left unfinished is picked up by the task worker itself (the documents sweep),
in the embedded worker of `make run` and in `manage.py db_worker`; a document that kills
every run ends FAILED; expired uploads are removed in the same sweep. Real clamd."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command, get_commands
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sprechstunde.documents import isolation, services
from sprechstunde.documents.choices import DocumentStatus, ScanStatus
from sprechstunde.documents.factories import pdf_bytes
from sprechstunde.documents.models import Document, DocumentSweep, UploadSession

from .conftest import browser_for, stored_files

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP = "sprechstunde.documents.tasks.documents_sweep_task"
PROCESS = "sprechstunde.documents.tasks.document_process"


@pytest.fixture
def db_queue(settings):
    """The persistent queue, as in production and `make run` (tests default to immediate)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def waiting_document(portal_client, tmp_path: Path, settings) -> Document:
    """A document whose pipeline has not run: uploaded while no scanner was configured."""
    socket = settings.CLAMD_SOCKET
    settings.CLAMD_SOCKET = ""
    path = tmp_path / f"upload-{time.monotonic_ns()}"
    path.write_bytes(pdf_bytes(1))
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[services.ReceivedFile(path=path, name="Lohn.pdf")],
    )
    settings.CLAMD_SOCKET = socket
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING
    assert document.incoming
    return document


def left_by_a_dead_worker(document: Document, *, minutes_ago: int) -> None:
    """What a worker killed mid-pipeline leaves: the lease taken, one attempt, no end."""
    then = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    Document.objects.filter(pk=document.pk).update(
        processing_started_at=then, processing_queued_at=then, processing_attempts=1
    )


def test_a_document_left_processing_long_ago_is_processed_by_the_sweep(
    portal_client, tmp_path, settings
):
    document = waiting_document(portal_client, tmp_path, settings)
    left_by_a_dead_worker(document, minutes_ago=settings.DOCUMENT_PROCESSING_GRACE_MINUTES + 1)

    outcome = services.documents_sweep()

    assert outcome["requeued"] == 1
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.scan_status == ScanStatus.CLEAN
    assert (document.processing_started_at, document.processing_attempts) == (None, 0)
    assert services.documents_sweep()["requeued"] == 0


def test_a_lost_job_is_queued_again_after_the_grace_period(portal_client, tmp_path, settings):
    document = waiting_document(portal_client, tmp_path, settings)

    assert services.documents_sweep()["requeued"] == 0  # just uploaded: its job may still come
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING

    Document.objects.filter(pk=document.pk).update(
        processing_queued_at=timezone.now() - datetime.timedelta(minutes=31)
    )
    assert services.documents_sweep()["requeued"] == 1
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY


def test_a_document_being_processed_right_now_is_left_alone(portal_client, tmp_path, settings):
    document = waiting_document(portal_client, tmp_path, settings)
    left_by_a_dead_worker(document, minutes_ago=2)  # a live run, two minutes in
    Document.objects.filter(pk=document.pk).update(
        processing_queued_at=timezone.now() - datetime.timedelta(hours=2)
    )

    assert services.documents_sweep()["requeued"] == 0
    # A second job for it (queued twice) does not process it beside the running one.
    assert services.document_process(document_id=document.pk) == "busy"
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING
    assert document.processing_attempts == 1
    assert document.scan_attempts == 0


class WorkerKilled(BaseException):
    """Stands for the end of the worker process: nothing after it runs, nothing is cleaned."""


def test_a_poison_document_fails_after_the_attempts(portal_client, tmp_path, settings, monkeypatch):
    settings.DOCUMENT_PROCESSING_MAX_ATTEMPTS = 3
    runs = []

    def kills_the_worker(*args, **kwargs):
        runs.append(1)
        raise WorkerKilled

    monkeypatch.setattr(isolation, "isolated_convert", kills_the_worker)
    document = waiting_document(portal_client, tmp_path, settings)
    grace = settings.DOCUMENT_PROCESSING_GRACE_MINUTES + 1

    for attempt in range(1, 4):
        Document.objects.filter(pk=document.pk).update(
            processing_queued_at=timezone.now() - datetime.timedelta(minutes=grace),
        )
        if attempt > 1:
            left_over = Document.objects.get(pk=document.pk).processing_started_at
            Document.objects.filter(pk=document.pk).update(
                processing_started_at=left_over - datetime.timedelta(minutes=grace)
            )
        assert services.documents_sweep()["requeued"] == 1
        document.refresh_from_db()
        assert document.status == DocumentStatus.PROCESSING
        assert document.processing_attempts == attempt
    assert len(runs) == 3

    Document.objects.filter(pk=document.pk).update(
        processing_queued_at=timezone.now() - datetime.timedelta(minutes=grace),
        processing_started_at=timezone.now() - datetime.timedelta(minutes=grace),
    )
    assert services.documents_sweep()["requeued"] == 1

    document.refresh_from_db()
    assert len(runs) == 3  # the fourth run did not touch the file again
    assert document.status == DocumentStatus.FAILED
    assert document.refusal_reason == "processing did not finish in 3 attempts"
    assert document.incoming == []
    assert document.processing_started_at is None
    assert [m.to for m in mail.outbox] == [[portal_client.user.email]]
    # Failed is final: later sweeps leave it alone.
    Document.objects.filter(pk=document.pk).update(
        processing_queued_at=timezone.now() - datetime.timedelta(days=1)
    )
    assert services.documents_sweep()["requeued"] == 0


def test_the_sweep_removes_expired_uploads(portal_client, upload_dir):
    browser = browser_for(portal_client.user)
    response = browser.post(
        reverse("documents:upload_session_create"),
        {"name": "foto.jpg", "size": "1000", "batch": "b1"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201
    assert len(stored_files(upload_dir)) == 1
    UploadSession.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    assert services.documents_sweep()["uploads_expired"] == 1

    assert not UploadSession.objects.exists()
    assert stored_files(upload_dir) == []


def test_db_worker_is_ours_and_queues_the_sweep_then_runs_it(
    db_queue, portal_client, tmp_path, settings
):
    """`manage.py db_worker` (the scaled worker) queues the sweep when it starts; the sweep
    job queues the next one and picks up a document whose worker died mid-pipeline."""
    assert get_commands()["db_worker"] == "sprechstunde.core"
    document = waiting_document(portal_client, tmp_path, settings)
    # Its job was taken by a worker that then died: django-tasks-db keeps it RUNNING forever.
    DBTaskResult.objects.filter(task_path=PROCESS).update(status="RUNNING")
    left_by_a_dead_worker(document, minutes_ago=settings.DOCUMENT_PROCESSING_GRACE_MINUTES + 1)

    call_command("db_worker", batch=True, startup_delay=False, interval=0.1, reload=False)

    sweep = DBTaskResult.objects.get(task_path=SWEEP, status="READY")
    assert sweep.run_after > timezone.now()
    assert sweep.run_after.timestamp() % (settings.DOCUMENT_SWEEP_INTERVAL_MINUTES * 60) == 0
    assert DocumentSweep.objects.count() == 1
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING  # not due yet

    # A second worker starting meanwhile queues no second sweep for the same slot.
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1, reload=False)
    assert DBTaskResult.objects.filter(task_path=SWEEP).count() == 1

    # The slot comes.
    slot = sweep.run_after
    DBTaskResult.objects.filter(pk=sweep.pk).update(run_after=timezone.now())
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1, reload=False)

    sweep.refresh_from_db()
    assert sweep.status == "SUCCESSFUL"
    assert sweep.return_value == {"requeued": 1, "uploads_expired": 0}
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    following = DBTaskResult.objects.get(task_path=SWEEP, status="READY")
    interval = datetime.timedelta(minutes=settings.DOCUMENT_SWEEP_INTERVAL_MINUTES)
    assert following.run_after == slot + interval


def test_the_embedded_worker_queues_and_runs_the_sweep(db_queue, portal_client, tmp_path, settings):
    """The worker thread `manage.py serve` starts in embedded mode (`make run`)."""
    from sprechstunde.core.task_worker import start_embedded_worker

    document = waiting_document(portal_client, tmp_path, settings)
    DBTaskResult.objects.filter(task_path=PROCESS).update(status="RUNNING")
    left_by_a_dead_worker(document, minutes_ago=settings.DOCUMENT_PROCESSING_GRACE_MINUTES + 1)

    thread, worker = start_embedded_worker()
    try:
        sweep = wait_for(lambda: DBTaskResult.objects.filter(task_path=SWEEP).first())
        assert sweep.status == "READY"
        assert sweep.run_after > timezone.now()
        DBTaskResult.objects.filter(pk=sweep.pk).update(run_after=timezone.now())

        wait_for(
            lambda: Document.objects.filter(pk=document.pk, status=DocumentStatus.READY).first()
        )
    finally:
        worker.running = False
        thread.join(timeout=60)
    assert not thread.is_alive()
    sweep.refresh_from_db()
    assert sweep.status == "SUCCESSFUL"
    # One id per process, so that several `serve` processes' workers are told apart (ADR 0082).
    assert sweep.worker_ids == [worker.worker_id]
    assert worker.worker_id.startswith("embedded-")


def wait_for(probe, *, limit: float = 60.0):
    """Poll until `probe` returns something (the worker thread runs on its own clock)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("the worker did not get there")
