"""Reads of the staff side: the inbox of submitted forms, one submission with its answers in
German (the questions' texts of the version the client filled), its history, and a client's
forms for the client page.

Everything goes through `permissions`; reading one submission is audited as "eforms.view",
a refusal as "eforms.access_denied" (and answers 404, like a foreign client).
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest
from django.utils import formats
from django.utils.translation import gettext as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client

from . import permissions
from .choices import SubmissionStatus
from .models import FormAttachment, FormDefinition, FormEvent, FormSubmission
from .services.staff import spec_text

SUBMISSION_TARGET_TYPE = "eforms.formsubmission"
INBOX_TARGET_TYPE = "eforms.inbox"
# The file's language: the staff see the questions as the German form has them.
FILE_LANGUAGE = "de"
# The inbox's filter, in the order of a form's way.
INBOX_STATES = (
    SubmissionStatus.RECEIVED,
    SubmissionStatus.IN_PROGRESS,
    SubmissionStatus.NEEDS_MORE,
    SubmissionStatus.DONE,
)
# What a list row needs of a submission (the answers and codes stay in the database).
_ROW_FIELDS = (
    "pk",
    "client_id",
    "definition_id",
    "status",
    "outcome",
    "submitted_at",
    "submission_count",
    "updated_at",
    "assigned_to_id",
    "client__first_name",
    "client__last_name",
    "client__case_manager_id",
    "client__case_manager__first_name",
    "client__case_manager__last_name",
    "client__case_manager__role",
    "assigned_to__first_name",
    "assigned_to__last_name",
    "assigned_to__role",
)


def _rows(queryset: QuerySet[FormSubmission]) -> QuerySet[FormSubmission]:
    return queryset.select_related("client", "client__case_manager", "assigned_to").only(
        *_ROW_FIELDS
    )


def inbox_for_user(
    *,
    user: Any,
    status: str = "",
    client_id: int | None = None,
    request: HttpRequest | None = None,
) -> QuerySet[FormSubmission]:
    """The submitted forms of every client `user` may see (of one of them, with
    `client_id`), newest first, optionally in one state; audited once as "eforms.inbox"
    (the rows carry names, states and dates)."""
    queryset = permissions.submissions_visible_to_staff(user=user)
    if status in INBOX_STATES:
        queryset = queryset.filter(status=status)
    if client_id is not None:
        queryset = queryset.filter(client_id=client_id)
    audit_record(actor=user, action="eforms.inbox", target_type=INBOX_TARGET_TYPE, request=request)
    return _rows(queryset).order_by("-submitted_at", "-pk")


def inbox_counts_for_user(*, user: Any, client_id: int | None = None) -> dict[str, int]:
    """How many submissions are in each state, for the filter (one query)."""
    counts = {state.value: 0 for state in INBOX_STATES}
    queryset = permissions.submissions_visible_to_staff(user=user)
    if client_id is not None:
        queryset = queryset.filter(client_id=client_id)
    rows = queryset.order_by().values("status").annotate(count=Count("pk"))
    for row in rows:
        if row["status"] in counts:
            counts[row["status"]] = row["count"]
    return counts


def form_titles(
    submissions: list[FormSubmission], *, language: str = FILE_LANGUAGE
) -> dict[int, str]:
    """Definition id → the form's title, for a page of submissions (one query, whatever the
    number of rows)."""
    ids = {submission.definition_id for submission in submissions}
    if not ids:
        return {}
    return {
        definition.pk: spec_text((definition.spec or {}).get("title"), language) or definition.slug
        for definition in FormDefinition.objects.filter(pk__in=ids).only("pk", "slug", "spec")
    }


def decorate_rows(submissions: list[FormSubmission], *, language: str = FILE_LANGUAGE) -> None:
    """Give each row of a list its form title (`form_title`)."""
    titles = form_titles(submissions, language=language)
    for submission in submissions:
        submission.form_title = titles.get(submission.definition_id, "")  # type: ignore[attr-defined]


def submission_get_for_staff(
    *, user: Any, pk: int | str, request: HttpRequest | None = None, record_view: bool = True
) -> FormSubmission:
    """One submitted form `user` may see, audited as "eforms.view"; anything else raises
    Http404 and leaves an "eforms.access_denied" entry naming the client when it exists."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = None
    submission = None
    if key is not None:
        submission = (
            permissions.submissions_visible_to_staff(user=user)
            .select_related(
                "client",
                "client__user",
                "client__case_manager",
                "definition",
                "assigned_to",
                "pdf_document",
                "data_document",
            )
            .filter(pk=key)
            .first()
        )
    if submission is None:
        client_id = (
            FormSubmission.objects.filter(pk=key).values_list("client_id", flat=True).first()
            if key is not None
            else None
        )
        audit_record(
            actor=user,
            action="eforms.access_denied",
            target_type=SUBMISSION_TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=client_id,
            request=request,
        )
        raise Http404
    if record_view:
        audit_record(actor=user, action="eforms.view", target=submission, request=request)
    return submission


