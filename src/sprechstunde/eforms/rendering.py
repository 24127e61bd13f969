"""What a submitted form leaves for the file: a PDF/A-2b with every question and answer in
the client's language and in German (the office language), and the answers as JSON.
Both are stored as the client's documents by `services.client.submission_submit`."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from sprechstunde.core.pdfa_metadata import pdf_with_local_xmp_namespaces

from .definitions import text_for
from .fields import answer_display, condition_met
from .models import FormAttachment, FormSubmission

OFFICE_LANGUAGE = "de"


@dataclass
class AnswerRow:
    """One question and its answer as shown (groups hold one list of rows per entry)."""

    key: str
    label: str
    value: str = ""
    entries: list[list[AnswerRow]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    is_group: bool = False
    is_attachment: bool = False
    item_label: str = ""


@dataclass
class SectionRows:
    key: str
    title: str
    rows: list[AnswerRow]


def answer_sections(
    spec: Mapping[str, Any],
    answers: Mapping[str, Any],
    attachments: Iterable[FormAttachment],
    language: str,
) -> list[SectionRows]:
    """The visible sections with their questions and answers in `language` (for the review
    page and the PDF). Unanswered optional questions are listed with an empty answer."""
    by_field: dict[str, list[str]] = {}
    for attachment in attachments:
        by_field.setdefault(attachment.field_key, []).append(
            attachment.document.title or attachment.document.original_name
        )
    result: list[SectionRows] = []
    with translation.override(language):
        for section in spec["sections"]:
            if not condition_met(section.get("show_if"), answers):
                continue
            rows: list[AnswerRow] = []
            for item in section["fields"]:
                kind = item["type"]
                if kind == "info" or not condition_met(item.get("show_if"), answers):
                    continue
                label = text_for(item.get("label"), language)
                if kind == "attachment":
                    rows.append(
                        AnswerRow(
                            key=item["key"],
                            label=label,
                            files=by_field.get(item["key"], []),
                            is_attachment=True,
                        )
                    )
                elif kind == "group":
                    entries = []
                    for entry in answers.get(item["key"]) or []:
                        inner = {**answers, **entry}
                        entries.append(
                            [
                                AnswerRow(
                                    key=sub["key"],
                                    label=text_for(sub.get("label"), language),
                                    value=answer_display(sub, entry.get(sub["key"]), language),
                                )
                                for sub in item["fields"]
                                if sub["type"] != "info"
                                and condition_met(sub.get("show_if"), inner)
                            ]
                        )
                    rows.append(
                        AnswerRow(
                            key=item["key"],
                            label=label,
                            entries=entries,
                            is_group=True,
                            item_label=text_for(item.get("item_label"), language),
                        )
                    )
                else:
                    rows.append(
                        AnswerRow(
                            key=item["key"],
                            label=label,
                            value=answer_display(item, answers.get(item["key"]), language),
                        )
                    )
            result.append(
                SectionRows(
                    key=section["key"], title=text_for(section["title"], language), rows=rows
                )
            )
    return result


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"The form PDF does not load external resources ({url[:40]}).")


def _language_block(
    submission: FormSubmission, attachments: list[FormAttachment], language: str
) -> dict[str, Any]:
    info = translation.get_language_info(language)
    spec = submission.definition.spec
    with translation.override(language):
        submitted = formats.date_format(
            timezone.localtime(submission.submitted_at or timezone.now()), "DATETIME_FORMAT"
        )
    return {
        "language": language,
        "language_name": info["name_local"],
        "bidi": info["bidi"],
        "title": text_for(spec["title"], language),
        "sections": answer_sections(spec, submission.answers, attachments, language),
        "submitted": submitted,
    }


def submission_pdf(*, submission: FormSubmission, language: str) -> bytes:
    """The tagged PDF/A-2b of a submission: the client's language first, then German for
    the file (once only when she uses German)."""
    # Imported here: loading WeasyPrint parses its stylesheets, which would slow every start.
    from weasyprint import CSS, HTML

    attachments = list(submission.attachments.select_related("document"))
    languages = [language] if language == OFFICE_LANGUAGE else [language, OFFICE_LANGUAGE]
    blocks = [_language_block(submission, attachments, code) for code in languages]
    with translation.override(OFFICE_LANGUAGE):
        html = render_to_string(
            "eforms/pdf/submission.html",
            {
                "submission": submission,
                "client": submission.client,
                "blocks": blocks,
                "jobcenter_name": settings.JOBCENTER_NAME,
                "document_title": blocks[-1]["title"],
            },
        )
    stylesheet = CSS(string=render_to_string("eforms/pdf/submission.css"))
    document = HTML(string=html, url_fetcher=_no_fetching)
    pdf = document.write_pdf(stylesheets=[stylesheet], pdf_variant="pdf/a-2b", pdf_tags=True)
    return pdf_with_local_xmp_namespaces(bytes(pdf or b""))


def submission_json(*, submission: FormSubmission, language: str) -> bytes:
    """The answers as data (ADR 0087): format, slug, version and the clean answers, with
    the submission's facts and the attached documents by id."""
    definition = submission.definition
    payload = {
        "format": 1,
        "slug": definition.slug,
        "version": definition.version,
        "submission": submission.pk,
        "client": submission.client_id,
        "submitted_at": (submission.submitted_at or timezone.now()).isoformat(),
        "submission_count": submission.submission_count,
        "language": language,
        "answers": submission.answers,
        "attachments": [
            {"field": attachment.field_key, "document": attachment.document_id}
            for attachment in submission.attachments.all()
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
