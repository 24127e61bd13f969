"""Who may see and change which client's data. THE one place for these rules.

- A case manager sees their own clients and those of colleagues they stand in for today.
- A team lead sees the clients of their team (whose case manager belongs to the team).
- Admins and data-protection officers see no client data (unless a client is assigned to
  them as case manager, which the application itself never does).
- A client sees only themself.
- Nobody sees a client whose processing is restricted (Art. 18 GDPR): only the
  data-protection officer reaches it, through the retention app's own pages.

Views reach client data only through `clients_visible_to` / the `*_for_user` selectors; a
refused access answers 404 so that nobody learns which clients exist.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts import selectors as accounts_selectors
from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.accounts.role_pages import CLIENT_ONLY
from sprechstunde.core.compiled_queries import CompiledQuery

from .choices import REQUIRED_PURPOSES, ConsentPurpose
from .models import Client, Consent

# Roles that work with a caseload; only they may open client pages at all.
CASELOAD_ROLES = frozenset({Role.CASE_MANAGER, Role.TEAM_LEAD})
# Art. 18 GDPR: a restricted client is out of every access path (see the module docstring).
UNRESTRICTED = Q(processing_restricted_at__isnull=True)


def is_processing_restricted(*, client: Client) -> bool:
    """Processing of this client's data is restricted on request (Art. 18 GDPR)."""
    return client.processing_restricted_at is not None


def _is_authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def case_managers_represented_by(*, user: Any, on: datetime.date | None = None) -> set[int]:
    """Ids of the colleagues `user` stands in for on day `on` (today by default).

    The rule itself (date range, ended early, active case managers only) belongs to the
    accounts app, which owns substitutions.
    """
    if not _is_authenticated(user):
        return set()
    return accounts_selectors.case_managers_represented_by(user=user, on=on or timezone.localdate())


def is_caseload_staff(*, user: Any) -> bool:
    """Case managers and team leads: the staff who work with clients."""
    return _is_authenticated(user) and getattr(user, "role", None) in CASELOAD_ROLES


def client_visibility_filter(*, user: Any, represented: set[int] | None = None) -> Q | None:
    """A filter on Client for what `user` may see, or None when they may see nothing.

    `represented`: `case_managers_represented_by(user=user)` when the caller has it already
    (the today page), to spare the lookup; None looks it up.
    """
    if not _is_authenticated(user):
        return None
    role = getattr(user, "role", None)
    if role == Role.CLIENT:
        return Q(user_id=user.pk) & UNRESTRICTED
    # Every staff member sees a caseload assigned to them; only roles add more.
    condition = Q(case_manager_id=user.pk)
    if role == Role.CASE_MANAGER:
        if represented is None:
            represented = case_managers_represented_by(user=user)
        if represented:
            condition |= Q(case_manager_id__in=represented)
    elif role == Role.TEAM_LEAD and user.team_id is not None:
        condition |= Q(case_manager__team_id=user.team_id)
    return condition & UNRESTRICTED


def clients_visible_to(*, user: Any) -> QuerySet[Client]:
    """All clients `user` may see; an empty queryset for strangers, admins and DPOs."""
    condition = client_visibility_filter(user=user)
    if condition is None:
        return Client.objects.none()
    return Client.objects.filter(condition)


def can_view_client(*, user: Any, client: Client) -> bool:
    """May `user` read this client's data (staff by caseload, a client only themself)?"""
    return clients_visible_to(user=user).filter(pk=client.pk).exists()


def can_manage_client(*, user: Any, client: Client) -> bool:
    """May `user` invite this client and change their data? Caseload staff who see them."""
    return is_caseload_staff(user=user) and can_view_client(user=user, client=client)


def can_create_clients(*, user: Any) -> bool:
    """Case managers and team leads create clients (for their caseload or their team)."""
    return is_caseload_staff(user=user)


