"""What goes into the e-file: one `SourceKind` per kind of record. Each lists a client's
records that may leave (as `Record`s, without reading their files) and reads one record's
file on demand. A new kind (the forms of the eforms app) plugs in by adding a class to
`SOURCE_KINDS`; the message builder, the marks and the pages need no change."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.models import Decision, DeliveryEvent, PlanVersion
from sprechstunde.agreements.pdf_exports import delivery_log_pdf
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError
from sprechstunde.documents.choices import Side
from sprechstunde.documents.services import exportable_documents, read_for_export

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


class DocumentKind:
    """The documents sent by the client or staff: READY and found clean, as the ZIP export
    takes them (the checked PDF, else the original)."""

    key = "document"

    def records(self, *, client: Client) -> Iterator[Record]:

        matter = Matter(DOCUMENTS_MATTER, str(_("Documents sent")), str(_("Documents")))
        for document in exportable_documents(client=client):
            incoming = document.uploaded_by_side == Side.CLIENT
            yield Record(
                kind=self.key,
                key=str(document.pk),
                matter=matter,
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


SOURCE_KINDS: list[SourceKind] = [DocumentKind(), DecisionKind(), DeliveryLogKind(), PlanKind()]


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
