"""Export of a client's documents for the authority's e-file: a ZIP with the original files
and a manifest (manifest.json and manifest.csv) describing each of them.

Only documents that are READY and passed the virus check (CLEAN) are exported; quarantined,
refused or unchecked ones never. Each document goes in as the checked PDF the documents
app made (photos joined, active content removed), or as the original where there is none.
The package is written to a spooled temporary file (memory only while small, an unlinked
file on disk beyond that), one document at a time, so a large set never sits in memory.

The format is a small interface (`Exporter`). The standard hand-over (xdomea 0401, with
decisions, plans and delivery logs as well) lives in the `efile` app, which reads documents
through `exportable_documents` and `read_for_export` and sets the e-file mark here.

Also the e-file mark: staff note which documents went into the authority's e-file.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import IO, Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from ..choices import DocumentStatus, ScanStatus
from ..models import Document
from ..permissions import can_change_client_documents

# Reads one document for the package: (decrypted bytes, content type). One document is
# bounded by DOCUMENT_MAX_BYTES; the package itself is never held in memory.
Reader = Callable[[Document], tuple[bytes, str]]


MANIFEST_VERSION = 1


# Up to this size the package stays in memory; beyond, it goes to an unlinked temp file.
SPOOL_MAX_BYTES = 8 * 1024 * 1024


_FILE_NAME_MAX = 80


_INTEGRITY_MESSAGE = _(
    "A document failed its integrity check (its file no longer matches the one received); "
    "the export was stopped. Please tell IT support."
)


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/tiff": ".tif",
    "image/gif": ".gif",
}


_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


MANIFEST_FIELDS = (
    "file_name",
    "document_id",
    "title",
    "original_name",
    "content_type",
    "pages",
    "size",
    "sha256",
    "original_sha256",
    "uploaded_at",
    "uploaded_by_side",
    "scan_result",
    "scanned_at",
    "in_efile",
    "efile_marked_at",
    "request_id",
    "request_title",
)


def read_for_export(document: Document) -> tuple[bytes, str]:
    """The file that goes into the e-file, decrypted, and its type: the checked PDF the
    documents app made (photos joined, active content removed), else the original as
    received. AES-GCM authenticates every blob, so a changed file fails to decrypt; an
    original is also compared with the SHA-256 recorded at upload."""
    from .. import storage_crypto

    name = document.pdf_storage_name or document.original_storage_name
    if not name or not document.wrapped_key:
        raise ApplicationError(_("A document's file is missing; the export was stopped."))
    data_key = storage_crypto.unwrap_key(bytes(document.wrapped_key), document.key_id)
    try:
        data = storage_crypto.blob_read(name, data_key=data_key)
    except storage_crypto.DecryptionError as error:
        raise ApplicationError(_INTEGRITY_MESSAGE) from error
    if document.pdf_storage_name:
        return data, "application/pdf"
    if document.sha256 and hashlib.sha256(data).hexdigest() != document.sha256:
        raise ApplicationError(_INTEGRITY_MESSAGE)
    return data, document.original_content_type or document.content_type


@dataclass(frozen=True)
class ManifestEntry:
    """One exported document as the manifest describes it (no content, only metadata)."""

    file_name: str
    document_id: int
    title: str
    original_name: str
    content_type: str
    pages: int
    size: int
    # Of the file in the package; `original_sha256` is of what the sender uploaded.
    sha256: str
    original_sha256: str
    uploaded_at: str
    uploaded_by_side: str
    scan_result: str
    scanned_at: str
    in_efile: bool
    efile_marked_at: str
    request_id: int | None
    request_title: str


@dataclass
class ExportPackage:
    """What an exporter writes: the client, the documents (in order) and how to read them."""

    client: Client
    documents: list[Document]
    read: Reader
    exported_at: datetime.datetime

    def entries(self) -> Iterator[tuple[ManifestEntry, bytes]]:
        """Each document's manifest entry and its verified bytes, one at a time."""
        used: set[str] = set()
        for position, document in enumerate(self.documents, start=1):
            data, content_type = self.read(document)
            name = export_file_name(
                document, position=position, used=used, content_type=content_type
            )
            entry = manifest_entry(
                document,
                file_name=name,
                content_type=content_type,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
            )
            yield entry, data


