"""The e-file export: a ZIP of a client's checked documents with manifest.json and
manifest.csv; quarantined or unchecked documents never leave; access and audit as for changes."""

import csv
import hashlib
import io
import json
import zipfile

import pytest

from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import storage_crypto
from sprechstunde.documents.choices import DocumentStatus, ScanStatus, Side
from sprechstunde.documents.factories import DocumentRequestFactory, jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document
from sprechstunde.documents.services.export import (
    EXPORTERS,
    ExportPackage,
    document_export_for_user,
    manifest_csv,
)
from sprechstunde.messaging.factories import portal_client_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_record(case_manager):
    return portal_client_create(case_manager=case_manager, email="kundin@example.org")


def stored_document(
    client,
    *,
    title="Lohnabrechnung März",
    data=None,
    as_pdf=True,
    status=DocumentStatus.READY,
    scan_status=ScanStatus.CLEAN,
    **fields,
) -> Document:
    """A document as the upload pipeline leaves it: encrypted blobs and a wrapped key."""
    data = data if data is not None else pdf_bytes(2, text=title)
    data_key = storage_crypto.new_data_key()
    wrapped, key_id = storage_crypto.wrap_key(data_key)
    original = storage_crypto.blob_write(data, data_key=data_key, kind="original")
    pdf_name = storage_crypto.blob_write(data, data_key=data_key, kind="pdf") if as_pdf else ""
    return Document.objects.create(
        client=client,
        uploaded_by=client.user,
        uploaded_by_side=Side.CLIENT,
        title=title,
        original_name="scan.pdf",
        content_type="application/pdf" if as_pdf else "image/jpeg",
        original_content_type="application/pdf" if as_pdf else "image/jpeg",
        size=len(data),
        page_count=2,
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
        scan_status=scan_status,
        original_storage_name=original,
        pdf_storage_name=pdf_name,
        wrapped_key=wrapped,
        key_id=key_id,
        **fields,
    )


def open_zip(result) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(result.file.read()))


def test_export_holds_checked_documents_and_a_manifest(case_manager, client_record):
    answered = DocumentRequestFactory(client=client_record, title="Kontoauszug")
    first = stored_document(client_record, request=answered)
    photo = jpeg_bytes(200, 100)
    second = stored_document(client_record, title="Mietvertrag", data=photo, as_pdf=False)
    stored_document(
        client_record,
        title="Virus",
        status=DocumentStatus.QUARANTINED,
        scan_status=ScanStatus.INFECTED,
    )
    stored_document(
        client_record, title="Wartet", status=DocumentStatus.PROCESSING, scan_status="pending"
    )

    result = document_export_for_user(user=case_manager, client=client_record)

    archive = open_zip(result)
    names = archive.namelist()
    assert names == [
        "001-Lohnabrechnung-Maerz.pdf",
        "002-Mietvertrag.jpg",
        "manifest.json",
        "manifest.csv",
    ]
    assert archive.read("002-Mietvertrag.jpg") == photo
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["client"] == {"id": client_record.pk, "name": client_record.full_name}
    rows = manifest["documents"]
    assert [row["document_id"] for row in rows] == [first.pk, second.pk]
    for row in rows:
        assert row["sha256"] == hashlib.sha256(archive.read(row["file_name"])).hexdigest()
        assert row["scan_result"] == "clean" and row["uploaded_by_side"] == "client"
    assert rows[0]["request_title"] == "Kontoauszug" and rows[0]["request_id"] == answered.pk
    assert rows[0]["title"] == "Lohnabrechnung März" and rows[0]["pages"] == 2
    assert rows[1]["content_type"] == "image/jpeg" and rows[1]["in_efile"] is False
    table = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["file_name"] for row in table] == [row["file_name"] for row in rows]
    assert table[0]["sha256"] == rows[0]["sha256"]
    assert archive.testzip() is None
    assert result.file_name.startswith(f"dokumente-{client_record.pk}-")
    assert result.content_type == "application/zip"
    entry = AuditEntry.objects.get(action="document.export")
    assert (entry.actor_id, entry.client_id) == (case_manager.pk, client_record.pk)


