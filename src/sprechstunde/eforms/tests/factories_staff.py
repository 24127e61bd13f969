"""Submissions as the client side leaves them, for the staff side's tests: a definition row
with a small spec (all seven languages, as the validator wants them) and a received form."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormDefinition, FormEvent, FormSubmission

LANGUAGES = ("de", "en", "uk", "ar", "tr", "ru", "fa")


def text(de: str, en: str | None = None) -> dict[str, str]:
    """A definition text: German, English, and the English words standing in for the rest
    (these tests read only German and English)."""
    return {code: de if code == "de" else (en or de) for code in LANGUAGES}


def away_spec() -> dict[str, Any]:
    """A small Ortsabwesenheit: dates, a reason; decided by staff."""
    return {
        "format": 1,
        "slug": "ortsabwesenheit",
        "title": text("Ortsabwesenheit beantragen", "Request to be away"),
        "summary": text("Wenn Sie verreisen möchten", "If you want to travel"),
        "decided_by_staff": True,
        "sections": [
            {
                "key": "dates",
                "title": text("Zeitraum", "Dates"),
                "fields": [
                    {"key": "away_from", "type": "date", "label": text("Von", "From")},
                    {"key": "away_to", "type": "date", "label": text("Bis", "To")},
                    {
                        "key": "reason",
                        "type": "choice",
                        "label": text("Grund", "Reason"),
                        "options": [
                            {"value": "family", "label": text("Familienbesuch", "Family visit")},
                            {"value": "other", "label": text("Anderer Grund", "Other")},
                        ],
                    },
                ],
            }
        ],
    }


def change_spec() -> dict[str, Any]:
    """A small Veränderungsmitteilung: income, bank account, household, proof."""
    return {
        "format": 1,
        "slug": "veraenderung",
        "title": text("Veränderungsmitteilung", "Change notice"),
        "summary": text("Was sich geändert hat", "What has changed"),
        "sections": [
            {
                "key": "money",
                "title": text("Einkommen und Konto", "Income and account"),
                "fields": [
                    {"key": "income", "type": "money", "label": text("Einkommen", "Income")},
                    {"key": "iban", "type": "iban", "label": text("IBAN")},
                    {"key": "has_work", "type": "yesno", "label": text("Arbeit?", "Work?")},
                    {"key": "proof", "type": "attachment", "label": text("Nachweis", "Proof")},
                ],
            },
            {
                "key": "household",
                "title": text("Haushalt", "Household"),
                "fields": [
                    {
                        "key": "members",
                        "type": "group",
                        "label": text("Personen", "People"),
                        "item_label": text("Person"),
                        "fields": [
                            {"key": "name", "type": "text", "label": text("Name")},
                            {"key": "born_on", "type": "date", "label": text("Geboren", "Born")},
                        ],
                    }
                ],
            },
        ],
    }


def definition(spec: dict[str, Any] | None = None, *, version: int = 1) -> FormDefinition:
    spec = spec or away_spec()
    found = FormDefinition.objects.filter(slug=spec["slug"], version=version).first()
    if found is not None:
        return found
    return FormDefinition.objects.create(
        slug=spec["slug"], version=version, spec=spec, spec_sha256=f"{spec['slug']}-{version}"
    )


def submission(
    client: Any,
    *,
    spec: dict[str, Any] | None = None,
    status: str = SubmissionStatus.RECEIVED,
    answers: dict[str, Any] | None = None,
    submitted_at: datetime.datetime | None = None,
    **fields: Any,
) -> FormSubmission:
    """A form of `client` as she sent it (status received, one "submitted" event)."""
    spec = spec or away_spec()
    if answers is None:
        answers = (
            {"away_from": "2027-01-04", "away_to": "2027-01-10", "reason": "family"}
            if spec["slug"] == "ortsabwesenheit"
            else {
                "income": "123456",
                "iban": "DE89370400440532013000",
                "has_work": "yes",
                "members": [{"name": "Mina", "born_on": "2019-05-01"}],
            }
        )
    now = submitted_at or timezone.now()
    made = FormSubmission.objects.create(
        client=client,
        definition=definition(spec),
        status=status,
        answers=answers,
        created_at=now,
        updated_at=now,
        submitted_at=None if status == SubmissionStatus.DRAFT else now,
        submission_count=0 if status == SubmissionStatus.DRAFT else 1,
        submitted_by=client.user,
        **fields,
    )
    if status != SubmissionStatus.DRAFT:
        FormEvent.objects.create(
            submission=made, kind="submitted", actor=client.user, created_at=now
        )
    return made


def resubmit(made: FormSubmission) -> FormSubmission:
    """What the client's new submission after a "needs more" leaves (as
    `services.client.submission_submit` does, without the code and the renderings):
    received again, counted, with its event."""
    now = timezone.now()
    made.status = SubmissionStatus.RECEIVED
    made.submitted_at = now
    made.updated_at = now
    made.submission_count += 1
    made.save(update_fields=["status", "submitted_at", "updated_at", "submission_count"])
    FormEvent.objects.create(submission=made, kind="resubmitted", actor=made.client.user)
    return made
