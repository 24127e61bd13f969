"""Who may read the audit trail: administrators and data-protection officers, nobody else."""

from __future__ import annotations

from typing import Any

from sprechstunde.accounts.choices import Role

AUDIT_READER_ROLES = frozenset({Role.ADMIN, Role.DATA_PROTECTION_OFFICER})


def can_read_audit_trail(*, user: Any) -> bool:
    """Reading who saw what is itself sensitive: only admins and DPOs, and only when logged in."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) in AUDIT_READER_ROLES
    )
