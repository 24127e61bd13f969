"""Who may manage staff, teams and substitutions. Views and services ask these predicates."""

from __future__ import annotations

from typing import Any

from .choices import STAFF_ROLES, Role
from .models import Substitution, User


def _is_active_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def is_staff_member(user: Any) -> bool:
    """An active, logged-in member of staff (any staff role)."""
    return _is_active_user(user) and getattr(user, "role", None) in STAFF_ROLES


def can_manage_staff(user: Any) -> bool:
    """Administrators manage staff accounts and teams (and see no client data for it)."""
    return _is_active_user(user) and getattr(user, "role", None) == Role.ADMIN


def can_use_substitutions(user: Any) -> bool:
    """Case managers, team leads and administrators work with substitutions."""
    return _is_active_user(user) and getattr(user, "role", None) in {
        Role.CASE_MANAGER,
        Role.TEAM_LEAD,
        Role.ADMIN,
    }


def can_record_substitution(actor: Any, *, absent: User) -> bool:
    """A case manager records their own absence, a team lead one in their team, an admin any."""
    if not can_use_substitutions(actor):
        return False
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.TEAM_LEAD:
        return actor.team_id is not None and absent.team_id == actor.team_id
    return bool(absent.pk == actor.pk)


def can_see_substitution(actor: Any, substitution: Substitution) -> bool:
    """Those involved, the team lead of either side, and administrators."""
    if not can_use_substitutions(actor):
        return False
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.TEAM_LEAD:
        return actor.team_id is not None and actor.team_id in {
            substitution.absent.team_id,
            substitution.substitute.team_id,
        }
    return actor.pk in {substitution.absent_id, substitution.substitute_id}


def can_end_substitution(actor: Any, substitution: Substitution) -> bool:
    """Whoever may see a substitution may end it: ending only ever takes access away."""
    return can_see_substitution(actor, substitution)
