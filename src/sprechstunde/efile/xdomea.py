"""The xdomea 3.0.0 message "Abgabe.Abgabe.0401" (ADR 0076): the client's file (Akte) with
one matter (Vorgang) per group of records and one Dokument per record, each with its primary
document in the same ZIP. Built with lxml; the tests validate it against the official XSD.

IDs are stable: the file, each matter and each record get a name-based UUID (v5) under this
installation's SITE_URL, so a second hand-over files into the same Akte and Vorgang."""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils import timezone
from lxml import etree

from sprechstunde.clients.models import Client

from .sources import Record

NAMESPACE = "urn:xoev-de:xdomea:schema:3.0.0"
MESSAGE_TYPE = "0401"
MESSAGE_NAME = "Abgabe.Abgabe.0401"
# Our own fields on each Dokument (AnwendungsspezifischeErweiterung): the SHA-256 of its
# primary document and what the record is in Sprechstunde.
EXTENSION_ID = "urn:sprechstunde:efile:1"
HASH_FIELD = "SHA-256"
KIND_FIELD = "Art"
KEY_FIELD = "Schluessel"

_X = f"{{{NAMESPACE}}}"

# Codes of the xdomea code list "Dateiformat" 1.0 (PDF/A: 044 "Portable Document Format
# (Archival)"; what we cannot name: 100 "Sonstiges").
_FORMATS = {
    "application/pdf": ("018", "pdf"),
    "image/jpeg": ("011", "jpg"),
    "image/png": ("019", "png"),
    "image/tiff": ("023", "tif"),
    # The list has no code for JSON (a form's answers): "Sonstiges" with its media type.
    "application/json": ("100", "json"),
}
_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)
_PDF_A_KINDS = {"decision", "plan_version", "delivery_log", "form"}
_OTHER_FORMAT = "100"


def stable_id(*parts: object) -> str:
    base = "/".join(str(part) for part in parts)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.SITE_URL}/efile/{base}"))


def record_id(record: Record) -> str:
    return stable_id(record.kind, record.key)


@dataclass(frozen=True)
class PrimaryDocument:
    """A record as the message describes it (its file is in the ZIP, not here)."""

    record: Record
    object_id: str
    file_name: str
    content_type: str
    sha256: str
    format_version: str  # of the file format, e.g. "1.7" for a PDF; "" when unknown


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _X + name)
    if text is not None:
        element.text = text
    return element


def _code(parent: etree._Element, name: str, code: str, *, list_uri: str, version: str) -> None:
    element = _sub(parent, name)
    element.set("listURI", list_uri)
    element.set("listVersionID", version)
    etree.SubElement(element, "code").text = code


def _institution(parent: etree._Element, name: str, unit: str = "") -> None:
    contact = _sub(parent, name)
    institution = _sub(contact, "Institution")
    _sub(institution, "Name", str(settings.JOBCENTER_NAME))
    if unit:
        _sub(_sub(contact, "Organisationseinheit"), "Name", unit)


