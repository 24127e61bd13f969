"""The retention rules: for each kind of record, its period (a setting), the event it starts
at, its legal source, and how its rows are found and deleted. The retention job and an
erasure on request both delete through `Source.remove`, so both go everywhere the data
lives (rows, encrypted blobs, previews). docs/retention.md explains the defaults.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .choices import RecordKind

# A file no row names any more is removed once it is this old: a document being stored at
# this moment has its row within seconds, so a day leaves a wide margin.
ORPHAN_BLOB_GRACE = datetime.timedelta(days=1)
# The forms app (issue: eforms, planned) plugs in by providing this model with a `client`
# foreign key and a `handed_over_at` time (the hand-over to the e-file).
FORM_SUBMISSION_MODEL = "eforms.FormSubmission"


@dataclass(frozen=True)
class Source:
    """One set of rows of a kind: how to find them, when their period starts, whose they
    are, which matter (for a legal hold on one object) and how they are deleted."""

    queryset: Callable[[], QuerySet[Any] | None]
    start: Callable[[], Any]
    remove: Callable[[QuerySet[Any]], int]
    client_path: str | None
    matters: tuple[tuple[str, str], ...] = ()
    # A second period of the same kind (documents not yet in the e-file).
    setting: str = ""
    start_event: Promise | None = None
    erasable_on_request: bool = False
    keep_reason: Promise | None = None
    label: Callable[[Any], str] = str


@dataclass(frozen=True)
class Rule:
    """The retention rule of one kind."""

    kind: RecordKind
    setting: str
    start_event: Promise
    legal_source: str
    sources: tuple[Source, ...] = field(default=())

    @property
    def days(self) -> int:
        return int(getattr(settings, self.setting))

    def source_days(self, source: Source) -> int:
        return int(getattr(settings, source.setting or self.setting))

    def source_event(self, source: Source) -> Promise:
        return source.start_event or self.start_event

    def describe(self, source: Source | None = None) -> str:
        """The rule as the deletion record and the request page name it."""
        if source is None:
            return f"{self.setting}={self.days} ({self.start_event}; {self.legal_source})"
        setting = source.setting or self.setting
        return (
            f"{setting}={self.source_days(source)} "
            f"({self.source_event(source)}; {self.legal_source})"
        )


def _delete(queryset: QuerySet[Any]) -> int:
    """Plain rows: the ORM's delete with its cascades."""
    model = queryset.model
    return int(queryset.delete()[1].get(model._meta.label, 0))


def _raw_delete(queryset: QuerySet[Any]) -> int:
    """Rows of an append-only log (delivery events) whose whole log goes at once: the
    model refuses deletes to stop accidents, so retention deletes below its guard."""
    return int(queryset._raw_delete(queryset.db))


def _documents_remove(queryset: QuerySet[Any]) -> int:
    from sprechstunde.documents.services import documents_purge

    return documents_purge(documents=queryset)


def _previews_remove(queryset: QuerySet[Any]) -> int:
    from sprechstunde.documents.services import document_previews_purge

    return document_previews_purge(previews=queryset)


def _uploads_remove(queryset: QuerySet[Any]) -> int:
    from sprechstunde.documents.services import upload_session_abort

    sessions = list(queryset)
    for session in sessions:
        upload_session_abort(session=session)
    return len(sessions)


def _calls_remove(queryset: QuerySet[Any]) -> int:
    """A call with everything it recorded: presences, participants, interpreter links.
    Participants protect their invitation, so they go first."""
    from sprechstunde.video_calls.models import Call, InterpreterInvitation, Participant, Presence

    ids = list(queryset.values_list("pk", flat=True))
    Presence.objects.filter(participant__call_id__in=ids).delete()
    Participant.objects.filter(call_id__in=ids).delete()
    InterpreterInvitation.objects.filter(call_id__in=ids).delete()
    return int(Call.objects.filter(pk__in=ids).delete()[1].get(Call._meta.label, 0))


def _appointments_remove(queryset: QuerySet[Any]) -> int:
    """Appointments with their reminders, mails and join links; their calls first (a call
    protects its appointment)."""
    from sprechstunde.video_calls.models import Call

    ids = list(queryset.values_list("pk", flat=True))
    _calls_remove(Call.objects.filter(appointment_id__in=ids))
    return _delete(queryset.model.objects.filter(pk__in=ids))


