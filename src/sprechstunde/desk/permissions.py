"""Who has a desk: the staff who work with a caseload (case managers and team leads)."""

from __future__ import annotations

from typing import Any

from sprechstunde.clients import permissions as client_permissions


def can_use_desk(*, user: Any) -> bool:
    """Case managers and team leads; admins, DPOs and clients have other start pages."""
    return client_permissions.is_caseload_staff(user=user)