class Exporter(Protocol):
    """A package format. `write` fills `out` and returns the manifest it wrote."""

    key: str
    content_type: str
    extension: str

    def write(self, package: ExportPackage, out: IO[bytes]) -> list[ManifestEntry]: ...


def _iso(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def manifest_entry(
    document: Document, *, file_name: str, content_type: str, sha256: str, size: int
) -> ManifestEntry:
    request = document.request
    return ManifestEntry(
        file_name=file_name,
        document_id=document.pk,
        title=document.title,
        original_name=document.original_name,
        content_type=content_type,
        pages=document.page_count,
        size=size,
        sha256=sha256,
        original_sha256=document.sha256,
        uploaded_at=_iso(document.created_at),
        uploaded_by_side=document.uploaded_by_side,
        scan_result=document.scan_status,
        scanned_at=_iso(document.scanned_at),
        in_efile=document.is_in_efile,
        efile_marked_at=_iso(document.efile_marked_at),
        request_id=request.pk if request is not None else None,
        request_title=request.title if request is not None else "",
    )


def _safe_stem(text: str) -> str:
    """ASCII letters, digits and dashes only: no path, no control or direction characters."""
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    text = text.encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return stem[:_FILE_NAME_MAX].rstrip("-") or "dokument"


def export_file_name(
    document: Document, *, position: int, used: set[str], content_type: str
) -> str:
    """A unique, harmless name inside the package: number, title, extension by type."""
    extension = _EXTENSIONS.get(content_type, ".bin")
    name = f"{position:03d}-{_safe_stem(document.title)}{extension}"
    while name in used:  # pragma: no cover - the number already makes names unique
        name = f"{position:03d}-{len(used)}-{_safe_stem(document.title)}{extension}"
    used.add(name)
    return name


def manifest_csv(entries: list[ManifestEntry]) -> bytes:
    """The manifest as CSV (UTF-8 with BOM, so spreadsheet programs read umlauts right).
    Cells that a spreadsheet would run as a formula are quoted with a leading apostrophe."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        row = asdict(entry)
        writer.writerow({key: _csv_cell(value) for key, value in row.items()})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# A cell starting with one of these runs as a formula in spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """`value` as a CSV cell: a text a spreadsheet would run as a formula gets a leading
    apostrophe; an empty text stays empty (`""[:1] in "..."` would be true)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def manifest_json(package: ExportPackage, entries: list[ManifestEntry]) -> bytes:
    data: dict[str, Any] = {
        "format": "sprechstunde-documents",
        "version": MANIFEST_VERSION,
        "exported_at": _iso(package.exported_at),
        "jobcenter": settings.JOBCENTER_NAME,
        "client": {"id": package.client.pk, "name": package.client.full_name},
        "documents": [asdict(entry) for entry in entries],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def _zip_time(value: datetime.datetime) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(value)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


class ZipExporter:
    """The documents as files plus manifest.json and manifest.csv, in one ZIP."""

    key = "zip"
    content_type = "application/zip"
    extension = ".zip"

    def write(self, package: ExportPackage, out: IO[bytes]) -> list[ManifestEntry]:
        entries: list[ManifestEntry] = []
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for entry, data in package.entries():
                info = zipfile.ZipInfo(entry.file_name, date_time=_zip_time(package.exported_at))
                # PDFs and photos are compressed already: store them as they are.
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, data)
                entries.append(entry)
            archive.writestr("manifest.json", manifest_json(package, entries))
            archive.writestr("manifest.csv", manifest_csv(entries))
        return entries


EXPORTERS: dict[str, Exporter] = {"zip": ZipExporter()}


def exportable_documents(*, client: Client) -> QuerySet[Document]:
    """The documents that may leave: READY and found clean; oldest first."""
    return (
        Document.objects.filter(
            client=client, status=DocumentStatus.READY, scan_status=ScanStatus.CLEAN
        )
        .select_related("request")
        .order_by("created_at", "pk")
    )


@dataclass
class ExportResult:
    """A finished package, rewound, for the view to stream (and close)."""

    file: IO[bytes]
    file_name: str
    content_type: str
    entries: list[ManifestEntry]


def document_export_for_user(
    *,
    user: Any,
    client: Client,
    exporter: str = "zip",
    read: Reader | None = None,
    request: HttpRequest | None = None,
) -> ExportResult:
    """Build the export of `client`'s exportable documents for `user`, audited as
    "document.export" (which client; nothing of the content).

    Raises PermissionDeniedError unless `user` may change the client's documents, and
    ApplicationError when there is nothing to export or a file fails its check.
    """
    if not can_change_client_documents(user=user, client=client):
        raise PermissionDeniedError(_("You cannot export this client's documents."))
    format_ = EXPORTERS.get(exporter)
    if format_ is None:
        raise ApplicationError(_("This export format is not available."))
    documents = list(exportable_documents(client=client))
    if not documents:
        raise ApplicationError(_("There are no checked documents to export yet."))
    now = timezone.now()
    package = ExportPackage(
        client=client, documents=documents, read=read or read_for_export, exported_at=now
    )
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # noqa: SIM115
    try:
        entries = format_.write(package, out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    audit_record(
        actor=user,
        action="document.export",
        target=client,
        request=request,
    )
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    return ExportResult(
        file=out,
        file_name=f"dokumente-{client.pk}-{stamp}{format_.extension}",
        content_type=format_.content_type,
        entries=entries,
    )


def document_efile_mark(
    *, actor: Any, document: Document, in_efile: bool, request: HttpRequest | None = None
) -> Document:
    """Record that `document` was taken into the authority's e-file (or take that back).
    Audited as "document.efile_mark" / "document.efile_unmark"; marking twice changes nothing.

    Only documents that passed the virus check can go into the e-file.
    """
    if not can_change_client_documents(user=actor, client=document.client):
        raise PermissionDeniedError(_("You cannot change this document."))
    if in_efile and not (
        document.status == DocumentStatus.READY and document.scan_status == ScanStatus.CLEAN
    ):
        raise ApplicationError(
            _("Only documents that passed the virus check can be taken into the e-file.")
        )
    if document.is_in_efile == in_efile:
        return document
    now = timezone.now()
    with transaction.atomic():
        changed = Document.objects.filter(pk=document.pk, is_in_efile=not in_efile).update(
            is_in_efile=in_efile,
            efile_marked_at=now if in_efile else None,
            efile_marked_by=actor if in_efile else None,
        )
        if changed:
            audit_record(
                actor=actor,
                action="document.efile_mark" if in_efile else "document.efile_unmark",
                target=document,
                request=request,
            )
    document.is_in_efile = in_efile
    document.efile_marked_at = now if in_efile else None
    document.efile_marked_by = actor if in_efile else None
    return document


def documents_efile_mark_handed_over(
    *, actor: Any, document_ids: list[int], at: datetime.datetime
) -> set[int]:
    """Set the e-file mark on documents handed over in an xdomea message (the e-file app
    audits the hand-over as a whole). Returns the ids that were not marked before."""
    unmarked = set(
        Document.objects.filter(pk__in=document_ids, is_in_efile=False).values_list("pk", flat=True)
    )
    Document.objects.filter(pk__in=unmarked).update(
        is_in_efile=True, efile_marked_at=at, efile_marked_by=actor
    )
    return unmarked


def documents_efile_unmark_handed_over(*, document_ids: list[int]) -> None:
    """Take back the marks a withdrawn hand-over set (the e-file app audits the withdrawal)."""
    Document.objects.filter(pk__in=document_ids).update(
        is_in_efile=False, efile_marked_at=None, efile_marked_by=None
    )
