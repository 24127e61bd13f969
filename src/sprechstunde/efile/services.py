"""Writes of the e-file app: hand over what is new of a client (or of one matter) as an
xdomea 0401 message and mark it; withdraw a hand-over that never arrived."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents.services import (
    documents_efile_mark_handed_over,
    documents_efile_unmark_handed_over,
)
from sprechstunde.eforms.models import FormSubmission

from .models import Handover, HandoverItem
from .permissions import can_hand_over
from .selectors import records_pending
from .sources import DOCUMENT_KINDS
from .xdomea import PrimaryDocument, message_file_name, message_write

# The records that are a form's own files (its retention starts with the hand-over).
FORM_KINDS = ("form", "form_data")
# Up to this size the message stays in memory; beyond, it goes to an unlinked temp file.
SPOOL_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class HandoverResult:
    """A finished message, rewound, for the view to stream (and close)."""

    handover: Handover
    file: IO[bytes]
    file_name: str
    documents: list[PrimaryDocument]


def efile_handover_for_user(
    *, user: Any, client: Client, matter: str = "", request: HttpRequest | None = None
) -> HandoverResult:
    """Build the xdomea 0401 message of what of `client` (of one `matter`, if given) has
    not been handed over yet, mark those records as handed over and audit it as
    "efile.handover". A second call finds nothing new unless something was added.

    Raises PermissionDeniedError unless `user` may export the client's documents, and
    ApplicationError when nothing is new or a file fails its check (nothing is marked then).
    """
    if not can_hand_over(user=user, client=client):
        raise PermissionDeniedError(_("You cannot hand over this client's records."))
    # The labels in the message (matter and type names) are in the office language.
    with translation.override(settings.LANGUAGE_CODE):
        records = records_pending(client=client)
    if matter:
        records = [record for record in records if record.matter.key == matter]
    if not records:
        raise ApplicationError(_("Everything has been handed over to the e-file already."))
    now = timezone.now()
    handover = Handover(client=client, matter=matter, created_at=now, created_by=user)
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # noqa: SIM115
    try:
        documents = message_write(
            out,
            client=client,
            process_id=str(handover.process_id),
            created_at=now,
            records=records,
        )
        _mark(handover=handover, documents=documents, actor=user, request=request)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return HandoverResult(
        handover=handover,
        file=out,
        file_name=f"{message_file_name(str(handover.process_id))}.zip",
        documents=documents,
    )


def _mark(
    *,
    handover: Handover,
    documents: list[PrimaryDocument],
    actor: Any,
    request: HttpRequest | None,
) -> None:
    try:
        with transaction.atomic():
            handover.save()
            document_ids = [
                int(item.record.key) for item in documents if item.record.kind in DOCUMENT_KINDS
            ]
            newly_marked = documents_efile_mark_handed_over(
                actor=actor, document_ids=document_ids, at=handover.created_at
            )
            # The forms' retention period starts when they reach the e-file.
            form_documents = [
                int(item.record.key) for item in documents if item.record.kind in FORM_KINDS
            ]
            if form_documents:
                FormSubmission.objects.filter(
                    Q(pdf_document_id__in=form_documents) | Q(data_document_id__in=form_documents),
                    client=handover.client,
                    handed_over_at__isnull=True,
                ).update(handed_over_at=handover.created_at)
            HandoverItem.objects.bulk_create(
                HandoverItem(
                    handover=handover,
                    kind=item.record.kind,
                    key=item.record.key,
                    object_id=item.object_id,
                    file_name=item.file_name,
                    sha256=item.sha256,
                    set_document_mark=item.record.kind in DOCUMENT_KINDS
                    and int(item.record.key) in newly_marked,
                )
                for item in documents
            )
            audit_record(
                actor=actor, action="efile.handover", target=handover.client, request=request
            )
    except IntegrityError as error:
        # Someone handed the same records over a moment ago.
        raise ApplicationError(
            _("These records were handed over a moment ago. Please reload the page.")
        ) from error


def efile_handover_withdraw(
    *, actor: Any, handover: Handover, request: HttpRequest | None = None
) -> None:
    """Take a hand-over back (the e-file never imported it): its records count as new
    again and the e-file marks it set on documents are removed. Audited."""
    if not can_hand_over(user=actor, client=handover.client):
        raise PermissionDeniedError(_("You cannot hand over this client's records."))
    with transaction.atomic():
        document_ids = [
            int(key)
            for key in handover.items.filter(
                kind__in=DOCUMENT_KINDS, set_document_mark=True
            ).values_list("key", flat=True)
        ]
        documents_efile_unmark_handed_over(document_ids=document_ids)
        _forms_unmark(handover)
        audit_record(
            actor=actor,
            action="efile.handover_withdraw",
            target=handover.client,
            request=request,
        )
        handover.delete()


def _forms_unmark(handover: Handover) -> None:
    """A withdrawn hand-over: forms none of whose records went in another one count as not
    handed over again (their retention period has not started)."""
    withdrawn = {
        int(key) for key in handover.items.filter(kind__in=FORM_KINDS).values_list("key", flat=True)
    }
    if not withdrawn:
        return
    elsewhere = {
        int(key)
        for key in HandoverItem.objects.filter(
            kind__in=FORM_KINDS, handover__client=handover.client
        )
        .exclude(handover=handover)
        .values_list("key", flat=True)
    }
    for submission in FormSubmission.objects.filter(
        Q(pdf_document_id__in=withdrawn) | Q(data_document_id__in=withdrawn),
        client=handover.client,
    ):
        if {submission.pdf_document_id, submission.data_document_id} & elsewhere:
            continue
        FormSubmission.objects.filter(pk=submission.pk).update(handed_over_at=None)