def case_managers_assignable_by(*, user: Any) -> QuerySet[User]:
    """Whom `user` may make the case manager of a new client.

    A case manager: themself and the colleagues they stand in for today. A team lead: the
    active case managers of their team.
    """
    if not is_caseload_staff(user=user):
        return User.objects.none()
    if user.role == Role.CASE_MANAGER:
        ids = {user.pk, *case_managers_represented_by(user=user)}
        return User.objects.filter(pk__in=ids, is_active=True).order_by("last_name", "first_name")
    if user.team_id is None:
        return User.objects.none()
    return User.objects.filter(
        team_id=user.team_id, role=Role.CASE_MANAGER, is_active=True
    ).order_by("last_name", "first_name")


def can_edit_consent_texts(*, user: Any) -> bool:
    """Administrators publish consent texts (in Django admin); texts hold no client data."""
    return _is_authenticated(user) and (
        bool(getattr(user, "is_superuser", False)) or getattr(user, "role", None) == Role.ADMIN
    )


def is_client_user(*, user: Any) -> bool:
    """A logged-in portal account (role client)."""
    return _is_authenticated(user) and getattr(user, "role", None) == Role.CLIENT


def client_profile_of(*, user: Any) -> Client | None:
    """The Client record behind a logged-in client account, if there is one."""
    if not is_client_user(user=user):
        return None
    # At most one row (a one-to-one link): no ordering needed.
    found = Client.objects.filter(UNRESTRICTED, user_id=user.pk).select_related("case_manager")
    return next(iter(found.order_by()[:1]), None)


# Read on every portal request, so compiled once (ADR 0092).
_ACTIVE_PURPOSES = CompiledQuery(
    lambda client_id: Consent.objects.filter(
        client_id=client_id, withdrawn_at__isnull=True
    ).values_list("purpose"),
    arguments=("client_id",),
    count=False,
)


def active_purposes_of(*, client: Client) -> frozenset[str]:
    """The purposes the client currently consents to."""
    return frozenset(str(row[0]) for row in _ACTIVE_PURPOSES.rows(client_id=client.pk))


# --- "Without a consent, the matching feature is refused" -----------------------------------

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])

_PORTAL_CACHE_ATTR = "_client_portal_state"


def portal_state(request: HttpRequest) -> tuple[Client, frozenset[str]]:
    """The logged-in client's record and active purposes, read once per request.

    Raises Http404 for anyone who is not a client with a client record.
    """
    cached = getattr(request, _PORTAL_CACHE_ATTR, None)
    if cached is not None:
        return cast(tuple[Client, frozenset[str]], cached)
    client = client_profile_of(user=request.user)
    if client is None:
        raise Http404
    state = (client, active_purposes_of(client=client))
    setattr(request, _PORTAL_CACHE_ATTR, state)
    return state


def consent_missing_response(
    request: HttpRequest, *, purpose: ConsentPurpose, client: Client
) -> HttpResponse:
    """The friendly 403 page: which consent is missing, how to give it, the offline way."""
    return render(
        request,
        "clients/consent_missing.html",
        {
            "purpose": purpose,
            "purpose_label": purpose.label,
            "can_give_in_portal": purpose not in REQUIRED_PURPOSES,
            "client": client,
            "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
            "jobcenter_address": getattr(settings, "JOBCENTER_ADDRESS", ""),
        },
        status=403,
    )


def consent_required(purpose: ConsentPurpose | str) -> Callable[[ViewFunc], ViewFunc]:
    """Decorate a client-portal view that needs the client's consent to `purpose`.

    Anonymous visitors go to the login page, staff get 404, and a client without that
    consent gets a 403 page that explains what is missing and the offline alternative.
    Portal use is always required as well: without it the portal is closed.
    """
    wanted = ConsentPurpose(purpose)

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                # Clients log in with an e-mailed code, not with the staff password page.
                return redirect_to_login(
                    request.get_full_path(), login_url=reverse("account_request_login_code")
                )
            client, purposes = portal_state(request)
            for needed in (ConsentPurpose.PORTAL, wanted):
                if needed not in purposes:
                    return consent_missing_response(request, purpose=needed, client=client)
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorator


class ConsentRequiredMixin:
    """Class-based form of `consent_required`: set `required_consent` on the view."""

    page_roles = CLIENT_ONLY

    required_consent: ConsentPurpose = ConsentPurpose.PORTAL

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        parent = super().dispatch  # type: ignore[misc]
        return consent_required(self.required_consent)(parent)(request, *args, **kwargs)
