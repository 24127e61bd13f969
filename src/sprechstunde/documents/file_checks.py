"""Checks on incoming files before anything is stored: the type by its first bytes (never the
name or the browser's word), size and page limits, image dimensions before decoding,
encrypted or broken PDFs, PDF/HTML polyglots, and safe file names for display."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from sprechstunde.core.errors import ApplicationError

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
IMAGE_TYPES = frozenset({JPEG, PNG, WEBP})
ACCEPTED_TYPES = frozenset({PDF, *IMAGE_TYPES})
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}

# Markup that makes a file render as a web page in some browser or viewer.
_MARKUP = re.compile(rb"<\s*(?:html|script|body|iframe|svg|!doctype)", re.IGNORECASE)
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
    # Imported here: the decoding child imports this module and needs no template engine.
    from django.template.defaultfilters import filesizeformat

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


def _check_pdf_markup(path: Path) -> None:
    """Refuse a PDF that is also a web page (a polyglot): a plain byte search, no decoding."""
    with path.open("rb") as handle:
        data = handle.read()
    if _MARKUP.search(data):
        raise FileRefused(
            _(
                "This PDF also contains web page code and is not accepted. "
                "Please print it to a new PDF and send that."
            )
        )


def check_file(path: Path) -> CheckedFile:
    """The checks on one received file that decode nothing (size, type by the first bytes,
    markup); its pages are counted by check_batch. Raises FileRefused."""
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
        _check_pdf_markup(path)
    return CheckedFile(path=path, content_type=content_type, size=size, pages=0)


def _check_contents(checked: list[CheckedFile]) -> list[CheckedFile]:
    """Look inside in a limited child process (isolation.py): every PDF stream unpacked
    under the decoding budget, encrypted or broken PDFs, image headers and pixels."""
    # isolation builds on this module (FileRefused, the types), so it is imported here.
    from .isolation import DecodeLimits, isolated_check

    parts = [(item.content_type, item.path.read_bytes()) for item in checked]
    pages = isolated_check(parts, limits=DecodeLimits.for_document())
    del parts
    for item, count in zip(checked, pages, strict=True):
        if item.content_type != PDF:
            continue
        if count == 0:
            raise FileRefused(_("This PDF has no pages."))
        if count > settings.DOCUMENT_MAX_PAGES:
            raise FileRefused(
                _("The document has too many pages: at most %(count)d, please.")
                % {"count": settings.DOCUMENT_MAX_PAGES}
            )
    return [
        CheckedFile(path=item.path, content_type=item.content_type, size=item.size, pages=count)
        for item, count in zip(checked, pages, strict=True)
    ]


def check_batch(paths: list[Path]) -> list[CheckedFile]:
    """Check the files that will become one document: one PDF, or one or more images.
    What decodes anything runs in a limited child process."""
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
    checked = _check_contents(checked)
    if sum(item.pages for item in checked) > settings.DOCUMENT_MAX_PAGES:
        raise FileRefused(
            _("The document has too many pages: at most %(count)d, please.")
            % {"count": settings.DOCUMENT_MAX_PAGES}
        )
    return checked
