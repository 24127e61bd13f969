"""Test data for documents: requests, and sample files made in code (no binaries in git)."""

from __future__ import annotations

import datetime
import io

import factory
from django.utils import timezone
from PIL import Image

from sprechstunde.clients.factories import ClientFactory

from .models import DocumentRequest

# The EICAR anti-virus test string (harmless by design; every scanner reports it).
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class DocumentRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentRequest

    client = factory.SubFactory(ClientFactory)
    title = "Lohnabrechnung März"
    due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=14))


def jpeg_bytes(
    width: int = 1200,
    height: int = 900,
    *,
    color: tuple[int, int, int] = (200, 30, 30),
    orientation: int | None = None,
) -> bytes:
    """A JPEG photo; `orientation` sets the EXIF orientation tag (6: rotate 90° clockwise)."""
    image = Image.new("RGB", (width, height), color)
    # A dark block in the top left corner shows which way up the page ended.
    image.paste((0, 0, 0), (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(out, format="JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def png_bytes(width: int = 400, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 120, 200, 255)).save(out, format="PNG")
    return out.getvalue()


def webp_bytes(width: int = 400, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 160, 60)).save(out, format="WEBP")
    return out.getvalue()


def pdf_bytes(pages: int = 2, *, text: str = "Lohnabrechnung") -> bytes:
    """A small text PDF written by hand (one content stream per page)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font_id = 3 + 2 * pages
    for i in range(pages):
        content = f"BT /F1 24 Tf 72 720 Td ({text} {i + 1}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(
            b"<< /Length "
            + str(len(content)).encode()
            + b" >>\nstream\n"
            + content
            + b"\nendstream"
        )
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _assemble_pdf(objects)


def _assemble_pdf(objects: list[bytes], *, trailer_extra: bytes = b"") -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R ".encode()
        + trailer_extra
        + f">>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()
