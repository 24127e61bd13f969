"""The short page a person gets when they open a page meant for another role (ADR 0061).

Only for pages that name no object (a list, a role's start page) and only for GET: the
page says which roles use it and leads back to the person's own start page. Objects
outside the access rules still answer 404, so nobody learns which objects exist.

A view says which roles use it with `page_roles` (a class attribute, or `role_page(...)` on
a function view). The view still decides and audits its own refusal as before;
`OtherRolePageMiddleware` only replaces a refusal (403/404) of a GET without URL arguments
by this page when the person's role is not among the view's `page_roles`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from .choices import Role

# The staff roles in the order the page names them.
STAFF_ROLE_ORDER: tuple[Role, ...] = (
    Role.CASE_MANAGER,
    Role.TEAM_LEAD,
    Role.ADMIN,
    Role.DATA_PROTECTION_OFFICER,
)
CASELOAD_ROLES: tuple[Role, ...] = (Role.CASE_MANAGER, Role.TEAM_LEAD)
CLIENT_ONLY: tuple[Role, ...] = (Role.CLIENT,)

# Set on the page's response, so the middleware never renders it twice.
OTHER_ROLE_MARK = "sprechstunde_other_role_page"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def role_page(*roles: str) -> Callable[[ViewFunc], ViewFunc]:
    """Declare on a function view which roles use it (class-based views: `page_roles`)."""

    def decorator(view: ViewFunc) -> ViewFunc:
        view.page_roles = tuple(roles)  # type: ignore[attr-defined]
        return view

    return decorator


def page_roles_of(view: Callable[..., Any]) -> tuple[str, ...]:
    """The roles a resolved view declares as its users; empty if it declares none."""
    roles = getattr(view, "page_roles", None)
    if roles is None:
        roles = getattr(getattr(view, "view_class", None), "page_roles", None)
    return tuple(roles or ())


def is_role_page_request(request: HttpRequest, view_kwargs: dict[str, Any]) -> bool:
    """A GET for a page without object arguments: the other-role page may answer it."""
    return request.method in ("GET", "HEAD") and not view_kwargs


def other_role_response(request: HttpRequest, *, roles: Iterable[str]) -> HttpResponse:
    """403 with a page naming the roles that use this page (no data of the page itself).

    A client gets the portal's version in their language: the page belongs to the
    Jobcenter's staff, and the way back leads to the portal.
    """
    allowed = [Role(role) for role in roles]
    current = getattr(request.user, "role", "")
    if current == Role.CLIENT:
        response = render(request, "accounts/other_role_client.html", status=403)
    else:
        response = render(
            request,
            "accounts/other_role.html",
            {
                "allowed_roles": [str(role.label) for role in allowed],
                "for_clients": allowed == [Role.CLIENT],
                "own_role": str(Role(current).label) if current in Role.values else "",
            },
            status=403,
        )
    setattr(response, OTHER_ROLE_MARK, True)
    return response


def is_other_role_response(response: HttpResponseBase) -> bool:
    """Whether `response` is the "who can use this" page (the middleware, and tests, ask)."""
    return response.status_code == 403 and bool(getattr(response, OTHER_ROLE_MARK, False))
