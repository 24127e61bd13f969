"""Form events in the client's timeline (clients.timeline, ADR 0060): sent, taken, asked
for more, answered, approved or refused, done; each links to the staff page of the form."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.urls import reverse
from django.utils.translation import gettext as _

from sprechstunde.clients.timeline import QuerySource, TimelineEntry

from .models import FormEvent

_TONES = {"approved": "ok", "done": "ok", "refused": "off", "needs_more": "warn"}


def _titles() -> dict[str, str]:
    return {
        "submitted": _("Form sent: %(title)s"),
        "resubmitted": _("Form sent again: %(title)s"),
        "taken": _("Form taken: %(title)s"),
        "needs_more": _("Form needs more: %(title)s"),
        "answered": _("Form answered: %(title)s"),
        "approved": _("Form approved: %(title)s"),
        "refused": _("Form refused: %(title)s"),
        "done": _("Form done: %(title)s"),
    }


def _entry(event: Any) -> TimelineEntry:
    title = event.form_title or event.form_slug
    template = _titles().get(event.kind, _("Form: %(title)s"))
    return TimelineEntry(
        at=event.created_at,
        kind="form",
        source="form_event",
        key=event.pk,
        title=template % {"title": title},
        detail=event.note[:200],
        url=reverse("eforms:staff_submission", args=[event.submission_id]),
        tone=_TONES.get(event.kind, "neutral"),
    )


def sources() -> list[Any]:
    return [
        QuerySource(
            kind="form",
            code="form_event",
            # The title in German, read from the definition in the database (the whole
            # definition stays there), one query per page.
            rows=lambda client: (
                FormEvent.objects.filter(submission__client=client)
                .annotate(
                    form_title=KeyTextTransform(
                        "de", KeyTransform("title", "submission__definition__spec")
                    ),
                    form_slug=F("submission__definition__slug"),
                )
                .only("pk", "kind", "note", "created_at", "submission_id")
            ),
            at_field="created_at",
            make=_entry,
        )
    ]
