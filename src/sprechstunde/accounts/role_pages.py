"""The short page a person gets when they open a page meant for another role (ADR 0061).

Only for pages that name no object (a list, a role's start page) and only for GET: the
page says which roles use it and leads back to the person's own start page. Objects
outside the access rules still answer 404, so nobody learns which objects exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .choices import Role


def is_role_page_request(request: HttpRequest, view_kwargs: dict[str, Any]) -> bool:
    """A GET for a page without object arguments: the other-role page may answer it."""
    return request.method in ("GET", "HEAD") and not view_kwargs


def other_role_response(request: HttpRequest, *, roles: Iterable[str]) -> HttpResponse:
    """403 with a page naming the roles that use this page (no data of the page itself)."""
    labels = [str(Role(role).label) for role in roles]
    current = getattr(request.user, "role", "")
    return render(
        request,
        "accounts/other_role.html",
        {
            "allowed_roles": labels,
            "own_role": str(Role(current).label) if current in Role.values else "",
        },
        status=403,
    )
