"""The processing pipeline through the services: upload → virus check → PDF → previews."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from django.core import mail
from PIL import Image

from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.documents import permissions, selectors, services
from sprechstunde.documents.choices import DocumentStatus, ScanStatus, Side
from sprechstunde.documents.factories import EICAR, jpeg_bytes, pdf_bytes, png_bytes
from sprechstunde.documents.models import Document

from .conftest import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def received(tmp_path: Path, name: str, data: bytes) -> services.ReceivedFile:
    path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(data)
    return services.ReceivedFile(path=path, name=name)


def test_client_pdf_becomes_ready_with_previews(portal_client, tmp_path):
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "Lohn.pdf", pdf_bytes(3))],
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.scan_status == ScanStatus.CLEAN
    assert document.uploaded_by_side == Side.CLIENT
    assert document.page_count == 3
    assert document.incoming == []
    previews = list(document.previews.all())
    assert [p.page_number for p in previews] == [1, 2, 3]
    content = selectors.document_preview_for_user(
        user=portal_client.user, document=document, page_number=1
    )
    image = Image.open(io.BytesIO(content.data))
    assert image.format == "WEBP"
    assert 900 <= image.width <= 1000
    pdf = selectors.document_file_for_user(user=portal_client.user, document=document)
    assert pdf.data.startswith(b"%PDF-")
    assert len(pikepdf.open(io.BytesIO(pdf.data)).pages) == 3
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "document.upload" in actions
    assert "document.ready" in actions


def test_photos_become_one_pdf_upright_and_scaled(portal_client, tmp_path):
    # A 4000x3000 photo taken with the phone turned: EXIF says "rotate 90° clockwise".
    files = [
        received(tmp_path, "seite1.jpg", jpeg_bytes(4000, 3000, orientation=6)),
        received(tmp_path, "seite2.png", png_bytes(400, 300)),
    ]
    document = services.document_create(
        uploader=portal_client.user, client=portal_client, files=files, title="Mietvertrag"
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.page_count == 2
    assert document.title == "Mietvertrag"
    assert document.content_type == "application/pdf"
    pdf = selectors.document_file_for_user(user=portal_client.user, document=document)
    with pikepdf.open(io.BytesIO(pdf.data)) as opened:
        assert len(opened.pages) == 2
        first_image = next(iter(opened.pages[0].get_images().values()))
        raw = pikepdf.PdfImage(first_image).as_pil_image()
    # Portrait after rotation, long edge scaled to 2000 px.
    assert raw.size == (1500, 2000)
    # The dark corner block went from top left to top right (rotated clockwise).
    assert raw.getpixel((1450, 50))[0] < 60
    assert raw.getpixel((50, 50))[0] > 150


def test_eicar_inside_a_pdf_is_quarantined_and_never_served(portal_client, tmp_path, storage_dir):
    data = pdf_bytes(1).replace(b"%%EOF", b"%" + EICAR + b"\n%%EOF")
    document = services.document_create(
        uploader=portal_client.user, client=portal_client, files=[received(tmp_path, "x.pdf", data)]
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.QUARANTINED
    assert document.scan_status == ScanStatus.INFECTED
    assert "EICAR" in document.scan_detail
    assert document.previews.count() == 0
    assert selectors.document_file_for_user(user=portal_client.user, document=document) is None
    assert stored_files(storage_dir) == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [portal_client.user.email]
    assert "EICAR" not in mail.outbox[0].body


def test_clamd_down_documents_wait_and_the_retry_releases(
    portal_client, tmp_path, clamd_daemon, settings
):
    clamd_daemon.stop()
    try:
        document = services.document_create(
            uploader=portal_client.user,
            client=portal_client,
            files=[received(tmp_path, "a.pdf", pdf_bytes(1))],
        )
        document.refresh_from_db()
        assert document.status == DocumentStatus.PROCESSING
        assert document.scan_status == ScanStatus.ERROR
        assert document.incoming
        assert selectors.document_file_for_user(user=portal_client.user, document=document) is None
        assert mail.outbox == []  # waiting is no refusal: nobody is told of a failure
    finally:
        clamd_daemon.start()
    counts = services.documents_process_pending()
    assert counts == {"ready": 1}
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.scan_attempts == 2


def test_without_a_scanner_documents_wait(portal_client, tmp_path, settings):
    settings.CLAMD_SOCKET = ""
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "a.pdf", pdf_bytes(1))],
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING
    assert document.scan_status == ScanStatus.PENDING
    assert selectors.document_file_for_user(user=portal_client.user, document=document) is None
    assert len(mail.outbox) == 0


def test_pdf_javascript_and_launch_actions_are_left_out_and_recorded(portal_client, tmp_path):
    source = pikepdf.open(io.BytesIO(pdf_bytes(1)))
    js = source.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )
    source.Root.OpenAction = js
    source.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), js]))
    )
    source.pages[0].obj.Annots = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Link,
                Rect=pikepdf.Array([0, 0, 100, 100]),
                A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")),
            )
        ]
    )
    out = io.BytesIO()
    source.save(out)
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "aktiv.pdf", out.getvalue())],
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert "JavaScript" in document.sanitised_detail
    assert "Launch" in document.sanitised_detail
    pdf = selectors.document_file_for_user(user=portal_client.user, document=document)
    with pikepdf.open(io.BytesIO(pdf.data)) as cleaned:
        assert "/OpenAction" not in cleaned.Root
        assert "/Names" not in cleaned.Root
        assert "/Annots" not in cleaned.pages[0].obj


def test_delete_removes_files_previews_and_key(portal_client, tmp_path, storage_dir):
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "a.pdf", pdf_bytes(2))],
    )
    assert len(stored_files(storage_dir)) == 4  # original, PDF, two previews
    services.document_delete(document=document, actor=portal_client.user)
    assert not Document.objects.filter(pk=document.pk).exists()
    assert stored_files(storage_dir) == []
    assert AuditEntry.objects.filter(action="document.delete", client_id=portal_client.pk).exists()


def test_a_team_lead_reads_but_cannot_send_or_delete_for_a_team_client(
    portal_client, team_lead, case_manager, tmp_path
):
    """The staff write rule of documents is one rule for all actions: the case manager and
    today's substitutes; a team lead of the case manager's team reads only."""
    case_manager.team = team_lead.team
    case_manager.save()
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "bescheinigung.pdf", pdf_bytes())],
    )
    assert permissions.can_view_document(user=team_lead, document=document)
    assert not permissions.can_upload_for_client(user=team_lead, client=portal_client)
    with pytest.raises(PermissionDeniedError):
        services.document_delete(document=document, actor=team_lead)
    with pytest.raises(PermissionDeniedError):
        services.document_create(
            uploader=team_lead,
            client=portal_client,
            files=[received(tmp_path, "brief.pdf", pdf_bytes())],
        )
    assert list(Document.objects.values_list("pk", flat=True)) == [document.pk]
    # The case manager may do both.
    assert permissions.can_upload_for_client(user=case_manager, client=portal_client)
    assert permissions.can_delete_document(user=case_manager, document=document)
