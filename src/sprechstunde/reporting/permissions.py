"""Who may see the figures: team leads (their own team) and administrators (every team).

Everyone else, case managers and data-protection officers included, gets a 404. The figures
hold counts only, but which team does how well is still a management matter.
"""

from __future__ import annotations

from typing import Any

from sprechstunde.accounts.choices import Role


def _is_active_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def can_view_figures(*, user: Any) -> bool:
    """An active administrator, or an active team lead who belongs to a team."""
    if not _is_active_user(user):
        return False
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return True
    return role == Role.TEAM_LEAD and getattr(user, "team_id", None) is not None


def can_choose_team(*, user: Any) -> bool:
    """Administrators pick any team or all of them; a team lead always sees their own."""
    return _is_active_user(user) and getattr(user, "role", None) == Role.ADMIN
