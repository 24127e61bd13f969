"""The attack corpus: hostile or broken files, generated here. Each is refused with a clear
message through the upload page; nothing is stored (no Document row, no blob, no chunk)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pikepdf
import pytest
from django.urls import reverse

from sprechstunde.documents.factories import EICAR, _assemble_pdf, pdf_bytes
from sprechstunde.documents.models import Document, UploadSession

from .conftest import browser_for, stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def png_bomb() -> bytes:
    """A valid PNG header claiming 100000 x 100000 pixels (10 gigapixels), tiny on disk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack("!I", len(body))
            + kind
            + body
            + struct.pack("!I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack("!IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1_000_000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"\x00" * 20_000_000)
    return out.getvalue()


def pdf_deflate_bomb() -> bytes:
    """A PDF whose content stream inflates to 200 MB of zeros."""
    inflater = zlib.compressobj(9)
    block = b"\x00" * 1_000_000
    data = b"".join(inflater.compress(block) for _ in range(200)) + inflater.flush()
    return _assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length "
            + str(len(data)).encode()
            + b" /Filter /FlateDecode >>\nstream\n"
            + data
            + b"\nendstream",
        ]
    )


def pdf_html_polyglot() -> bytes:
    return pdf_bytes(1).replace(
        b"%PDF-1.7\n", b"%PDF-1.7\n%<html><script>alert(document.cookie)</script></html>\n", 1
    )


def elf_as_pdf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def pe_as_pdf() -> bytes:
    return b"MZ\x90\x00" + b"\x00" * 200


def encrypted_pdf() -> bytes:
    source = pikepdf.open(io.BytesIO(pdf_bytes(1)))
    out = io.BytesIO()
    source.save(out, encryption=pikepdf.Encryption(user="geheim", owner="geheimer", R=6))
    return out.getvalue()


def html_file() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def truncated_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog"


def heic_photo() -> bytes:
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100


CORPUS = [
    ("eicar", "eicar.pdf", lambda: EICAR, "This file type is not accepted"),
    ("decompression-bomb", "bomb.png", png_bomb, "far too large"),
    ("zip-bomb", "bomb.pdf", zip_bomb, "Archives"),
    ("pdf-deflate-bomb", "bomb.pdf", pdf_deflate_bomb, "unreasonable size"),
    ("pdf-html-polyglot", "poly.pdf", pdf_html_polyglot, "web page code"),
    ("elf-renamed", "invoice.pdf", elf_as_pdf, "Programs are not accepted"),
    ("pe-renamed", "invoice.pdf", pe_as_pdf, "Programs are not accepted"),
    ("encrypted-pdf", "secret.pdf", encrypted_pdf, "protected by a password"),
    ("html", "page.pdf", html_file, "not accepted"),
    ("truncated-pdf", "broken.pdf", truncated_pdf, "could not be read"),
    ("heic", "photo.heic", heic_photo, "HEIC photos are not accepted"),
    ("empty", "empty.pdf", lambda: b"", "The file is empty"),
    ("oversized", "oversized.pdf", lambda: pdf_bytes(1) + b"%" * 3000, "too large"),
    ("traversal-name-exe", "../../../../etc/cron.d/x.pdf", elf_as_pdf, "Programs"),
    ("control-chars-name", "a\x00b\r\nc.pdf", html_file, "not accepted"),
    ("rtl-override-name", "rechnung\u202efdp.exe", pe_as_pdf, "Programs"),
]


@pytest.mark.parametrize(
    ("name", "data_factory", "message"),
    [pytest.param(n, f, m, id=i) for i, n, f, m in CORPUS],
)
@pytest.mark.parametrize("route", ["form", "resumable"])
def test_hostile_file_is_refused_and_nothing_is_stored(
    portal_client, settings, storage_dir, upload_dir, route, name, data_factory, message
):
    settings.DOCUMENT_MAX_BYTES = 2 * 1024 * 1024 if "oversized" not in name else 2000
    data = data_factory()
    browser = browser_for(portal_client.user)
    if route == "form":
        upload = io.BytesIO(data)
        upload.name = name
        response = browser.post(reverse("documents:upload"), {"files": [upload]})
        assert response.status_code == 400
        text = response.content.decode()
    else:
        response = browser.post(
            reverse("documents:upload_session_create"),
            {"name": name, "size": str(len(data)), "batch": "b"},
        )
        if response.status_code == 400:  # refused up front (empty, oversized)
            text = response.json()["error"]
        else:
            session = response.json()
            put = browser.generic(
                "PUT",
                session["url"],
                data,
                content_type="application/octet-stream",
                headers={"upload-offset": "0"},
            )
            assert put.status_code == 200
            done = browser.post(
                reverse("documents:upload"),
                {"upload_ids": [session["id"]]},
                headers={"accept": "application/json"},
            )
            assert done.status_code == 400
            text = done.json()["error"]
    assert message in text
    assert not Document.objects.exists()
    assert not UploadSession.objects.exists()
    assert stored_files(storage_dir) == []
    assert stored_files(upload_dir) == []


def test_pdf_and_photos_together_are_refused(portal_client, storage_dir):
    from sprechstunde.documents.factories import jpeg_bytes

    browser = browser_for(portal_client.user)
    pdf = io.BytesIO(pdf_bytes(1))
    pdf.name = "a.pdf"
    photo = io.BytesIO(jpeg_bytes(100, 100))
    photo.name = "b.jpg"
    response = browser.post(reverse("documents:upload"), {"files": [pdf, photo]})
    assert response.status_code == 400
    assert not Document.objects.exists()
    assert stored_files(storage_dir) == []


def test_too_many_pages_are_refused(portal_client, settings):
    settings.DOCUMENT_MAX_PAGES = 3
    browser = browser_for(portal_client.user)
    upload = io.BytesIO(pdf_bytes(4))
    upload.name = "long.pdf"
    response = browser.post(reverse("documents:upload"), {"files": [upload]})
    assert response.status_code == 400
    assert b"too many pages" in response.content
    assert not Document.objects.exists()
