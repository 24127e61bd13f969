"""Who may read the data-protection papers: the data-protection officer, nobody else."""

from __future__ import annotations

from typing import Any

from sprechstunde.accounts.choices import Role


def can_read_compliance_papers(*, user: Any) -> bool:
    """The papers show how the installation is configured: for the DPO's eyes only."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) == Role.DATA_PROTECTION_OFFICER
    )
