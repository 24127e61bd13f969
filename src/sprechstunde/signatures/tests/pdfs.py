"""PDFs for the tests: a decision-like PDF/A-2b, and ways to damage a signed PDF."""

from __future__ import annotations

import asyncio
import hashlib
import re
import subprocess
from io import BytesIO
from pathlib import Path

import pikepdf
import weasyprint
from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper

DECISION_HTML = """
<html lang="de"><head><meta charset="utf-8"><title>Bescheid</title>
<style>@page {{ size: A4; margin: 2cm }} body {{ font-family: sans-serif }}
.page {{ page-break-after: always }}</style></head><body>
{pages}
</body></html>
"""


def decision_pdf(pages: int = 2) -> bytes:
    """A decision-like PDF/A-2b from WeasyPrint with `pages` pages."""
    body = "".join(
        f'<div class="page"><h1>Bescheid Seite {n}</h1>'
        + "<p>Sehr geehrte Damen und Herren, hiermit wird entschieden. " * 40
        + "</p></div>"
        for n in range(1, pages + 1)
    )
    html = DECISION_HTML.format(pages=body)
    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-2b")


def pdfa_declaration(pdf: bytes) -> tuple[str, str]:
    """(part, conformance) from the XMP metadata, e.g. ("2", "B")."""
    with pikepdf.open(BytesIO(pdf)) as doc:
        meta = doc.open_metadata()
        return str(meta.get("pdfaid:part", "")), str(meta.get("pdfaid:conformance", ""))


def signature_widget_flags(pdf: bytes) -> list[int]:
    """The /F flags of every signature widget (PDF/A: Print set, Hidden/NoView clear)."""
    flags = []
    with pikepdf.open(BytesIO(pdf)) as doc:
        for page in doc.pages:
            for annot in page.get("/Annots", []):
                if annot.get("/FT") == "/Sig" or annot.get("/Parent", {}).get("/FT") == "/Sig":
                    flags.append(int(annot.get("/F", 0)))
    return flags


def pdfsig(pdf: bytes, nss_dir: Path, tmp_path: Path, name: str = "sealed.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    completed = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss_dir}", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def signature_blocks(pdfsig_output: str) -> list[str]:
    return re.split(r"^Signature #\d+:", pdfsig_output, flags=re.MULTILINE)[1:]


def _contents_span(pdf: bytes, index: int = 0) -> tuple[int, int]:
    reader = PdfFileReader(BytesIO(pdf))
    byte_range = reader.embedded_signatures[index].sig_object["/ByteRange"]
    return byte_range[0] + byte_range[1], byte_range[2]


def flip_signed_byte(pdf: bytes) -> bytes:
    """Change one byte of signed page content (the signature no longer matches)."""
    data = bytearray(pdf)
    position = data.find(b"Bescheid")
    if position < 0:  # compressed content: change a byte in the middle of the first range
        position = _contents_span(pdf)[0] // 2
    data[position] ^= 0x01
    return bytes(data)


def strip_signature_value(pdf: bytes) -> bytes:
    """Blank the /Contents of the signature (keeps length and offsets)."""
    start, end = _contents_span(pdf)
    return pdf[:start] + b"<" + b"0" * (end - start - 2) + b">" + pdf[end:]


def swap_signature_timestamp(pdf: bytes, tsa_url: str) -> bytes:
    """Replace the signature time stamp with a genuine token for other data (imprint mismatch)."""
    reader = PdfFileReader(BytesIO(pdf))
    embedded = reader.embedded_signatures[0]
    signed_data = embedded.signed_data
    signer_info = signed_data["signer_infos"][0]
    foreign = asyncio.run(
        HTTPTimeStamper(tsa_url).async_timestamp(hashlib.sha256(b"other data").digest(), "sha256")
    )
    for attr in signer_info["unsigned_attrs"]:
        if attr["type"].native == "signature_time_stamp_token":
            attr["values"] = [foreign]
    content = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump(
        force=True
    )
    start, end = _contents_span(pdf)
    hex_value = content.hex().encode("ascii")
    room = end - start - 2
    assert len(hex_value) <= room
    return pdf[:start] + b"<" + hex_value + b"0" * (room - len(hex_value)) + b">" + pdf[end:]


def hidden_content_change(pdf: bytes) -> bytes:
    """Append an incremental update that replaces the first page's text (after signing)."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (Bewilligt: 0 EUR) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    output = BytesIO()
    writer.write(output)
    return output.getvalue()