def _clients_remove(queryset: QuerySet[Any]) -> int:
    """The client record with what hangs on it (consents, invitations, conversation,
    upload sessions) and the portal account."""
    from sprechstunde.accounts.models import User

    count = 0
    for client in list(queryset):
        user_id = client.user_id
        _documents_remove(client.documents.all())
        client.delete()
        if user_id is not None:
            User.objects.filter(pk=user_id).delete()
        count += 1
    return count


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def _form_submissions() -> QuerySet[Any] | None:
    try:
        model = apps.get_model(FORM_SUBMISSION_MODEL)
    except LookupError:
        return None  # no forms app yet: the kind is defined, and has no rows
    return model._default_manager.all()


def _clients_without_records() -> QuerySet[Any]:
    """Closed cases of which nothing with its own period is left."""
    client = OuterRef("pk")
    return (
        _model("clients.Client")
        ._default_manager.filter(
            case_closed_at__isnull=False,
            processing_restricted_at__isnull=True,
        )
        .filter(
            ~Exists(_model("appointments.Appointment")._default_manager.filter(client_id=client)),
            ~Exists(_model("documents.Document")._default_manager.filter(client_id=client)),
            ~Exists(_model("agreements.Decision")._default_manager.filter(client_id=client)),
            ~Exists(_model("agreements.CooperationPlan")._default_manager.filter(client_id=client)),
        )
    )


_SGB_X = "§ 84 SGB X, Art. 5 (1)(e) GDPR"
_KEEP_PERIOD = _("Kept until its retention period is over.")

