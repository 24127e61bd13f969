"""What goes into the e-file: one `SourceKind` per kind of record. Each lists a client's
records that may leave (as `Record`s, without reading their files) and reads one record's
file on demand. A new kind plugs in by adding a class to `SOURCE_KINDS`; the message
builder, the marks and the pages need no change (the forms of the eforms app did so)."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.models import Decision, DeliveryEvent, PlanVersion
from sprechstunde.agreements.pdf_exports import delivery_log_pdf
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError
from sprechstunde.documents.choices import DocumentStatus, Side
from sprechstunde.documents.models import Document
from sprechstunde.documents.services import exportable_documents, read_for_export
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormAttachment, FormSubmission

from .models import HandoverItem

# Matters (Vorgänge) under the client's file (Akte): every document the client or staff
# sent goes into one; each decision and each plan is a matter of its own.
DOCUMENTS_MATTER = "documents"


@dataclass(frozen=True)
class Matter:
    """A Vorgang in the message: a stable key (also in the form's choice) and its subject."""

    key: str
    title: str
    kind_label: str


@dataclass(frozen=True)
class Record:
    """One record that may go into the e-file. `read` returns (bytes, content type) and
    raises ApplicationError when the file fails its check."""

    kind: str
    key: str
    matter: Matter
    title: str
    type_label: str
    created_at: datetime.datetime
    incoming: bool  # received from the client (Posteingang) or sent by the Jobcenter
    original_name: str
    author: str
    reference: str
    read: Callable[[], tuple[bytes, str]]


class SourceKind(Protocol):
    key: str

    def records(self, *, client: Client) -> Iterator[Record]: ...


def _checked(data: bytes, expected: str) -> bytes:
    # The stored hash was taken when the PDF was made; a mismatch means a changed blob.
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ApplicationError(
            _(
                "A record failed its integrity check (its file no longer matches the one "
                "issued); the hand-over was stopped. Please tell IT support."
            )
        )
    return data


# Kinds whose key is a document's id: handing them over sets the documents' e-file mark.
DOCUMENT_KINDS = frozenset({"document", "form", "form_data"})


def _form_rendering_ids(client: Client) -> set[int]:
    """The documents that are a form's PDF or data, or were when they went to the e-file
    (a form sent again has new ones): they go, or went, as the form's records."""
    ids: set[int] = set()
    for pdf_id, data_id in FormSubmission.objects.filter(client=client).values_list(
        "pdf_document_id", "data_document_id"
    ):
        ids.update(pk for pk in (pdf_id, data_id) if pk is not None)
    ids.update(
        int(key)
        for key in HandoverItem.objects.filter(
            handover__client=client, kind__in=("form", "form_data")
        ).values_list("key", flat=True)
    )
    return ids


def _form_matter(submission: FormSubmission) -> Matter:
    """Each submitted form is a matter of its own: its PDF, its data and its attachments."""
    from sprechstunde.eforms.services.staff import form_title

    title = form_title(submission, "de")
    if submission.submitted_at is not None:
        title = f"{title} ({timezone.localtime(submission.submitted_at).date():%d.%m.%Y})"
    return Matter(f"form-{submission.pk}", title, str(pgettext_lazy("efile", "Form")))


class DocumentKind:
    """The documents sent by the client or staff: READY and found clean, as the ZIP export
    takes them (the checked PDF, else the original). A form's attachments go into the
    form's matter; a form's own PDF and data are the form's records (FormKind)."""

    key = "document"

    def records(self, *, client: Client) -> Iterator[Record]:

        matter = Matter(DOCUMENTS_MATTER, str(_("Documents sent")), str(_("Documents")))
        renderings = _form_rendering_ids(client)
        attached: dict[int, Matter] = {}
        for attachment in FormAttachment.objects.filter(submission__client=client).select_related(
            "submission__definition"
        ):
            attached[attachment.document_id] = _form_matter(attachment.submission)
        for document in exportable_documents(client=client):
            if document.pk in renderings:
                continue
            incoming = document.uploaded_by_side == Side.CLIENT
            yield Record(
                kind=self.key,
                key=str(document.pk),
                matter=attached.get(document.pk, matter),
                title=document.title,
                type_label=str(_("Document")),
                created_at=document.created_at,
                incoming=incoming,
                original_name=document.original_name,
                author=str(_("Client")) if incoming else str(_("Jobcenter")),
                reference=document.request.title if document.request else "",
                read=partial(read_for_export, document),
            )


def _decision_matter(decision: Decision) -> Matter:
    title = decision.template.title
    if decision.reference:
        title = f"{title} ({decision.reference})"
    return Matter(f"decision-{decision.pk}", title, str(_("Decision")))


def _sealed_decisions(client: Client) -> QuerySet[Decision]:

    delivered = (DecisionStatus.IN_POSTBOX, DecisionStatus.AWAITING_POST, DecisionStatus.POSTED)
    return (
        Decision.objects.filter(client=client, status__in=delivered, pdf__isnull=False)
        .select_related("template")
        .defer("pdf", "unsealed_pdf")
        .order_by("issued_at", "pk")
    )


class DecisionKind:
    """Sealed decisions (Bescheide), as the client received them."""

    key = "decision"

    def records(self, *, client: Client) -> Iterator[Record]:

        def read(pk: int, sha256: str) -> tuple[bytes, str]:
            pdf = Decision.objects.values_list("pdf", flat=True).get(pk=pk)
            return _checked(bytes(pdf or b""), sha256), "application/pdf"

        for decision in _sealed_decisions(client):
            yield Record(
                kind=self.key,
                key=str(decision.pk),
                matter=_decision_matter(decision),
                title=decision.template.title,
                type_label=str(_("Decision")),
                created_at=decision.issued_at or decision.created_at,
                incoming=False,
                original_name="",
                author=str(settings.JOBCENTER_NAME),
                reference=decision.reference,
                read=partial(read, decision.pk, decision.pdf_sha256),
            )


class DeliveryLogKind:
    """A decision's delivery log as a PDF/A. The log grows (opened, posted): each state
    (its last entry) is a record of its own, so a grown log is handed over again."""

    key = "delivery_log"

    def records(self, *, client: Client) -> Iterator[Record]:

        decisions = list(_sealed_decisions(client))
        last: dict[int, tuple[int, datetime.datetime]] = {}
        for decision_id, sequence, at in DeliveryEvent.objects.filter(
            decision__in=[decision.pk for decision in decisions]
        ).values_list("decision_id", "sequence", "at"):
            if decision_id not in last or sequence > last[decision_id][0]:
                last[decision_id] = (sequence, at)

        def read(pk: int) -> tuple[bytes, str]:
            decision = Decision.objects.select_related("template").get(pk=pk)
            return delivery_log_pdf(decision=decision), "application/pdf"

        for decision in decisions:
            if decision.pk not in last:
                continue
            sequence, at = last[decision.pk]
            yield Record(
                kind=self.key,
                key=f"{decision.pk}:{sequence}",
                matter=_decision_matter(decision),
                title=str(pgettext_lazy("efile", "Delivery log")),
                type_label=str(pgettext_lazy("efile", "Delivery log")),
                created_at=at,
                incoming=False,
                original_name="",
                author=str(settings.JOBCENTER_NAME),
                reference=decision.reference,
                read=partial(read, decision.pk),
            )


class PlanKind:
    """Every issued version of a cooperation plan (Kooperationsplan), frozen as issued."""

    key = "plan_version"

    def records(self, *, client: Client) -> Iterator[Record]:

        def read(pk: int, sha256: str) -> tuple[bytes, str]:
            pdf = PlanVersion.objects.values_list("pdf", flat=True).get(pk=pk)
            return _checked(bytes(pdf), sha256), "application/pdf"

        versions = (
            PlanVersion.objects.filter(plan__client=client)
            .defer("pdf", "content")
            .select_related("plan")
            .order_by("plan_id", "number")
        )
        for version in versions:
            title = str(_("Cooperation plan, version %(number)s") % {"number": version.number})
            yield Record(
                kind=self.key,
                key=str(version.pk),
                matter=Matter(
                    f"plan-{version.plan_id}", str(_("Cooperation plan")), str(_("Plan"))
                ),
                title=title,
                type_label=str(_("Cooperation plan")),
                created_at=version.issued_at,
                incoming=False,
                original_name="",
                author=str(settings.JOBCENTER_NAME),
                reference="",
                read=partial(read, version.pk, version.pdf_sha256),
            )


class FormKind:
    """Submitted forms: the PDF/A-2b of the newest submission and its answers as JSON, each
    a record keyed by its document (a form sent again after a "needs more" has new ones, so
    a later hand-over adds them)."""

    key = "form"

    def records(self, *, client: Client) -> Iterator[Record]:

        submissions = (
            FormSubmission.objects.filter(client=client)
            .exclude(status=SubmissionStatus.DRAFT)
            .select_related("definition", "pdf_document", "data_document")
            .order_by("submitted_at", "pk")
        )
        for submission in submissions:
            matter = _form_matter(submission)
            for kind, document, type_label in (
                ("form", submission.pdf_document, pgettext_lazy("efile", "Form")),
                ("form_data", submission.data_document, pgettext_lazy("efile", "Form data")),
            ):
                if not isinstance(document, Document) or document.status != DocumentStatus.READY:
                    continue
                yield Record(
                    kind=kind,
                    key=str(document.pk),
                    matter=matter,
                    title=f"{matter.title}, {type_label}",
                    type_label=str(type_label),
                    created_at=submission.submitted_at or document.created_at,
                    incoming=True,
                    original_name=document.original_name,
                    author=str(_("Client")),
                    reference="",
                    read=partial(read_for_export, document),
                )


SOURCE_KINDS: list[SourceKind] = [
    DocumentKind(),
    DecisionKind(),
    DeliveryLogKind(),
    PlanKind(),
    FormKind(),
]


def client_records(*, client: Client) -> list[Record]:
    """Every record of `client` that may go into the e-file, matter by matter, oldest first."""
    records = [record for kind in SOURCE_KINDS for record in kind.records(client=client)]
    # The documents first, then each matter by its oldest record.
    first: dict[str, datetime.datetime] = {}
    for record in records:
        if record.matter.key not in first or record.created_at < first[record.matter.key]:
            first[record.matter.key] = record.created_at
    return sorted(
        records,
        key=lambda record: (
            record.matter.key != DOCUMENTS_MATTER,
            first[record.matter.key],
            record.matter.key,
            record.created_at,
        ),
    )
