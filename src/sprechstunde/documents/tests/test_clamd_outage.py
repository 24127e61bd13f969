"""ClamAV down (fault suite, issue 16): the real clamd of the tests is stopped and started.
Uploads wait as "waiting for virus check" (the client and staff see it in their language, and
nobody is told of a refusal), and the task worker checks them once clamd is back, with
nobody acting: the sweep queues them again and the worker runs the pipeline."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sprechstunde.documents import services
from sprechstunde.documents.choices import DocumentStatus, ScanStatus
from sprechstunde.documents.models import Document
from sprechstunde.documents.testing import photo_jpeg

from .conftest import browser_for

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP = "sprechstunde.documents.tasks.documents_sweep_task"


def run_worker() -> None:
    """`manage.py db_worker` (the scaled worker), until the queue has nothing due."""
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1, reload=False)


def test_uploads_wait_for_the_virus_check_while_clamd_is_down_and_the_worker_checks_them(
    portal_client, case_manager, clamd_daemon, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    portal_client.user.preferred_language = "uk"
    portal_client.user.save(update_fields=["preferred_language"])
    case_manager.preferred_language = "de"
    case_manager.save(update_fields=["preferred_language"])
    client_browser = browser_for(portal_client.user)
    staff_browser = browser_for(case_manager)

    clamd_daemon.stop()
    try:
        response = client_browser.post(
            reverse("documents:upload"),
            {
                "title": "Mietvertrag",
                "files": [_named("seite.jpg", photo_jpeg(size=(600, 800), band=(20, 90, 40)))],
            },
        )
        assert response.status_code == 302
        document = Document.objects.get()
        # Its job runs while clamd is down: the document keeps waiting, files kept.
        run_worker()
        document.refresh_from_db()
        assert document.status == DocumentStatus.PROCESSING
        assert document.scan_status == ScanStatus.ERROR
        assert document.scan_attempts == 1
        assert document.incoming
        assert mail.outbox == []
        # While clamd stays down, the sweep does not queue it again and again.
        earlier = timezone.now() - datetime.timedelta(
            minutes=settings.DOCUMENT_SWEEP_INTERVAL_MINUTES
        )
        Document.objects.filter(pk=document.pk).update(
            processing_queued_at=earlier, scanned_at=earlier
        )
        assert services.documents_sweep()["requeued"] == 0

        detail = client_browser.get(reverse("documents:detail", kwargs={"pk": document.pk}))
        page = detail.content.decode()
        assert 'data-document-status="processing"' in page
        assert "Очікує перевірки на віруси" in page  # "Waiting for virus check"
        assert 'data-scan-deferred="yes"' in page
        assert "Перевірка на віруси зараз неможлива" in page
        assert 'id="document-download"' not in page
        download = client_browser.get(reverse("documents:download", kwargs={"pk": document.pk}))
        assert download.status_code == 404

        staff_page = staff_browser.get(
            reverse("documents:client_documents", kwargs={"client_pk": portal_client.pk})
        ).content.decode()
        assert "Wartet auf Virenprüfung" in staff_page
        assert 'data-scan-status="error"' in staff_page
    finally:
        clamd_daemon.start()

    # clamd is back. Nobody acts: one sweep interval passes (not the whole grace period),
    # the worker's next sweep comes due and queues the document again, the worker checks it.
    earlier = timezone.now() - datetime.timedelta(minutes=settings.DOCUMENT_SWEEP_INTERVAL_MINUTES)
    assert settings.DOCUMENT_SWEEP_INTERVAL_MINUTES < settings.DOCUMENT_PROCESSING_GRACE_MINUTES
    Document.objects.filter(pk=document.pk).update(processing_queued_at=earlier, scanned_at=earlier)
    DBTaskResult.objects.filter(task_path=SWEEP, status="READY").update(run_after=timezone.now())
    run_worker()

    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.scan_status == ScanStatus.CLEAN
    assert document.scan_attempts == 2
    page = client_browser.get(
        reverse("documents:detail", kwargs={"pk": document.pk})
    ).content.decode()
    assert 'id="document-download"' in page
    assert mail.outbox == []


def _named(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")
