"""Per-user language, the rule that staff cannot work without a second factor, the
"other role" page for refused role pages, and the throttled record of session activity."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation

from .choices import STAFF_ROLES
from .role_pages import (
    is_other_role_response,
    is_role_page_request,
    other_role_response,
    page_roles_of,
)


class UserLanguageMiddleware:
    """A logged-in user's own language setting wins over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "preferred_language", "") if user else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class UserSessionActivityMiddleware:
    """allauth's session tracking (`UserSessionsMiddleware`), written at most once per
    `USERSESSIONS_ACTIVITY_INTERVAL` seconds per session, and at once when the session's IP
    address or browser changed (ADR 0092).

    allauth writes the session's row on every request (a write transaction each time);
    here the cache remembers, per session, the address and browser last written, so the
    list of active sessions shows a changed device at once and a last activity at most
    one interval old. A session without a row gets one on its first request, as before.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self._track(request)
        return self.get_response(request)

    def _track(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is None or session is None or not user.is_authenticated:
            return
        session_key = session.session_key
        if not session_key:
            return
        from allauth.account.adapter import get_adapter
        from allauth.usersessions.internal import usersessionkit

        interval = settings.USERSESSIONS_ACTIVITY_INTERVAL
        if interval <= 0:
            usersessionkit.track_activity(request, user=user, session=session)
            return
        # The key and the value are digests: the cache never holds a session key.
        key = "usersessions:seen:" + hashlib.sha256(session_key.encode()).hexdigest()
        client = hashlib.sha256(
            "\0".join(
                (get_adapter().get_client_ip(request), request.META.get("HTTP_USER_AGENT", ""))
            ).encode()
        ).hexdigest()
        if cache.get(key) == client:
            return
        usersessionkit.track_activity(request, user=user, session=session)
        cache.set(key, client, timeout=interval)


class StaffMFARequiredMiddleware:
    """Staff who have no authenticator app and no security key can only set one up.

    Every other page answers with a redirect to the TOTP activation page (which offers a
    security key / passkey as well). Clients are not affected: they log in by e-mailed code.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._exempt_prefixes: tuple[str, ...] | None = None

    def _exempt(self) -> tuple[str, ...]:
        # Resolved on first use: the URLconf is not loaded yet when middleware is built.
        if self._exempt_prefixes is None:
            prefixes = [
                reverse("mfa_index"),  # all of allauth.mfa: setup, recovery codes, keys
                reverse("account_logout"),
                reverse("account_reauthenticate"),  # allauth asks again before MFA changes
                reverse("core:health"),
                "/i18n/",
            ]
            if settings.STATIC_URL:
                prefixes.append(str(settings.STATIC_URL))
            self._exempt_prefixes = tuple(prefixes)
        return self._exempt_prefixes

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "role", None) in STAFF_ROLES
            and not request.path_info.startswith(self._exempt())
        ):
            from .selectors import user_has_second_factor

            if not user_has_second_factor(user=user):
                return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class OtherRolePageMiddleware:
    """A refused GET of a page without object arguments, opened by a role the page is not
    for, answers the short "who can use this" page instead of a bare 404/403 (ADR 0061).

    The view has refused (and audited) already; only the answer changes, and only when the
    view declares `page_roles` and the person's role is not among them. Every route with
    URL arguments keeps its 404, so objects outside the access rules stay invisible.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code not in (403, 404) or is_other_role_response(response):
            return response
        return self._other_role_page(request) or response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that raised Http404/PermissionDenied: answer before the 404 page is made."""
        if isinstance(exception, Http404 | PermissionDenied):
            return self._other_role_page(request)
        return None

    def _other_role_page(self, request: HttpRequest) -> HttpResponse | None:
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if (
            match is None
            or match.args
            or user is None
            or not user.is_authenticated
            or not is_role_page_request(request, match.kwargs)
        ):
            return None
        roles = page_roles_of(match.func)
        if not roles or getattr(user, "role", None) in roles:
            return None
        return other_role_response(request, roles=roles)
