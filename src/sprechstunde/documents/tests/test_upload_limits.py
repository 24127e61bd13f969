"""Unfinished uploads per user are capped (count and declared bytes), with a clear message;
finishing, removing or expiry frees a slot; parallel starts cannot pass the cap."""

from __future__ import annotations

import datetime
import io
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sprechstunde.documents import services
from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.factories import jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document, UploadSession

from .conftest import browser_for, stored_files
from .test_views import put_chunk

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT_MESSAGE = (
    "You have too many unfinished uploads. Please send or remove the files you have already "
    "chosen, then try again."
)


@pytest.fixture(autouse=True)
def twenty_uploads(settings):
    settings.DOCUMENT_MAX_OPEN_UPLOADS = 20
    settings.DOCUMENT_MAX_OPEN_UPLOAD_BYTES = 2 * settings.DOCUMENT_MAX_BYTES


def start(browser, size: int = 1000, name: str = "foto.jpg"):
    return browser.post(
        reverse("documents:upload_session_create"),
        {"name": name, "size": str(size), "batch": "b1"},
        headers={"accept": "application/json"},
    )


def fill_to_the_cap(browser) -> list[dict]:
    sessions = []
    for _ in range(20):
        response = start(browser)
        assert response.status_code == 201, response.content
        sessions.append(response.json())
    return sessions


def test_the_21st_unfinished_upload_is_refused_with_a_message(portal_client, upload_dir):
    browser = browser_for(portal_client.user)
    fill_to_the_cap(browser)

    refused = start(browser)

    assert refused.status_code == 429
    assert refused.json() == {"error": LIMIT_MESSAGE}
    # Nothing changed: no row and no file for the refused one.
    assert UploadSession.objects.filter(owner=portal_client.user).count() == 20
    assert len(stored_files(upload_dir)) == 20


def test_finished_uploads_waiting_for_the_form_count_too(portal_client):
    browser = browser_for(portal_client.user)
    sessions = fill_to_the_cap(browser)
    data = b"x" * 1000
    assert put_chunk(browser, sessions[0]["url"], 0, data).json()["complete"] is True

    assert start(browser).status_code == 429


def test_removing_an_upload_frees_a_slot(portal_client):
    browser = browser_for(portal_client.user)
    sessions = fill_to_the_cap(browser)
    assert start(browser).status_code == 429

    assert browser.delete(sessions[0]["url"]).status_code == 204

    assert start(browser).status_code == 201
    assert start(browser).status_code == 429


def test_sending_the_document_frees_its_slots(portal_client):
    browser = browser_for(portal_client.user)
    photo = jpeg_bytes(400, 300)
    for _ in range(19):
        assert start(browser).status_code == 201
    session = start(browser, size=len(photo)).json()
    assert put_chunk(browser, session["url"], 0, photo).status_code == 200
    assert start(browser).status_code == 429

    response = browser.post(reverse("documents:upload"), {"upload_ids": [session["id"]]})

    assert response.status_code == 302
    assert Document.objects.get().status == DocumentStatus.READY
    assert start(browser).status_code == 201


def test_declared_bytes_are_capped_too(portal_client, settings):
    settings.DOCUMENT_MAX_OPEN_UPLOAD_BYTES = 3 * 1024 * 1024
    browser = browser_for(portal_client.user)
    assert start(browser, size=2 * 1024 * 1024).status_code == 201
    assert start(browser, size=1024 * 1024).status_code == 201

    refused = start(browser, size=1)

    assert refused.status_code == 429
    assert refused.json()["error"] == LIMIT_MESSAGE
    assert UploadSession.objects.count() == 2


def test_another_user_is_not_affected(portal_client, foreign_client):
    fill_to_the_cap(browser_for(portal_client.user))

    assert start(browser_for(foreign_client.user)).status_code == 201


def test_expired_uploads_do_not_count_and_are_removed(portal_client, upload_dir):
    browser = browser_for(portal_client.user)
    sessions = fill_to_the_cap(browser)
    UploadSession.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = start(browser)

    assert response.status_code == 201
    assert list(UploadSession.objects.values_list("pk", flat=True)) == [response.json()["id"]]
    assert [path.stem for path in stored_files(upload_dir)] == [response.json()["id"]]
    assert browser.get(sessions[0]["url"]).status_code == 404


def test_the_plain_form_still_works_at_the_cap(portal_client):
    """The form without JavaScript holds no upload open: its files are gone after the
    request, so it neither counts nor is refused."""
    browser = browser_for(portal_client.user)
    fill_to_the_cap(browser)
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = "Bescheid.pdf"

    response = browser.post(reverse("documents:upload"), {"files": [upload], "title": "Bescheid"})

    assert response.status_code == 302
    assert Document.objects.get().status == DocumentStatus.READY
    assert UploadSession.objects.count() == 20


def test_parallel_starts_do_not_pass_the_cap(portal_client):
    """30 requests at once, each with its own database connection, as from 30 browser tabs."""
    user, client = portal_client.user, portal_client
    gate = threading.Barrier(30)
    outcomes: list[str] = []

    def start_one() -> None:
        try:
            gate.wait()
            services.upload_session_create(
                owner=user, client=client, original_name="foto.jpg", expected_size=1000
            )
            outcomes.append("started")
        except services.UploadLimitReached:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start_one) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused"] * 10 + ["started"] * 20
    assert UploadSession.objects.filter(owner=user).count() == 20