def _iso(value: datetime.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def _pdf_version(data: bytes) -> str:
    if data.startswith(b"%PDF-") and data[6:7] == b".":
        return data[5:8].decode("ascii", "replace")
    return ""


def _dokument(parent: etree._Element, item: PrimaryDocument, position: int) -> None:
    record = item.record
    dokument = _sub(parent, "Dokument")
    ident = _sub(dokument, "Identifikation")
    _sub(ident, "ID", item.object_id)
    _sub(ident, "NummerImUebergeordnetenContainer", str(position))
    meta = _sub(dokument, "AllgemeineMetadaten")
    _sub(meta, "Betreff", record.title)
    day = timezone.localtime(record.created_at).date().isoformat()
    _sub(dokument, "Posteingangsdatum" if record.incoming else "Postausgangsdatum", day)
    if record.reference:
        _sub(dokument, "Bezug", record.reference)
    _sub(dokument, "Typ", record.type_label)
    version = _sub(dokument, "Version")
    _sub(version, "Nummer", "1")
    file_format = _sub(version, "Format")
    code, _suffix = _FORMATS.get(item.content_type, (_OTHER_FORMAT, "bin"))
    if code == "018" and record.kind in _PDF_A_KINDS:
        code = "044"
    _code(
        file_format,
        "Name",
        code,
        list_uri="urn:xoev-de:xdomea:codeliste:dateiformat",
        version="1.0",
    )
    if code == _OTHER_FORMAT:
        _sub(file_format, "SonstigerName", item.content_type)
    _sub(file_format, "Version", item.format_version)
    primary = _sub(file_format, "Primaerdokument")
    _sub(primary, "Dateiname", item.file_name)
    if record.original_name:
        _sub(primary, "DateinameOriginal", record.original_name)
    _sub(primary, "Ersteller", record.author)
    _sub(primary, "DatumUhrzeit", _iso(record.created_at))
    extension = _sub(dokument, "AnwendungsspezifischeErweiterung")
    _sub(extension, "Kennung", EXTENSION_ID)
    _sub(extension, "Name", "Sprechstunde")
    for name, value in (
        (HASH_FIELD, item.sha256),
        (KIND_FIELD, record.kind),
        (KEY_FIELD, record.key),
    ):
        field = _sub(extension, "Feld")
        _sub(field, "Name", name)
        _sub(field, "Wert", value)


def message_xml(
    *,
    client: Client,
    process_id: str,
    created_at: datetime.datetime,
    documents: Iterable[PrimaryDocument],
    note: str = "",
) -> bytes:
    """The 0401 message as UTF-8 XML."""
    root = etree.Element(_X + MESSAGE_NAME, nsmap={"xdomea": NAMESPACE})
    head = _sub(root, "Kopf")
    _sub(head, "ProzessID", process_id)
    _code(
        head,
        "Nachrichtentyp",
        MESSAGE_TYPE,
        list_uri="urn:xoev-de:xdomea:codeliste:nachrichtentyp",
        version="2.0",
    )
    _sub(head, "Erstellungszeitpunkt", _iso(created_at))
    _institution(head, "Absender", "Sprechstunde")
    _institution(head, "Empfaenger", "E-Akte")
    system = _sub(head, "SendendesSystem")
    _sub(system, "InstanzID", str(settings.SITE_URL))
    _sub(system, "Produktname", "Sprechstunde")
    if note:
        _sub(head, "Hinweis", note)
    # The e-file system answers with an import confirmation (0402); no receipt (0403).
    _sub(head, "Importbestaetigung", "1")  # fixed by the schema
    _sub(head, "Empfangsbestaetigung", "0")

    wrapper = _sub(root, "Schriftgutobjekt")
    akte = _sub(wrapper, "Akte")
    _sub(_sub(akte, "Identifikation"), "ID", stable_id("client", client.pk))
    meta = _sub(akte, "AllgemeineMetadaten")
    _sub(meta, "Betreff", client.full_name)
    if client.customer_number:
        _sub(meta, "Kennzeichen", client.customer_number)
    _sub(akte, "Typ", "Sprechstunde")
    content = _sub(akte, "Akteninhalt")
    matters: dict[str, tuple[etree._Element, int]] = {}
    for item in documents:
        matter = item.record.matter
        if matter.key not in matters:
            vorgang = _sub(content, "Vorgang")
            ident = _sub(vorgang, "Identifikation")
            _sub(ident, "ID", stable_id("client", client.pk, "matter", matter.key))
            _sub(ident, "NummerImUebergeordnetenContainer", str(len(matters) + 1))
            _sub(_sub(vorgang, "AllgemeineMetadaten"), "Betreff", matter.title)
            _sub(vorgang, "Typ", matter.kind_label)
            matters[matter.key] = (vorgang, 0)
        vorgang, count = matters[matter.key]
        matters[matter.key] = (vorgang, count + 1)
        _dokument(vorgang, item, count + 1)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def message_file_name(process_id: str) -> str:
    return f"{process_id}_{MESSAGE_NAME}"


def _file_name(object_id: str, title: str, content_type: str) -> str:
    """`<uuid>_<title>.<ext>` as xdomea names primary documents: ASCII, no path."""
    text = unicodedata.normalize("NFKD", title.translate(_TRANSLITERATION))
    stem = re.sub(r"[^A-Za-z0-9]+", "-", text.encode("ascii", "ignore").decode("ascii"))
    stem = stem.strip("-")[:60].rstrip("-") or "dokument"
    suffix = _FORMATS.get(content_type, (_OTHER_FORMAT, "bin"))[1]
    return f"{object_id}_{stem}.{suffix}"


def message_write(
    out: IO[bytes],
    *,
    client: Client,
    process_id: str,
    created_at: datetime.datetime,
    records: list[Record],
    note: str = "",
) -> list[PrimaryDocument]:
    """The message as xdomea transports it: one ZIP named after the process id, holding every
    primary document under its `Dateiname` and the XML. Files are read and written one at a
    time (the XML, which needs their hashes, comes last), so a large set never sits in memory.
    Raises ApplicationError when a record's file fails its check."""
    stamp = timezone.localtime(created_at)
    date_time = (
        max(stamp.year, 1980),
        stamp.month,
        stamp.day,
        stamp.hour,
        stamp.minute,
        stamp.second,
    )
    documents: list[PrimaryDocument] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            data, content_type = record.read()
            object_id = record_id(record)
            item = PrimaryDocument(
                record=record,
                object_id=object_id,
                file_name=_file_name(object_id, record.title, content_type),
                content_type=content_type,
                sha256=hashlib.sha256(data).hexdigest(),
                format_version=_pdf_version(data),
            )
            info = zipfile.ZipInfo(item.file_name, date_time)
            info.compress_type = zipfile.ZIP_STORED  # PDFs and photos are compressed already
            archive.writestr(info, data)
            documents.append(item)
            del data
        xml = message_xml(
            client=client,
            process_id=process_id,
            created_at=created_at,
            documents=documents,
            note=note,
        )
        info = zipfile.ZipInfo(f"{message_file_name(process_id)}.xml", date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, xml)
    return documents
