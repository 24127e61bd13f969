"""Reading staff, teams and substitutions, always scoped to the person asking."""

from __future__ import annotations

import datetime
from typing import Any

from allauth.mfa.models import Authenticator
from django.db.models import Count, Q, QuerySet

from .choices import STAFF_ROLES, Role
from .models import Substitution, Team, User
from .permissions import can_manage_staff, can_use_substitutions

# Authenticators that count as a second factor (recovery codes only back them up).
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def user_has_second_factor(*, user: User) -> bool:
    """Whether the user has set up an authenticator app or a security key / passkey."""
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()


def _active_on(on: datetime.date) -> Q:
    # The day a substitution is ended early is the first day it no longer counts.
    in_range = Q(starts_on__lte=on, ends_on__gte=on)
    not_ended = Q(ended_at__isnull=True) | Q(ended_at__date__gt=on)
    return in_range & not_ended


def case_managers_represented_by(*, user: Any, on: datetime.date) -> set[int]:
    """Ids of the colleagues whose caseload `user` stands in for on day `on` (never `user`).

    Only active case managers count on both sides: a deactivated colleague's caseload is not
    opened up, and a deactivated substitute sees nothing.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.role != Role.CASE_MANAGER:
        return set()
    ids = (
        Substitution.objects.filter(_active_on(on), substitute_id=user.pk)
        .filter(absent__role=Role.CASE_MANAGER, absent__is_active=True)
        .exclude(absent_id=user.pk)
        .values_list("absent_id", flat=True)
    )
    return set(ids)


def substitution_list_for_user(*, user: Any) -> QuerySet[Substitution]:
    """Substitutions the user may see: their own, their team's (team lead), all (admin)."""
    qs = Substitution.objects.select_related(
        "absent", "substitute", "absent__team", "substitute__team"
    )
    if not can_use_substitutions(user):
        return qs.none()
    if user.role == Role.ADMIN:
        return qs
    if user.role == Role.TEAM_LEAD:
        if user.team_id is None:
            return qs.none()
        return qs.filter(Q(absent__team_id=user.team_id) | Q(substitute__team_id=user.team_id))
    return qs.filter(Q(absent_id=user.pk) | Q(substitute_id=user.pk))


def substitution_absent_choices(*, user: Any) -> QuerySet[User]:
    """Whose absence the user may record: themself, their team's case managers, or anyone."""
    qs = User.objects.filter(role=Role.CASE_MANAGER, is_active=True).select_related("team")
    if not can_use_substitutions(user):
        return qs.none()
    if user.role == Role.ADMIN:
        return qs.order_by("last_name", "first_name")
    if user.role == Role.TEAM_LEAD:
        return qs.filter(team_id=user.team_id).order_by("last_name", "first_name")
    return qs.filter(pk=user.pk)


def substitution_substitute_choices(*, user: Any) -> QuerySet[User]:
    """Who can stand in: any active case manager (Vertretung may cross teams)."""
    if not can_use_substitutions(user):
        return User.objects.none()
    return (
        User.objects.filter(role=Role.CASE_MANAGER, is_active=True)
        .select_related("team")
        .order_by("last_name", "first_name")
    )


def staff_list_for_user(*, user: Any) -> QuerySet[User]:
    """Staff accounts an administrator manages. Client accounts are never listed."""
    if not can_manage_staff(user):
        return User.objects.none()
    return (
        User.objects.filter(role__in=STAFF_ROLES)
        .select_related("team")
        .order_by("-is_active", "last_name", "first_name", "email")
    )


def team_list_for_user(*, user: Any) -> QuerySet[Team]:
    """Teams with the number of their active members, for administrators."""
    if not can_manage_staff(user):
        return Team.objects.none()
    return Team.objects.annotate(
        member_count=Count("members", filter=Q(members__is_active=True))
    ).order_by("name")


def team_choices() -> QuerySet[Team]:
    """All teams, for choosing a team in a form."""
    return Team.objects.order_by("name")