def test_nothing_checked_means_no_export(case_manager, client_record):
    stored_document(client_record, status=DocumentStatus.QUARANTINED, scan_status="infected")

    with pytest.raises(ApplicationError):
        document_export_for_user(user=case_manager, client=client_record)

    assert not AuditEntry.objects.filter(action="document.export").exists()


def test_only_the_case_manager_side_may_export(other_case_manager, team_lead, client_record):
    stored_document(client_record)

    for outsider in (other_case_manager, team_lead, client_record.user):
        with pytest.raises(PermissionDeniedError):
            document_export_for_user(user=outsider, client=client_record)


def test_a_changed_file_stops_the_export(case_manager, client_record):
    document = stored_document(client_record, as_pdf=False, data=jpeg_bytes(50, 50))
    # Another (validly encrypted) file now stands where the original was.
    Document.objects.filter(pk=document.pk).update(sha256="0" * 64)

    with pytest.raises(ApplicationError) as stopped:
        document_export_for_user(user=case_manager, client=client_record)

    assert "integrity" in str(stopped.value.message)


def test_a_tampered_blob_stops_the_export(case_manager, client_record):
    document = stored_document(client_record)
    storage = storage_crypto.storage()
    with storage.open(document.pdf_storage_name, "rb") as handle:
        blob = bytearray(handle.read())
    blob[-1] ^= 0xFF
    storage.delete(document.pdf_storage_name)
    storage.save(document.pdf_storage_name, io.BytesIO(bytes(blob)))

    with pytest.raises(ApplicationError):
        document_export_for_user(user=case_manager, client=client_record)


def test_file_names_in_the_zip_are_harmless(case_manager, client_record):
    for title in ("../../etc/passwd", "\u202eexe.pdf", "C:\\Windows\\x", "\x07\x1b", "Über Öl"):
        stored_document(client_record, title=title)

    names = open_zip(document_export_for_user(user=case_manager, client=client_record)).namelist()

    assert names[:5] == [
        "001-etc-passwd.pdf",
        "002-exe-pdf.pdf",
        "003-C-Windows-x.pdf",
        "004-dokument.pdf",
        "005-Ueber-Oel.pdf",
    ]


def test_csv_cells_cannot_run_as_spreadsheet_formulas(case_manager, client_record):
    stored_document(client_record, title='=HYPERLINK("http://x")')
    package = ExportPackage(
        client=client_record,
        documents=list(Document.objects.all()),
        read=lambda document: (b"%PDF-1.7", "application/pdf"),
        exported_at=Document.objects.get().created_at,
    )
    entries = EXPORTERS["zip"].write(package, io.BytesIO())

    table = list(csv.DictReader(io.StringIO(manifest_csv(entries).decode("utf-8-sig"))))

    assert table[0]["title"] == '\'=HYPERLINK("http://x")'


def test_a_big_export_is_spooled_to_disk_not_memory(case_manager, client_record, monkeypatch):
    from sprechstunde.documents.services import export

    monkeypatch.setattr(export, "SPOOL_MAX_BYTES", 1024)
    for number in range(3):
        stored_document(
            client_record, title=f"Seite {number}", data=jpeg_bytes(300, 300), as_pdf=False
        )

    result = document_export_for_user(user=case_manager, client=client_record)

    assert result.file._rolled  # the spooled file moved to an (unlinked) file on disk
    assert len(open_zip(result).namelist()) == 5


def test_empty_csv_cells_stay_empty(case_manager, client_record):
    # No request, never marked for the e-file: request_title, efile_marked_at and
    # request_id are empty. Other guarded starts still get their apostrophe.
    stored_document(client_record, title="-5 Euro Gutschrift")
    entries = EXPORTERS["zip"].write(
        ExportPackage(
            client=client_record,
            documents=list(Document.objects.all()),
            read=lambda document: (b"%PDF-1.7", "application/pdf"),
            exported_at=Document.objects.get().created_at,
        ),
        io.BytesIO(),
    )

    raw = manifest_csv(entries).decode("utf-8-sig")
    row = next(iter(csv.DictReader(io.StringIO(raw))))

    assert row["request_title"] == "" and row["efile_marked_at"] == ""
    assert row["request_id"] == ""
    assert row["title"] == "'-5 Euro Gutschrift"
    assert "'," not in raw.splitlines()[1] and not raw.splitlines()[1].endswith("'")
