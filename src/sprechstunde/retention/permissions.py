"""Who may see retention, holds and data-subject requests, and who decides them.

The data-protection officer decides: sets and lifts holds, carries out erasures, lifts
restrictions, and is the only one who still reaches a restricted client. Caseload staff
record a client's request and close or reopen the case, for clients they may see.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

from typing import Any

from sprechstunde.accounts.choices import Role
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client


def is_dpo(*, user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) == Role.DATA_PROTECTION_OFFICER
    )


def can_see_retention_overview(*, user: Any) -> bool:
    """The overview (dry run, requests, holds) is the data-protection officer's page."""
    return is_dpo(user=user)


def can_manage_holds(*, user: Any) -> bool:
    return is_dpo(user=user)


def can_decide_requests(*, user: Any) -> bool:
    return is_dpo(user=user)


def can_view_client_retention(*, user: Any, client: Client) -> bool:
    """The DPO for every client (also a restricted one); caseload staff for those they see."""
    return is_dpo(user=user) or (
        client_permissions.is_caseload_staff(user=user)
        and client_permissions.can_view_client(user=user, client=client)
    )


def can_record_request(*, user: Any, client: Client) -> bool:
    return can_view_client_retention(user=user, client=client)


def can_close_case(*, user: Any, client: Client) -> bool:
    return client_permissions.can_manage_client(user=user, client=client)
