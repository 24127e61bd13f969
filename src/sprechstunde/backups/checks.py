"""After a restore (or any day): prove the instance's data is whole and readable.

Three checks, each over everything: the audit chain is intact; every stored document blob
(originals, PDFs, previews, files still waiting, data exports) decrypts with its data key,
and single-file originals and exports still match their recorded SHA-256; every sealed decision and
confirmation still validates against the platform's seal roots. Problems name only ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sprechstunde.agreements.models import Confirmation, Decision
from sprechstunde.audit.selectors import audit_chain_verify
from sprechstunde.documents.models import Document, DocumentPreview
from sprechstunde.documents.storage_crypto import DecryptionError, blob_read, unwrap_key
from sprechstunde.signatures.services import pdf_validate
from sprechstunde.subject_access.models import DataExport


@dataclass
class InstanceCheck:
    """Counts of what was checked, and one line per problem (ids only, no personal data)."""

    audit_entries: int = 0
    audit_head: str = ""
    documents: int = 0
    blobs: int = 0
    data_exports: int = 0
    seals: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return not self.problems


def _read(name: str, data_key: bytes, label: str, check: InstanceCheck) -> bytes | None:
    try:
        data = blob_read(name, data_key=data_key)
    except FileNotFoundError:
        check.problems.append(f"{label}: blob {name} is missing")
        return None
    except DecryptionError as error:
        check.problems.append(f"{label}: blob {name} does not decrypt ({error})")
        return None
    check.blobs += 1
    return data


def _check_documents(check: InstanceCheck) -> None:
    previews: dict[int, list[str]] = {}
    for document_id, name in DocumentPreview.objects.values_list("document_id", "storage_name"):
        previews.setdefault(document_id, []).append(name)
    rows = Document.objects.order_by("pk").values_list(
        "pk", "wrapped_key", "key_id", "original_storage_name", "pdf_storage_name", "incoming",
        "sha256",
    )  # fmt: skip
    for pk, wrapped, key_id, original, pdf, incoming, sha256 in rows.iterator(chunk_size=500):
        names = [original, pdf, *(entry.get("name", "") for entry in incoming or [])]
        names += previews.get(pk, [])
        names = [name for name in names if name]
        if not names:
            continue
        check.documents += 1
        label = f"document {pk}"
        if not wrapped:
            check.problems.append(f"{label}: blobs without a data key")
            continue
        try:
            data_key = unwrap_key(bytes(wrapped), key_id)
        except DecryptionError as error:
            check.problems.append(f"{label}: data key does not unwrap ({error})")
            continue
        for name in names:
            data = _read(name, data_key, label, check)
            if (
                data is not None
                and name == original
                and original != pdf  # several files: the PDF stands in for them, no hash
                and sha256
                and hashlib.sha256(data).hexdigest() != sha256
            ):
                check.problems.append(f"{label}: original does not match its SHA-256")


def _check_data_exports(check: InstanceCheck) -> None:
    rows = DataExport.objects.exclude(storage_name="").filter(deleted_at__isnull=True)
    for pk, name, wrapped, key_id, sha256 in rows.values_list(
        "pk", "storage_name", "wrapped_key", "key_id", "sha256"
    ):
        check.data_exports += 1
        label = f"data export {pk}"
        try:
            data_key = unwrap_key(bytes(wrapped or b""), key_id)
        except DecryptionError as error:
            check.problems.append(f"{label}: data key does not unwrap ({error})")
            continue
        data = _read(name, data_key, label, check)
        if data is not None and sha256 and hashlib.sha256(data).hexdigest() != sha256:
            check.problems.append(f"{label}: file does not match its SHA-256")


def _check_seals(check: InstanceCheck) -> None:
    for model, kind in ((Decision, "decision"), (Confirmation, "confirmation")):
        rows = model.objects.exclude(pdf=None).order_by("pk").values_list("pk", "pdf")
        for pk, pdf in rows.iterator(chunk_size=20):  # a few PDFs in memory at a time
            check.seals += 1
            report = pdf_validate(pdf=bytes(pdf or b""), platform_only=True)
            if not report.is_valid:
                codes = ", ".join(sorted(set(report.problem_codes))) or "not valid"
                check.problems.append(f"{kind} {pk}: seal does not validate ({codes})")


def instance_check() -> InstanceCheck:
    """Run the three checks over the whole instance (reads every blob and sealed PDF)."""
    check = InstanceCheck()
    report = audit_chain_verify()
    check.audit_entries = report.entry_count
    check.audit_head = f"{report.head_sequence}:{report.head_hash}"
    if report.problem is not None:
        check.problems.append(
            f"audit chain broken at sequence {report.problem.sequence}: {report.problem.reason}"
        )
    _check_documents(check)
    _check_data_exports(check)
    _check_seals(check)
    return check