def submission_events(*, submission: FormSubmission) -> list[FormEvent]:
    """The history, oldest first, with who did each step."""
    return list(submission.events.select_related("actor").order_by("created_at", "pk"))


def submissions_of_client(*, client: Client, limit: int = 10) -> tuple[list[FormSubmission], int]:
    """A client's submitted forms for her page, newest first: the first `limit` and how
    many there are. Callers have checked access and audited the page."""
    queryset = FormSubmission.objects.filter(client=client).exclude(status=SubmissionStatus.DRAFT)
    rows = list(_rows(queryset).order_by("-submitted_at", "-pk")[:limit])
    total = len(rows) if len(rows) < limit else queryset.count()
    decorate_rows(rows)
    return rows, total


# --- the answers as the staff read them --------------------------------------------------------


@dataclass
class AnswerRow:
    """One question and its answer in German; a group has `items` (each a list of rows),
    an attachment field its `documents`."""

    key: str
    label: str
    value: str = ""
    items: list[list[AnswerRow]] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)


@dataclass
class AnswerSection:
    key: str
    title: str
    rows: list[AnswerRow]


def _money(cents: Any) -> str:
    try:
        amount = Decimal(int(str(cents))) / 100
    except (InvalidOperation, ValueError, TypeError):
        return str(cents)
    return f"{formats.number_format(amount, 2, use_l10n=True, force_grouping=True)} €"


def _date(value: Any) -> str:
    try:
        day = datetime.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return day.strftime("%d.%m.%Y")


def _iban(value: Any) -> str:
    text = str(value)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _value(spec: dict[str, Any], value: Any, language: str) -> str:
    kind = spec.get("type")
    if value is None or value == "":
        return ""
    if kind == "date":
        return _date(value)
    if kind == "money":
        return _money(value)
    if kind == "iban":
        return _iban(value)
    if kind == "yesno":
        return {"yes": _("yes"), "no": _("no")}.get(str(value), str(value))
    if kind == "choice":
        labels = {
            str(option.get("value")): spec_text(option.get("label"), language)
            for option in spec.get("options", [])
        }
        if isinstance(value, list):
            return ", ".join(labels.get(str(item), str(item)) for item in value)
        return labels.get(str(value), str(value))
    if isinstance(value, list | dict):
        return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
    return str(value)


def _field_rows(
    fields: list[dict[str, Any]],
    answers: dict[str, Any],
    *,
    language: str,
    attachments: dict[str, list[Any]],
) -> list[AnswerRow]:
    rows: list[AnswerRow] = []
    for spec in fields:
        key = str(spec.get("key", ""))
        kind = spec.get("type")
        if kind == "info" or not key:
            continue
        label = spec_text(spec.get("label"), language)
        if kind == "attachment":
            documents = attachments.get(key, [])
            if documents:
                rows.append(AnswerRow(key=key, label=label, documents=documents))
            continue
        if key not in answers:
            continue  # hidden by a condition, or not asked in this version
        if kind == "group":
            items = [
                _field_rows(spec.get("fields", []), item, language=language, attachments={})
                for item in answers.get(key) or []
                if isinstance(item, dict)
            ]
            rows.append(AnswerRow(key=key, label=label, items=items))
            continue
        rows.append(AnswerRow(key=key, label=label, value=_value(spec, answers[key], language)))
    return rows


def submission_answers(
    *, submission: FormSubmission, language: str = FILE_LANGUAGE
) -> list[AnswerSection]:
    """The answers section by section with the questions of the version the client filled,
    in `language` (German for the file); sections without an answer are left out."""
    spec = submission.definition.spec or {}
    answers = submission.answers if isinstance(submission.answers, dict) else {}
    attachments: dict[str, list[Any]] = {}
    for attachment in FormAttachment.objects.filter(submission=submission).select_related(
        "document"
    ):
        attachments.setdefault(attachment.field_key, []).append(attachment.document)
    sections = []
    for section in spec.get("sections", []):
        rows = _field_rows(
            section.get("fields", []), answers, language=language, attachments=attachments
        )
        if rows:
            sections.append(
                AnswerSection(
                    key=str(section.get("key", "")),
                    title=spec_text(section.get("title"), language),
                    rows=rows,
                )
            )
    return sections
