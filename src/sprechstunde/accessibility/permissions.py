"""Who works on accessibility feedback: the administrators (they run the site)."""

from __future__ import annotations

from typing import Any

from sprechstunde.accounts.choices import Role


def can_handle_accessibility_feedback(*, user: Any) -> bool:
    """Admins read and answer the feedback; it is no client data, so no caseload rule applies."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) == Role.ADMIN
    )
