"""What goes into a copy of a client's data, and the ZIP it is written to.

`collect` reads every record of the client from every app (this app sits above all of them,
like `reporting`, and only reads); `write_zip` writes `index.html` (readable offline, no
outside resources), `data.json`, the client's documents as the documents app checked them,
and the PDFs of her plans, decisions and confirmations. Secrets (token and code hashes,
storage names, wrapped keys) never go in.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import logging
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.agreements.models import (
    Confirmation,
    CooperationPlan,
    Decision,
    DeliveryEvent,
    PlanComment,
    PlanVersion,
    PostalDelivery,
)
from sprechstunde.appointments.models import Appointment, SlotProposal
from sprechstunde.audit.actions import action_label
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Client, Consent, Invitation
from sprechstunde.core.errors import ApplicationError
from sprechstunde.documents.models import Document, DocumentRequest
from sprechstunde.documents.services import read_for_export
from sprechstunde.documents.services.export import export_file_name
from sprechstunde.eforms.models import FormAttachment, FormEvent, FormSubmission
from sprechstunde.messaging.models import Message, MessageAttachment
from sprechstunde.video_calls.models import Call, InterpreterInvitation, Participant, Presence

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1

# Field names that are secrets or storage internals, never personal information of hers.
_SECRET_PARTS = ("hash", "token", "secret", "storage_name")
_INTERNAL_FIELDS = frozenset(
    {
        "wrapped_key",
        "key_id",
        "incoming",
        "client_msg_id",
        "processing_started_at",
        "processing_attempts",
        "processing_queued_at",
        "seal_attempts",
        "next_seal_at",
    }
)

# Why each role reads a client's data: CJEU C-579/21 asks for the time and purpose of each
# consultation; the role names the purpose (ADR 0064).
_PURPOSE_BY_ROLE: dict[str, Any] = {
    Role.CASE_MANAGER: _("Advice, placement and benefits in your case (SGB II)"),
    Role.TEAM_LEAD: _("Supervision and substitution in the team"),
    Role.ADMIN: _("Administration of the system"),
    Role.DATA_PROTECTION_OFFICER: _("Data-protection oversight"),
}

Progress = Callable[[int], None]


@dataclass
class PackageFile:
    """A file in the ZIP: where it goes, what it is, and how to read its bytes."""

    path: str
    kind: str
    title: str
    record_id: str
    read: Callable[[], bytes]
    sha256: str = ""
    size: int = 0
    problem: str = ""


@dataclass
class Package:
    """Everything of one client: the JSON sections, the files, and the access log."""

    client: Client
    made_at: datetime.datetime
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: list[PackageFile] = field(default_factory=list)
    access_log: list[dict[str, Any]] = field(default_factory=list)


class _Users:
    """Names of the accounts the records point to, read once per account."""

    def __init__(self) -> None:
        self._labels: dict[int, str] = {}

    def label(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in self._labels:
            user = User.objects.filter(pk=user_id).first()
            self._labels[user_id] = user.display_name if user else str(_("deleted account"))
        return self._labels[user_id]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _is_secret(name: str) -> bool:
    return name in _INTERNAL_FIELDS or any(part in name for part in _SECRET_PARTS)


def record(obj: models.Model, users: _Users, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """One row as plain JSON: every field but secrets and binaries; accounts by name,
    other links by id, choices with their label."""
    skipped = set(exclude)
    row: dict[str, Any] = {}
    for model_field in obj._meta.concrete_fields:
        name = model_field.name
        if name in skipped or _is_secret(name) or isinstance(model_field, models.BinaryField):
            continue
        if model_field.is_relation:
            value = getattr(obj, model_field.attname)
            if model_field.related_model is User:
                row[name] = users.label(value)
            else:
                row[model_field.attname] = _plain(value)
            continue
        value = getattr(obj, model_field.attname)
        row[name] = _plain(value)
        if model_field.choices and value not in (None, ""):
            row[f"{name}_label"] = str(getattr(obj, f"get_{name}_display")())
    return row


def _rows(queryset: models.QuerySet[Any], users: _Users, **options: Any) -> list[dict[str, Any]]:
    return [record(obj, users, **options) for obj in queryset]


def staff_label(user: User | None, *, with_names: bool) -> str:
    """How a staff member appears in the access log: role and team; the name as well only
    where the authority has chosen to give names (DATA_EXPORT_STAFF_NAMES, ADR 0064)."""
    if user is None:
        return str(_("Staff member (account since removed)"))
    label = str(user.get_role_display())
    if user.team_id is not None:
        label = gettext("%(role)s, %(team)s") % {"role": label, "team": user.team}
    if with_names and user.get_full_name():
        label = f"{user.get_full_name()} ({label})"
    return label


def access_log_for(client: Client) -> list[dict[str, Any]]:
    """Every entry of the audit trail filed under this client, oldest first: when, what,
    who (by role and team, see staff_label) and for which purpose. Never an IP address."""
    with_names = bool(getattr(settings, "DATA_EXPORT_STAFF_NAMES", False))
    entries = list(AuditEntry.objects.filter(client_id=client.pk).order_by("sequence"))
    staff_ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    accounts = {
        user.pk: user for user in User.objects.filter(pk__in=staff_ids).select_related("team")
    }
    log: list[dict[str, Any]] = []
    for entry in entries:
        user = accounts.get(entry.actor_id) if entry.actor_id is not None else None
        if entry.actor_id is not None and entry.actor_id == client.user_id:
            who, purpose = str(_("You")), str(_("Your own use of the portal"))
        elif entry.actor_label == "system":
            who, purpose = str(_("The system (automatic)")), str(_("Automatic processing"))
        elif entry.actor_label == "anonymous":
            who, purpose = str(_("Someone not logged in")), ""
        elif user is not None and user.is_client:
            who, purpose = str(_("Another portal account")), ""
        else:
            who = staff_label(user, with_names=with_names)
            role = getattr(user, "role", "")
            purpose = str(_PURPOSE_BY_ROLE.get(role, _("Work of the Jobcenter")))
        log.append(
            {
                "at": _plain(entry.at),
                "action": entry.action,
                "action_label": action_label(entry.action),
                "who": who,
                "purpose": purpose,
                "object": f"{entry.target_type}:{entry.target_id}".rstrip(":"),
                "repeated": entry.repeat_count,
            }
        )
    return log


def _profile(client: Client, users: _Users) -> list[dict[str, Any]]:
    row = record(client, users, exclude=("user",))
    account = client.user
    if account is not None:
        row["portal_account"] = {
            "email": account.email,
            "preferred_language": account.preferred_language,
            "created_at": _plain(account.date_joined),
            "last_login": _plain(account.last_login),
        }
    return [row]


def _consents(client: Client, users: _Users) -> list[dict[str, Any]]:
    rows = []
    for consent in (
        Consent.objects.filter(client=client).select_related("text").order_by("given_at")
    ):
        row = record(consent, users)
        row["text"] = {
            "title": consent.text.title,
            "version": consent.text.version,
            "language": consent.text.language,
            "body": consent.text.body,
        }
        rows.append(row)
    return rows


def _document_file(document: Document, position: int, used: set[str]) -> PackageFile:
    """A READY, clean document goes in as the documents app serves it (read_for_export);
    its name is fixed before reading, so the file is read only while the ZIP is written."""
    content_type = (
        "application/pdf"
        if document.pdf_storage_name
        else (document.original_content_type or document.content_type)
    )
    name = export_file_name(document, position=position, used=used, content_type=content_type)
    return PackageFile(
        path=f"documents/{name}",
        kind="document",
        title=document.title,
        record_id=str(document.pk),
        read=lambda: read_for_export(document)[0],
    )


def _pdf_file(path: str, kind: str, title: str, record_id: Any, data: Any) -> PackageFile:
    payload = bytes(data)
    return PackageFile(
        path=path, kind=kind, title=title, record_id=str(record_id), read=lambda: payload
    )


def collect(client: Client, *, progress: Progress | None = None) -> Package:
    """Read everything stored about `client` into a Package (files are read later)."""
    users = _Users()
    package = Package(client=client, made_at=timezone.now())
    step = progress or (lambda percent: None)
    sections = package.sections

    sections["profile"] = _profile(client, users)
    sections["invitations"] = _rows(Invitation.objects.filter(client=client), users)
    sections["consents"] = _consents(client, users)
    step(10)

    appointments = Appointment.objects.filter(client=client).order_by("starts_at", "pk")
    sections["appointments"] = _rows(appointments, users)
    sections["slot_proposals"] = _rows(
        SlotProposal.objects.filter(appointment__client=client).order_by("pk"), users
    )
    calls = Call.objects.filter(appointment__client=client).order_by("pk")
    sections["calls"] = _rows(calls, users)
    sections["call_participants"] = _rows(
        Participant.objects.filter(call__appointment__client=client).order_by("pk"), users
    )
    sections["call_presences"] = _rows(
        Presence.objects.filter(participant__call__appointment__client=client).order_by("pk"),
        users,
    )
    sections["interpreter_invitations"] = _rows(
        InterpreterInvitation.objects.filter(call__appointment__client=client).order_by("pk"),
        users,
    )
    step(25)

    sections["messages"] = _rows(
        Message.objects.filter(conversation__client=client).order_by("created_at", "pk"), users
    )
    sections["message_attachments"] = _rows(
        MessageAttachment.objects.filter(message__conversation__client=client).order_by("pk"),
        users,
    )
    step(35)

    sections["document_requests"] = _rows(DocumentRequest.objects.filter(client=client), users)
    documents = list(Document.objects.filter(client=client).order_by("created_at", "pk"))
    document_rows = []
    used: set[str] = set()
    for position, document in enumerate(documents, start=1):
        row = record(document, users)
        if document.status == "ready" and document.scan_status == "clean":
            package_file = _document_file(document, position, used)
            package.files.append(package_file)
            row["file"] = package_file.path
        else:
            # Refused or quarantined files are never handed out again (they may be harmful).
            row["file"] = None
        document_rows.append(row)
    sections["documents"] = document_rows
    step(45)

    plans = CooperationPlan.objects.filter(client=client).order_by("pk")
    sections["plans"] = _rows(plans, users)
    versions = PlanVersion.objects.filter(plan__client=client).order_by("plan_id", "number")
    version_rows = []
    for version in versions:
        row = record(version, users)
        if version.pdf:
            path = f"plans/plan-{version.plan_id}-version-{version.number}.pdf"
            title = gettext("Cooperation plan, version %(number)s") % {"number": version.number}
            package.files.append(_pdf_file(path, "plan", title, version.pk, version.pdf))
            row["file"] = path
        version_rows.append(row)
    sections["plan_versions"] = version_rows
    sections["plan_comments"] = _rows(
        PlanComment.objects.filter(plan__client=client).order_by("pk"), users
    )

    decision_rows = []
    for decision in Decision.objects.filter(client=client).order_by("created_at", "pk"):
        row = record(decision, users)
        if decision.pdf:
            path = f"decisions/decision-{decision.pk}.pdf"
            title = gettext("Decision %(reference)s") % {
                "reference": decision.reference or decision.pk
            }
            package.files.append(_pdf_file(path, "decision", title, decision.pk, decision.pdf))
            row["file"] = path
        decision_rows.append(row)
    sections["decisions"] = decision_rows
    sections["delivery_events"] = _rows(
        DeliveryEvent.objects.filter(decision__client=client).order_by("decision_id", "sequence"),
        users,
    )
    sections["postal_deliveries"] = _rows(
        PostalDelivery.objects.filter(decision__client=client).order_by("pk"), users
    )
    confirmation_rows = []
    for confirmation in Confirmation.objects.filter(client=client).order_by("pk"):
        row = record(confirmation, users)
        if confirmation.pdf:
            path = f"confirmations/confirmation-{confirmation.pk}.pdf"
            title = gettext("Confirmation %(number)s") % {"number": confirmation.pk}
            package.files.append(
                _pdf_file(path, "confirmation", title, confirmation.pk, confirmation.pdf)
            )
            row["file"] = path
        confirmation_rows.append(row)
    sections["confirmations"] = confirmation_rows
    step(55)

    # Her forms: the answers as stored, and where their PDF and JSON are in this copy (both
    # are her documents, above).
    file_of = {row["id"]: row["file"] for row in document_rows}
    form_rows = []
    submissions = FormSubmission.objects.filter(client=client).select_related("definition")
    for submission in submissions.order_by("created_at", "pk"):
        row = record(submission, users)
        row["form"] = submission.definition.slug
        row["form_version"] = submission.definition.version
        row["pdf_file"] = file_of.get(submission.pdf_document_id)
        row["data_file"] = file_of.get(submission.data_document_id)
        form_rows.append(row)
    sections["form_submissions"] = form_rows
    sections["form_attachments"] = _rows(
        FormAttachment.objects.filter(submission__client=client).order_by("pk"), users
    )
    sections["form_events"] = _rows(
        FormEvent.objects.filter(submission__client=client).order_by("created_at", "pk"), users
    )

    package.access_log = access_log_for(client)
    step(60)
    return package


def _read_files(package: Package, progress: Progress) -> Iterator[tuple[PackageFile, bytes]]:
    """Each file's bytes, one at a time. A file that fails its integrity check is left out
    and named in the index; the rest of the copy is still made."""
    total = max(len(package.files), 1)
    for number, package_file in enumerate(package.files, start=1):
        try:
            data = package_file.read()
        except ApplicationError as error:
            logger.warning("A file of data export for client %s failed", package.client.pk)
            package_file.problem = str(error.message)
            continue
        package_file.sha256 = hashlib.sha256(data).hexdigest()
        package_file.size = len(data)
        yield package_file, data
        progress(60 + int(35 * number / total))


def _data_json(package: Package) -> bytes:
    files = [
        {
            "path": item.path,
            "kind": item.kind,
            "title": item.title,
            "record_id": item.record_id,
            "sha256": item.sha256 or None,
            "size": item.size,
            "problem": item.problem or None,
        }
        for item in package.files
    ]
    document = {
        "format": "sprechstunde-data-export",
        "format_version": FORMAT_VERSION,
        "made_at": _plain(package.made_at),
        "jobcenter": settings.JOBCENTER_NAME,
        **package.sections,
        "files": files,
        "access_log": package.access_log,
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")


SECTION_TITLES = {
    "profile": _("Your details"),
    "invitations": _("Invitations to the portal"),
    "consents": _("Consents"),
    "appointments": _("Appointments"),
    "slot_proposals": _("Proposed times"),
    "calls": _("Video calls"),
    "call_participants": _("Participants of video calls"),
    "call_presences": _("Times in video calls"),
    "interpreter_invitations": _("Interpreters invited to calls"),
    "messages": _("Messages"),
    "message_attachments": _("Attachments of messages"),
    "document_requests": _("Documents asked for"),
    "documents": _("Documents"),
    "plans": _("Cooperation plans"),
    "plan_versions": _("Issued versions of plans"),
    "plan_comments": _("Comments on plans"),
    "decisions": _("Decisions"),
    "delivery_events": _("Delivery log of decisions"),
    "postal_deliveries": _("Decisions sent by post"),
    "confirmations": _("Confirmations"),
    "form_submissions": _("Your forms"),
    "form_attachments": _("Files attached to forms"),
    "form_events": _("History of forms"),
}


def _index_html(package: Package) -> bytes:
    client = package.client
    language = client.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        html = render_to_string(
            "subject_access/package_index.html",
            {
                "client": client,
                "made_at": package.made_at,
                "sections": [
                    (key, str(SECTION_TITLES.get(key, key)), len(rows))
                    for key, rows in package.sections.items()
                ],
                "files": package.files,
                "access_log": package.access_log,
                "jobcenter_name": settings.JOBCENTER_NAME,
                "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
                "jobcenter_address": getattr(settings, "JOBCENTER_ADDRESS", ""),
                "staff_names": bool(getattr(settings, "DATA_EXPORT_STAFF_NAMES", False)),
                "language": language,
            },
        )
    return html.encode("utf-8")


def write_zip(package: Package, out: IO[bytes], *, progress: Progress | None = None) -> None:
    """The files first (their hashes then go into data.json and the index), then the JSON
    and the index page."""
    step = progress or (lambda percent: None)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package_file, data in _read_files(package, step):
            archive.writestr(package_file.path, data)
        archive.writestr("data.json", _data_json(package))
        archive.writestr("index.html", _index_html(package))
    step(97)
