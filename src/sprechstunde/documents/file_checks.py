"""Checks on incoming files before anything is stored: the type by its first bytes (never the
name or the browser's word), size and page limits, image dimensions before decoding,
encrypted or broken PDFs, PDF/HTML polyglots, and safe file names for display."""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image

from sprechstunde.core.errors import ApplicationError

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
IMAGE_TYPES = frozenset({JPEG, PNG, WEBP})
ACCEPTED_TYPES = frozenset({PDF, *IMAGE_TYPES})
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}
_PILLOW_FORMATS = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP}

# Markup that makes a file render as a web page in some browser or viewer.
_MARKUP = re.compile(rb"<\s*(?:html|script|body|iframe|svg|!doctype)", re.IGNORECASE)
# All streams of one PDF together may not inflate beyond this (a deflate bomb).
_MAX_INFLATED_FACTOR = 20
_MAX_INFLATED_FLOOR = 64 * 1024 * 1024
_READ_HEAD = 64


class FileRefused(ApplicationError):
    """The file is not accepted; `message` tells the sender why (translated)."""


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: its detected type and page count."""

    path: Path
    content_type: str
    size: int
    pages: int


def limits() -> dict[str, int]:
    return {
        "max_bytes": int(settings.DOCUMENT_MAX_BYTES),
        "max_pages": int(settings.DOCUMENT_MAX_PAGES),
        "max_files": int(settings.DOCUMENT_MAX_FILES),
        "max_pixels": int(settings.DOCUMENT_MAX_IMAGE_PIXELS),
    }


def too_large_message() -> str:
    return _("The file is too large: at most %(size)s, please.") % {
        "size": filesizeformat(settings.DOCUMENT_MAX_BYTES)
    }


def sniff(head: bytes) -> str:
    """The content type told by the first bytes, or "" for anything not accepted."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return ""


def _refusal_for_unknown(head: bytes) -> str:
    """A specific message for what people actually send by mistake (or on purpose)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"7z\xbc\xaf", b"Rar!", b"\x1f\x8b")):
        return _(
            "Archives (such as ZIP files) are not accepted. Please send each document "
            "as a PDF or a photo."
        )
    if head.startswith((b"\x7fELF", b"MZ", b"#!")):
        return _("Programs are not accepted. Please send a PDF or a photo.")
    if (
        len(head) >= 12
        and head[4:8] == b"ftyp"
        and head[8:12] in {b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heim", b"heis"}
    ):
        return _(
            "HEIC photos are not accepted. Please take the photo with the camera button "
            "on this page, or send it as JPEG."
        )
    return _("This file type is not accepted. Please send a PDF or a photo (JPEG, PNG or WebP).")


def safe_display_name(name: str, *, content_type: str = "") -> str:
    """A file name fit for display and download headers: no folders, no control or
    direction-changing characters, at most 120 characters, the extension of the real type.
    Storage never uses it."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    # Cc: control characters; Cf: format characters (right-to-left override, zero width).
    name = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch
        for ch in name
        if unicodedata.category(ch) not in {"Cf", "Cs", "Co", "Cn"}
    )
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    wanted = EXTENSIONS.get(content_type, "")
    if wanted:
        ext = wanted.lstrip(".")
    stem = stem.strip(" .")[:100] or "dokument"
    ext = ext.strip(" .")[:19]  # 100 + "." + 19: the promised 120 at most
    return f"{stem}.{ext}" if ext else stem


def _check_pdf(path: Path, size: int) -> int:
    """Open the PDF: refuse encrypted, broken, polyglot, bomb or too long; return pages."""
    with path.open("rb") as handle:
        data = handle.read()
    if _MARKUP.search(data):
        raise FileRefused(
            _(
                "This PDF also contains web page code and is not accepted. "
                "Please print it to a new PDF and send that."
            )
        )
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as error:
        raise FileRefused(
            _("This PDF is protected by a password. Please send it without password protection.")
        ) from error
    # qpdf reports some broken page trees as a RuntimeError (QpdfRuntimeError), not PdfError.
    except (pikepdf.PdfError, RuntimeError, ValueError, OSError) as error:
        raise FileRefused(_("This PDF could not be read. It may be damaged.")) from error
    with pdf:
        if pdf.is_encrypted:
            raise FileRefused(
                _(
                    "This PDF is protected by a password. Please send it without "
                    "password protection."
                )
            )
        pages = len(pdf.pages)
        if pages == 0:
            raise FileRefused(_("This PDF has no pages."))
        if pages > settings.DOCUMENT_MAX_PAGES:
            raise FileRefused(
                _("The document has too many pages: at most %(count)d, please.")
                % {"count": settings.DOCUMENT_MAX_PAGES}
            )
        _check_inflated_size(pdf, budget=max(_MAX_INFLATED_FLOOR, size * _MAX_INFLATED_FACTOR))
    return pages


