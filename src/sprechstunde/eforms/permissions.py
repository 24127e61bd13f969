"""Who may do what with forms. Client side: a portal user fills and reads only her own
submissions, and edits only a draft or a form staff reopened ("needs more")."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

from typing import Any

from sprechstunde.clients import permissions as client_permissions

from .choices import SubmissionStatus
from .models import FormSubmission

CLIENT_EDITABLE = (SubmissionStatus.DRAFT, SubmissionStatus.NEEDS_MORE)


def is_own_submission(*, user: Any, submission: FormSubmission) -> bool:
    """The logged-in client account is the submission's client."""
    return (
        client_permissions.is_client_user(user=user)
        and submission.client.user_id is not None
        and submission.client.user_id == user.pk
    )


def client_can_edit(*, user: Any, submission: FormSubmission) -> bool:
    """Her own form, while it is a draft or reopened by staff."""
    return is_own_submission(user=user, submission=submission) and (
        submission.status in CLIENT_EDITABLE
    )