RULES: tuple[Rule, ...] = (
    Rule(
        kind=RecordKind.OUTBOX_MAIL,
        setting="RETENTION_OUTBOX_MAIL_DAYS",
        start_event=_("the mail was kept in the dev outbox"),
        legal_source="Art. 5 (1)(c, e) GDPR",
        sources=(
            Source(
                queryset=lambda: _model("core.OutboxMessage")._default_manager.all(),
                start=lambda: models.F("created_at"),
                remove=_delete,
                client_path=None,
                erasable_on_request=True,
            ),
        ),
    ),
    Rule(
        kind=RecordKind.UPLOAD_LEFTOVER,
        setting="RETENTION_UPLOAD_LEFTOVER_DAYS",
        start_event=_("the upload was refused or last received bytes"),
        legal_source=_SGB_X,
        sources=(
            Source(
                queryset=lambda: _model("documents.Document")._default_manager.filter(
                    status__in=["refused", "quarantined", "failed"]
                ),
                start=lambda: models.F("created_at"),
                remove=_documents_remove,
                client_path="client_id",
                matters=(("documents.document", "pk"),),
                erasable_on_request=True,
                label=lambda row: row.title,
            ),
            Source(
                queryset=lambda: _model("documents.UploadSession")._default_manager.all(),
                start=lambda: models.F("updated_at"),
                remove=_uploads_remove,
                client_path="client_id",
                erasable_on_request=True,
                label=lambda row: row.original_name,
            ),
        ),
    ),
    Rule(
        kind=RecordKind.PREVIEW,
        setting="RETENTION_PREVIEW_DAYS",
        start_event=_("the document was handed over to the e-file"),
        legal_source=_SGB_X,
        sources=(
            Source(
                queryset=lambda: _model("documents.DocumentPreview")._default_manager.filter(
                    document__is_in_efile=True
                ),
                start=lambda: models.F("document__efile_marked_at"),
                remove=_previews_remove,
                client_path="document__client_id",
                matters=(("documents.document", "document_id"),),
                erasable_on_request=True,
                label=lambda row: f"{row.document_id}/{row.page_number}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.MESSAGE,
        setting="RETENTION_MESSAGE_DAYS",
        start_event=_("the message was sent"),
        legal_source=_SGB_X + "; what has lasting weight is handed over to the e-file",
        sources=(
            Source(
                queryset=lambda: _model("messaging.Message")._default_manager.all(),
                start=lambda: models.F("created_at"),
                remove=_delete,
                client_path="conversation__client_id",
                erasable_on_request=True,
                label=lambda row: f"#{row.sequence}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.CALL_RECORD,
        setting="RETENTION_CALL_RECORD_DAYS",
        start_event=_("the call ended"),
        legal_source=_SGB_X + "; attendance stays on the appointment",
        sources=(
            Source(
                queryset=lambda: _model("video_calls.Call")._default_manager.all(),
                start=lambda: Coalesce(
                    "ended_at", "closed_at", "appointment__ends_at", "created_at"
                ),
                remove=_calls_remove,
                client_path="appointment__client_id",
                matters=(("appointments.appointment", "appointment_id"),),
                erasable_on_request=True,
                label=lambda row: f"{row.appointment_id}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.DOCUMENT,
        setting="RETENTION_DOCUMENT_DAYS",
        start_event=_("the document was handed over to the e-file"),
        legal_source=_SGB_X + "; the e-file holds the record (Aktenordnung)",
        sources=(
            Source(
                queryset=lambda: _model("documents.Document")._default_manager.filter(
                    status="ready", is_in_efile=True
                ),
                start=lambda: models.F("efile_marked_at"),
                remove=_documents_remove,
                client_path="client_id",
                matters=(("documents.document", "pk"),),
                erasable_on_request=True,
                label=lambda row: row.title,
            ),
            Source(
                queryset=lambda: _model("documents.Document")._default_manager.filter(
                    status__in=["ready", "receiving", "processing"], is_in_efile=False
                ),
                start=lambda: models.F("client__case_closed_at"),
                remove=_documents_remove,
                client_path="client_id",
                matters=(("documents.document", "pk"),),
                setting="RETENTION_DOCUMENT_UNFILED_DAYS",
                start_event=_("the case was closed (document never handed over to the e-file)"),
                keep_reason=_(
                    "Not yet in the e-file: staff hand it over or decide it is not needed "
                    "(§ 84 SGB X); until then it is kept."
                ),
                label=lambda row: row.title,
            ),
        ),
    ),
    Rule(
        kind=RecordKind.APPOINTMENT,
        setting="RETENTION_APPOINTMENT_DAYS",
        start_event=_("the appointment's day"),
        legal_source=_SGB_X + "; evidence of invitations and attendance (§§ 32, 59 SGB II)",
        sources=(
            Source(
                queryset=lambda: _model("appointments.Appointment")._default_manager.all(),
                start=lambda: Coalesce("starts_at", "created_at"),
                remove=_appointments_remove,
                client_path="client_id",
                matters=(("appointments.appointment", "pk"),),
                keep_reason=_(
                    "Evidence of invitations and attendance (§§ 32, 59 SGB II): kept until "
                    "its retention period is over."
                ),
                label=lambda row: f"{row.starts_at or row.created_at:%Y-%m-%d}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.CONSENT,
        setting="RETENTION_CONSENT_DAYS",
        start_event=_("the consent was withdrawn"),
        legal_source="Art. 7 (1) GDPR (proof of consent), " + _SGB_X,
        sources=(
            Source(
                queryset=lambda: _model("clients.Consent")._default_manager.filter(
                    withdrawn_at__isnull=False
                ),
                start=lambda: models.F("withdrawn_at"),
                remove=_delete,
                client_path="client_id",
                keep_reason=_(
                    "Proof that the processing was lawful (Art. 7 (1) GDPR): kept until its "
                    "retention period is over."
                ),
                label=lambda row: row.purpose,
            ),
        ),
    ),
    Rule(
        kind=RecordKind.DELIVERY_LOG,
        setting="RETENTION_DELIVERY_LOG_DAYS",
        start_event=_("the decision was issued"),
        legal_source="§ 37 SGB X (proof of announcement), " + _SGB_X,
        sources=(
            Source(
                queryset=lambda: _model("agreements.DeliveryEvent")._default_manager.all(),
                start=lambda: Coalesce("decision__issued_at", "decision__created_at"),
                remove=_raw_delete,
                client_path="decision__client_id",
                matters=(("agreements.decision", "decision_id"),),
                keep_reason=_(
                    "Proof of when the decision was announced (§ 37 SGB X): kept as long "
                    "as the decision."
                ),
                label=lambda row: f"{row.decision_id}/{row.sequence}",
            ),
            Source(
                queryset=lambda: _model("agreements.PostalDelivery")._default_manager.all(),
                start=lambda: Coalesce("decision__issued_at", "decision__created_at"),
                remove=_delete,
                client_path="decision__client_id",
                matters=(("agreements.decision", "decision_id"),),
                keep_reason=_(
                    "Proof of when the decision was announced (§ 37 SGB X): kept as long "
                    "as the decision."
                ),
                label=lambda row: f"{row.decision_id}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.DECISION,
        setting="RETENTION_DECISION_DAYS",
        start_event=_("the decision was issued (a draft: created)"),
        legal_source=_SGB_X + "; §§ 45, 50 SGB X (withdrawal and refund up to ten years)",
        sources=(
            Source(
                queryset=lambda: _model("agreements.Decision")._default_manager.all(),
                start=lambda: Coalesce("issued_at", "created_at"),
                remove=_delete,
                client_path="client_id",
                matters=(("agreements.decision", "pk"),),
                keep_reason=_(
                    "An administrative act: kept for withdrawal and refund claims "
                    "(§§ 45, 50 SGB X) until its retention period is over; restriction "
                    "applies instead (§ 84 SGB X, Art. 18 GDPR)."
                ),
                label=lambda row: row.reference or f"{row.pk}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.PLAN,
        setting="RETENTION_PLAN_DAYS",
        start_event=_("the plan was last issued or changed"),
        legal_source=_SGB_X + "; § 15 SGB II",
        sources=(
            Source(
                queryset=lambda: _model("agreements.CooperationPlan")._default_manager.all(),
                start=lambda: models.F("updated_at"),
                remove=_delete,
                client_path="client_id",
                matters=(("agreements.cooperationplan", "pk"),),
                keep_reason=_(
                    "The cooperation plan (§ 15 SGB II) is part of the case: kept until its "
                    "retention period is over."
                ),
                label=lambda row: f"{row.pk}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.FORM_SUBMISSION,
        setting="RETENTION_FORM_SUBMISSION_DAYS",
        start_event=_("the submission was handed over to the e-file"),
        legal_source=_SGB_X + "; the e-file holds the record",
        sources=(
            Source(
                queryset=_form_submissions,
                start=lambda: models.F("handed_over_at"),
                remove=_delete,
                client_path="client_id",
                erasable_on_request=True,
            ),
        ),
    ),
    Rule(
        kind=RecordKind.CLIENT_RECORD,
        setting="RETENTION_CLIENT_RECORD_DAYS",
        start_event=_("the case was closed, once nothing with its own period is left"),
        legal_source=_SGB_X,
        sources=(
            Source(
                queryset=_clients_without_records,
                start=lambda: models.F("case_closed_at"),
                remove=_clients_remove,
                client_path="pk",
                keep_reason=_(
                    "The client record stays as long as the case is open or anything of it "
                    "must be kept."
                ),
                label=lambda row: f"{row.pk}",
            ),
        ),
    ),
    Rule(
        kind=RecordKind.AUDIT_ENTRY,
        setting="RETENTION_AUDIT_ENTRY_DAYS",
        start_event=_("the entry was written"),
        legal_source="Art. 5 (2) GDPR, § 78a SGB X (proof of lawful processing)",
    ),
)

RULES_BY_KIND: dict[str, Rule] = {rule.kind.value: rule for rule in RULES}


def start_annotated(source: Source) -> QuerySet[Any] | None:
    """The source's rows with their start event as `retention_start`."""
    queryset = source.queryset()
    if queryset is None:
        return None
    return queryset.annotate(retention_start=source.start())


def protected_filter(source: Source, *, client_ids: set[int], matters: dict[str, set[str]]) -> Q:
    """Rows a legal hold or a restriction protects."""
    condition = Q(pk__in=[])
    if source.client_path and client_ids:
        condition |= Q(**{f"{source.client_path}__in": client_ids})
    for matter_type, path in source.matters:
        ids = matters.get(matter_type)
        if ids:
            condition |= Q(**{f"{path}__in": [int(i) for i in ids if i.isdigit()]})
    return condition
