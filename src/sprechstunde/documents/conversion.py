"""Turning received files into the PDF everyone reads: photos become one multi-page PDF
(upright by their EXIF orientation, scaled down, JPEG), and a received PDF is rewritten
without JavaScript, launch actions, embedded files or automatic actions (what was removed
is recorded for staff)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pikepdf
from django.conf import settings
from PIL import Image, ImageOps

from .file_checks import FileRefused


@dataclass
class ConvertedPdf:
    """The PDF bytes, its page count, what was removed, and its metadata for staff."""

    data: bytes
    pages: int
    removed: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def _prepare_image(data: bytes) -> Image.Image:
    """Decode one photo: upright, RGB, the long edge at most DOCUMENT_IMAGE_MAX_EDGE."""
    max_edge = int(settings.DOCUMENT_IMAGE_MAX_EDGE)
    with Image.open(io.BytesIO(data)) as opened:
        if opened.width * opened.height > settings.DOCUMENT_MAX_IMAGE_PIXELS:
            raise FileRefused("image too large")
        # JPEG can decode at 1/2, 1/4, 1/8 size directly: far less memory for big photos.
        opened.draft("RGB", (max_edge, max_edge))
        image = ImageOps.exif_transpose(opened)
        image.load()
    if image.mode in {"RGBA", "LA", "P", "PA"}:
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    return image


def images_to_pdf(images: list[bytes]) -> ConvertedPdf:
    """One PDF page per photo, in the given order, at ~150 dpi for an A4-like size."""
    pages = [_prepare_image(data) for data in images]
    out = io.BytesIO()
    first, rest = pages[0], pages[1:]
    # 2000 px on the long edge over 297 mm ≈ 170 dpi: prints at about A4 size.
    resolution = max(first.size) / 11.69
    first.save(
        out,
        format="PDF",
        save_all=True,
        append_images=rest,
        resolution=resolution,
        quality=int(settings.DOCUMENT_JPEG_QUALITY),
        title="",
        producer="Sprechstunde",
    )
    for page in pages:
        page.close()
    return ConvertedPdf(data=out.getvalue(), pages=len(pages))


_ACTION_KEYS = ("/OpenAction", "/AA")
_DANGEROUS_ACTIONS = {
    pikepdf.Name(name)
    for name in ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/ResetForm")
}


def _is_dangerous_action(action: object) -> bool:
    # Compared as PDF names, never through str(): a name may be any bytes (/#80), which
    # str() cannot decode.
    if not isinstance(action, pikepdf.Dictionary):
        return False
    kind = action.get("/S")
    return isinstance(kind, pikepdf.Name) and kind in _DANGEROUS_ACTIONS


def _metadata(pdf: pikepdf.Pdf) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        docinfo = pdf.docinfo
    except (pikepdf.PdfError, ValueError):
        return info
    for key in ("/Title", "/Author", "/Creator", "/Producer", "/CreationDate", "/ModDate"):
        value = docinfo.get(key)
        if value is None:
            continue
        try:
            text = str(value)
        except UnicodeDecodeError:  # a name, or a string marked UTF-8, that is not
            continue
        info[key.lstrip("/").lower()] = text[:200]
    info["pdf_version"] = str(pdf.pdf_version)
    return info


def sanitise_pdf(data: bytes) -> ConvertedPdf:
    """Rewrite a PDF without active content; record what was removed (names, no content)."""
    removed: set[str] = set()
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, RuntimeError, ValueError) as error:  # RuntimeError: see file_checks
        raise FileRefused("unreadable pdf") from error
    with pdf:
        metadata = _metadata(pdf)
        root = pdf.Root
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            if "/JavaScript" in names:
                del names["/JavaScript"]
                removed.add("JavaScript")
            if "/EmbeddedFiles" in names:
                del names["/EmbeddedFiles"]
                removed.add("embedded files")
        for key in _ACTION_KEYS:
            if key in root:
                action = root[key]
                if key == "/AA" or _is_dangerous_action(action):
                    del root[key]
                    removed.add("automatic actions")
        if "/AcroForm" in root:
            form = root["/AcroForm"]
            if isinstance(form, pikepdf.Dictionary) and "/XFA" in form:
                del form["/XFA"]
                removed.add("XFA forms")
        for page in pdf.pages:
            if "/AA" in page.obj:
                del page.obj["/AA"]
                removed.add("automatic actions")
            annotations = page.obj.get("/Annots")
            if not isinstance(annotations, pikepdf.Array):
                continue
            for annotation in annotations:
                if not isinstance(annotation, pikepdf.Dictionary):
                    continue
                if "/AA" in annotation:
                    del annotation["/AA"]
                    removed.add("automatic actions")
                link_action = annotation.get("/A")
                if link_action is not None and _is_dangerous_action(link_action):
                    kind = str(link_action.get("/S", "")).lstrip("/")
                    del annotation["/A"]
                    removed.add("JavaScript" if kind == "JavaScript" else f"{kind} actions")
                if annotation.get("/Subtype") == pikepdf.Name.FileAttachment:
                    if "/FS" in annotation:
                        del annotation["/FS"]
                    removed.add("embedded files")
        pages = len(pdf.pages)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, fix_metadata_version=False)
    return ConvertedPdf(
        data=out.getvalue(), pages=pages, removed=sorted(removed), metadata=metadata
    )
