"""Who may see and handle form submissions. Built on the client access rules.

- Client side: a portal user fills and reads only her own submissions, and edits only a
  draft or a form staff reopened ("needs more").

- Reading a submission follows `clients.permissions`: the case manager, colleagues standing
  in for them today, the team lead of their team. Drafts are the client's own until she
  submits them: staff never see a draft.
- Handling (take, ask for more, answer, approve or refuse, done): the case manager and
  whoever stands in for them today. A team lead of someone else's client only reads, as
  for messages and documents.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sprechstunde.accounts.choices import Role
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client

from .choices import SubmissionStatus
from .models import FormSubmission

_STAFF_HANDLER_ROLES = frozenset({Role.CASE_MANAGER, Role.TEAM_LEAD})
CLIENT_EDITABLE = (SubmissionStatus.DRAFT, SubmissionStatus.NEEDS_MORE)


def _is_active_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def submissions_visible_to_staff(*, user: Any) -> QuerySet[FormSubmission]:
    """Every submitted (not draft) form of every client `user` may see as staff; nothing
    for clients, admins and data-protection officers."""
    if not client_permissions.is_caseload_staff(user=user):
        return FormSubmission.objects.none()
    condition = client_permissions.client_visibility_filter(user=user)
    if condition is None:
        return FormSubmission.objects.none()
    return FormSubmission.objects.filter(client__in=Client.objects.filter(condition)).exclude(
        status=SubmissionStatus.DRAFT
    )


def can_view_submissions_of(*, user: Any, client: Client) -> bool:
    """May `user` read this client's submitted forms (staff who see the client)?"""
    return client_permissions.is_caseload_staff(user=user) and client_permissions.can_view_client(
        user=user, client=client
    )


def can_handle_submissions_of(*, user: Any, client: Client) -> bool:
    """May `user` take, answer and decide this client's forms? The case manager and today's
    substitutes; team leads of other people's clients read only."""
    if not _is_active_user(user) or getattr(user, "role", None) not in _STAFF_HANDLER_ROLES:
        return False
    if client.processing_restricted_at is not None:
        return False
    if client.case_manager_id == user.pk:
        return True
    if user.role == Role.CASE_MANAGER:
        represented = client_permissions.case_managers_represented_by(user=user)
        return client.case_manager_id in represented
    return False


# --- the client side ---------------------------------------------------------------------------


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