def _check_inflated_size(pdf: pikepdf.Pdf, *, budget: int) -> None:
    """Inflate every Flate stream with a cap, so a deflate bomb is caught without ever being
    held in memory in full."""
    total = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        filters = obj.get("/Filter")
        # Compared as PDF names, not as str: a name need not be valid UTF-8 (/#80).
        first = filters[0] if isinstance(filters, pikepdf.Array) and len(filters) else filters
        if first != pikepdf.Name.FlateDecode:
            continue
        try:
            raw = obj.read_raw_bytes()
        except pikepdf.PdfError:
            continue
        inflater = zlib.decompressobj()
        try:
            piece = inflater.decompress(raw, budget - total + 1)
        except zlib.error:
            continue
        total += len(piece)
        if total > budget:
            raise FileRefused(
                _(
                    "This PDF contains data that unpacks to an unreasonable size "
                    "and is not accepted."
                )
            )


def _check_image(path: Path, content_type: str) -> None:
    """Read only the header: the declared format and dimensions, before any decoding."""
    try:
        with Image.open(path) as image:
            found = _PILLOW_FORMATS.get(image.format or "")
            width, height = image.size
    except Image.DecompressionBombError as error:
        raise FileRefused(_("This image is far too large (too many pixels).")) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise FileRefused(_("This image could not be read. It may be damaged.")) from error
    if found != content_type:
        raise FileRefused(_("This image could not be read. It may be damaged."))
    if width <= 0 or height <= 0 or width * height > settings.DOCUMENT_MAX_IMAGE_PIXELS:
        raise FileRefused(_("This image is far too large (too many pixels)."))


def check_file(path: Path) -> CheckedFile:
    """Check one received file. Raises FileRefused with a message for the sender."""
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(_("The file is empty."))
    if size > settings.DOCUMENT_MAX_BYTES:
        raise FileRefused(too_large_message())
    with path.open("rb") as handle:
        head = handle.read(_READ_HEAD)
    content_type = sniff(head)
    if not content_type:
        raise FileRefused(_refusal_for_unknown(head))
    if _MARKUP.search(head):
        raise FileRefused(_("This file contains web page code and is not accepted."))
    if content_type == PDF:
        pages = _check_pdf(path, size)
    else:
        _check_image(path, content_type)
        pages = 1
    return CheckedFile(path=path, content_type=content_type, size=size, pages=pages)


def check_batch(paths: list[Path]) -> list[CheckedFile]:
    """Check the files that will become one document: one PDF, or one or more images."""
    if not paths:
        raise FileRefused(_("Please choose a file or take a photo."))
    if len(paths) > settings.DOCUMENT_MAX_FILES:
        raise FileRefused(
            _("Too many files at once: at most %(count)d, please.")
            % {"count": settings.DOCUMENT_MAX_FILES}
        )
    if sum(path.stat().st_size for path in paths) > settings.DOCUMENT_MAX_BYTES:
        raise FileRefused(too_large_message())
    checked = [check_file(path) for path in paths]
    if len(checked) > 1 and any(item.content_type == PDF for item in checked):
        raise FileRefused(_("Please send a PDF on its own; several photos can be sent together."))
    if sum(item.pages for item in checked) > settings.DOCUMENT_MAX_PAGES:
        raise FileRefused(
            _("The document has too many pages: at most %(count)d, please.")
            % {"count": settings.DOCUMENT_MAX_PAGES}
        )
    return checked
