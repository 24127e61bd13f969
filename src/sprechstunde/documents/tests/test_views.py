"""Pages and the upload API through the test client: access, resumable uploads, downloads."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Consent
from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.factories import DocumentRequestFactory, jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document, UploadSession

from .conftest import browser_for, stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def start_session(browser, data: bytes, name: str = "foto.jpg", **extra) -> dict:
    response = browser.post(
        reverse("documents:upload_session_create"),
        {"name": name, "size": str(len(data)), "batch": "b1", **extra},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201, response.content
    return response.json()


def put_chunk(browser, url: str, offset: int, chunk: bytes):
    return browser.generic(
        "PUT",
        url,
        chunk,
        content_type="application/octet-stream",
        headers={"upload-offset": str(offset)},
    )


def upload_resumably(browser, data: bytes, chunk: int = 4096, name: str = "foto.jpg") -> str:
    session = start_session(browser, data, name=name)
    for offset in range(0, len(data), chunk):
        response = put_chunk(browser, session["url"], offset, data[offset : offset + chunk])
        assert response.status_code == 200, response.content
    return session["id"]


def test_resumable_upload_cut_after_some_chunks_then_resumed(portal_client, upload_dir, settings):
    settings.DOCUMENT_UPLOAD_CHUNK_BYTES = 4096
    browser = browser_for(portal_client.user)
    data = jpeg_bytes(1600, 1200)
    assert len(data) > 5 * 4096
    session = start_session(browser, data)
    # Three chunks arrive; the fourth is cut off half-way (the phone lost its connection).
    for offset in range(0, 3 * 4096, 4096):
        assert (
            put_chunk(browser, session["url"], offset, data[offset : offset + 4096]).status_code
            == 200
        )
    # The client does not know what arrived and resends from 0: the server says where it stands.
    stale = put_chunk(browser, session["url"], 0, data[:4096])
    assert stale.status_code == 409
    assert stale.json()["offset"] == 3 * 4096
    # Ask, then continue from the received offset to the end.
    offset = browser.get(session["url"]).json()["offset"]
    assert offset == 3 * 4096
    while offset < len(data):
        response = put_chunk(browser, session["url"], offset, data[offset : offset + 4096])
        assert response.status_code == 200
        offset = response.json()["offset"]
    assert browser.get(session["url"]).json()["complete"] is True
    response = browser.post(
        reverse("documents:upload"),
        {"upload_ids": [session["id"]], "title": "Mietvertrag"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201, response.content
    document = Document.objects.get()
    assert document.status == DocumentStatus.READY
    assert document.page_count == 1
    assert response.json()["url"] == reverse("documents:detail", kwargs={"pk": document.pk})
    # The received bytes are the same as sent, and nothing is left in the upload folder.
    import hashlib

    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(upload_dir) == []
    assert not UploadSession.objects.exists()


def test_photos_in_chosen_order_become_one_pdf(portal_client, settings):
    browser = browser_for(portal_client.user)
    red = upload_resumably(browser, jpeg_bytes(600, 800, color=(220, 0, 0)))
    blue = upload_resumably(browser, jpeg_bytes(600, 800, color=(0, 0, 220)))
    response = browser.post(reverse("documents:upload"), {"upload_ids": [blue, red], "title": ""})
    document = Document.objects.get()
    assert response.status_code == 302
    assert document.page_count == 2
    first = browser.get(reverse("documents:preview", kwargs={"pk": document.pk, "page": 1}))
    from PIL import Image

    pixel = Image.open(io.BytesIO(first.content)).convert("RGB").getpixel((500, 700))
    assert pixel[2] > 150 and pixel[0] < 80  # blue first, as chosen


def test_plain_form_without_javascript_works(portal_client):
    browser = browser_for(portal_client.user)
    upload = io.BytesIO(pdf_bytes(2))
    upload.name = "Bescheid.pdf"
    response = browser.post(reverse("documents:upload"), {"files": [upload], "title": "Bescheid"})
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.title == "Bescheid"
    assert document.status == DocumentStatus.READY


def test_upload_answers_a_request(portal_client):
    document_request = DocumentRequestFactory(client=portal_client)
    browser = browser_for(portal_client.user)
    page = browser.get(reverse("documents:upload") + f"?request={document_request.pk}")
    assert page.status_code == 200
    assert b"upload-for-request" in page.content
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = "lohn.pdf"
    browser.post(
        reverse("documents:upload"), {"files": [upload], "request": str(document_request.pk)}
    )
    assert Document.objects.get().request == document_request
    document_request.refresh_from_db()
    assert document_request.status == "fulfilled"


def test_detail_download_and_preview_are_audited_and_safe(portal_client, case_manager):
    browser = browser_for(portal_client.user)
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = "../../etc/\u202epasswd.pdf"
    browser.post(reverse("documents:upload"), {"files": [upload]})
    document = Document.objects.get()
    assert "/" not in document.original_name and "\u202e" not in document.original_name
    page = browser.get(reverse("documents:detail", kwargs={"pk": document.pk}))
    assert page.status_code == 200
    assert b"document-technical" not in page.content  # clients see no technical details
    download = browser.get(reverse("documents:download", kwargs={"pk": document.pk}))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-")
    assert "no-store" in download["Cache-Control"]
    preview = browser.get(reverse("documents:preview", kwargs={"pk": document.pk, "page": 1}))
    assert preview["Content-Type"] == "image/webp"
    assert "no-store" in preview["Cache-Control"]
    assert preview["X-Content-Type-Options"] == "nosniff"
    staff_page = browser_for(case_manager).get(
        reverse("documents:detail", kwargs={"pk": document.pk})
    )
    assert b"document-technical" in staff_page.content
    actions = set(
        AuditEntry.objects.filter(client_id=portal_client.pk).values_list("action", flat=True)
    )
    assert {
        "document.upload",
        "document.view",
        "document.download_pdf",
        "document.preview",
    } <= actions


def test_other_case_manager_and_other_client_get_404(
    portal_client, foreign_client, other_case_manager, dpo
):
    browser = browser_for(portal_client.user)
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = "a.pdf"
    browser.post(reverse("documents:upload"), {"files": [upload]})
    document = Document.objects.get()
    for intruder in (other_case_manager, foreign_client.user, dpo):
        other = browser_for(intruder)
        for name, kwargs in (
            ("documents:detail", {"pk": document.pk}),
            ("documents:download", {"pk": document.pk}),
            ("documents:download_original", {"pk": document.pk}),
            ("documents:preview", {"pk": document.pk, "page": 1}),
            ("documents:delete", {"pk": document.pk}),
        ):
            assert other.get(reverse(name, kwargs=kwargs)).status_code == 404, (intruder, name)
    assert AuditEntry.objects.filter(action="document.access_denied").exists()


def test_upload_session_of_someone_else_is_404(portal_client, foreign_client):
    session_id = start_session(browser_for(portal_client.user), b"x" * 10)["id"]
    url = reverse("documents:upload_session", kwargs={"session_id": session_id})
    other = browser_for(foreign_client.user)
    assert other.get(url).status_code == 404
    assert put_chunk(other, url, 0, b"y" * 10).status_code == 404


def test_waiting_document_cannot_be_opened(portal_client, settings):
    settings.CLAMD_SOCKET = ""
    browser = browser_for(portal_client.user)
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = "a.pdf"
    browser.post(reverse("documents:upload"), {"files": [upload]})
    document = Document.objects.get()
    page = browser.get(reverse("documents:detail", kwargs={"pk": document.pk}))
    assert b"document-waiting" in page.content
    assert browser.get(reverse("documents:download", kwargs={"pk": document.pk})).status_code == 404
    assert (
        browser.get(reverse("documents:preview", kwargs={"pk": document.pk, "page": 1})).status_code
        == 404
    )


def test_client_without_portal_consent_is_refused(portal_client):
    Consent.objects.filter(client=portal_client).delete()
    browser = browser_for(portal_client.user)
    assert browser.get(reverse("documents:portal")).status_code == 403
    assert browser.get(reverse("documents:upload")).status_code == 403


def test_staff_upload_for_a_client_and_delete(portal_client, case_manager, storage_dir):
    browser = browser_for(case_manager)
    page = browser.get(reverse("documents:staff_upload", kwargs={"client_pk": portal_client.pk}))
    assert page.status_code == 200
    session = start_session(browser, jpeg_bytes(300, 400), client=str(portal_client.pk))
    put_chunk(browser, session["url"], 0, jpeg_bytes(300, 400))
    response = browser.post(
        reverse("documents:staff_upload", kwargs={"client_pk": portal_client.pk}),
        {"upload_ids": [session["id"]]},
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.uploaded_by_side == "staff"
    response = browser.post(reverse("documents:delete", kwargs={"pk": document.pk}))
    assert response.status_code == 302
    assert not Document.objects.exists()
    assert stored_files(storage_dir) == []


def test_portal_list_shows_own_documents(portal_client):
    browser = browser_for(portal_client.user)
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = "Kontoauszug.pdf"
    browser.post(reverse("documents:upload"), {"files": [upload]})
    page = browser.get(reverse("documents:portal"))
    assert page.status_code == 200
    assert b"Kontoauszug" in page.content
    assert b'data-document-status="ready"' in page.content
