"""Reads of the client side: the forms she can start, her submissions (each only for its
own client account), and what changed since she last looked."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client

from .choices import SubmissionStatus
from .models import FormDefinition, FormSubmission


def form_definitions_offered() -> QuerySet[FormDefinition]:
    """The current version of every form, for the list of forms to start."""
    return FormDefinition.objects.filter(is_current=True).order_by("slug")


def form_definition_current(*, slug: str) -> FormDefinition | None:
    return FormDefinition.objects.filter(slug=slug, is_current=True).first()


def submissions_of_client(*, client: Client) -> QuerySet[FormSubmission]:
    """All of one client's forms, newest change first (the caller has checked access)."""
    return (
        FormSubmission.objects.filter(client=client)
        .select_related("definition")
        .order_by("-updated_at", "-pk")
    )


def submissions_for_client_user(*, user: Any) -> QuerySet[FormSubmission]:
    """The logged-in client's own forms; nothing for anyone else."""
    client = client_permissions.client_profile_of(user=user)
    if client is None:
        return FormSubmission.objects.none()
    return submissions_of_client(client=client)


def submission_get_for_client_user(
    *, user: Any, pk: int, request: HttpRequest | None = None, action: str | None = None
) -> FormSubmission | None:
    """One of the logged-in client's forms, or None (another client's is never found).
    `action`: an audit entry for this read."""
    submission = (
        submissions_for_client_user(user=user)
        .select_related("client", "definition", "pdf_document")
        .filter(pk=pk)
        .first()
    )
    if submission is not None and action:
        audit_record(actor=user, action=action, target=submission, request=request)
    return submission


def submissions_needing_client(*, client: Client) -> int:
    """How many of her forms wait for her: reopened by staff ("needs more")."""
    return FormSubmission.objects.filter(client=client, status=SubmissionStatus.NEEDS_MORE).count()


def submissions_closed_recently(*, client: Client, days: int = 14) -> int:
    """Forms staff finished in the last `days` days (the home page's news)."""
    since = timezone.now() - datetime.timedelta(days=days)
    return FormSubmission.objects.filter(
        client=client, status=SubmissionStatus.DONE, closed_at__gte=since
    ).count()


def submissions_news_counts(*, client: Client, days: int = 14) -> tuple[int, int]:
    """The home page's news in one query: (forms that need more from her, forms staff
    finished in the last `days` days)."""
    since = timezone.now() - datetime.timedelta(days=days)
    counts = FormSubmission.objects.filter(client=client).aggregate(
        needs_more=Count("pk", filter=Q(status=SubmissionStatus.NEEDS_MORE)),
        closed=Count("pk", filter=Q(status=SubmissionStatus.DONE, closed_at__gte=since)),
    )
    return int(counts["needs_more"]), int(counts["closed"])
