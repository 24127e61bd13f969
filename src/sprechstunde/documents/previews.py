"""Page images for reading on a phone: each PDF page rendered with PDFium to WebP about
DOCUMENT_PREVIEW_WIDTH pixels wide (sharp at 360 px with zoom, small enough for mobile data)."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
from django.conf import settings

# PDFium is not thread-safe; the embedded worker and a web thread could render at once.
_pdfium_lock = threading.Lock()


@dataclass(frozen=True)
class RenderedPage:
    page_number: int
    data: bytes
    width: int
    height: int
    content_type: str = "image/webp"


def render_pages(pdf_bytes: bytes) -> list[RenderedPage]:
    """One WebP per page, in order."""
    rendered: list[RenderedPage] = []
    target = int(settings.DOCUMENT_PREVIEW_WIDTH)
    with _pdfium_lock:
        document = pdfium.PdfDocument(pdf_bytes)
        try:
            for index in range(len(document)):
                page = document[index]
                try:
                    width_pt = page.get_width() or 1
                    scale = min(target / width_pt, 4.0)
                    bitmap = page.render(scale=scale, may_draw_forms=False)
                    image = bitmap.to_pil().convert("RGB")
                    bitmap.close()
                finally:
                    page.close()
                out = io.BytesIO()
                image.save(out, format="WEBP", quality=75, method=4)
                rendered.append(
                    RenderedPage(
                        page_number=index + 1,
                        data=out.getvalue(),
                        width=image.width,
                        height=image.height,
                    )
                )
                image.close()
        finally:
            document.close()
    return rendered
