"""Security headers that Django's SecurityMiddleware does not set itself, no-store caching,
and the request id and timing of every answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from .metrics import REQUEST_SECONDS, RESPONSES, status_label, view_label
from .request_ids import HEADER, request_id_accept, request_id_set

access_logger = logging.getLogger("sprechstunde.access")

# No 'unsafe-inline' anywhere: scripts and styles come only from our own static files.
_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_POWERFUL_FEATURES = (
    "camera",
    "microphone",
    "display-capture",
    "geolocation",
    "payment",
    "usb",
    "serial",
    "browsing-topics",
)
_ALLOW_ATTR = "_permissions_allowed"


def allow_features(*features: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view whose page needs camera or microphone (everything else denies them)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            setattr(request, _ALLOW_ATTR, frozenset(features))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def permissions_policy(allowed: Iterable[str]) -> str:
    allowed_set = set(allowed)
    return ", ".join(
        f"{feature}=(self)" if feature in allowed_set else f"{feature}=()"
        for feature in _POWERFUL_FEATURES
    )


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        csp = _CSP
        try:
            host = request.get_host()
        except DisallowedHost:
            host = ""
        if host:
            # Websockets to our own host: 'self' does not cover ws:/wss: in every browser.
            scheme = "wss" if request.is_secure() else "ws"
            csp = csp.replace("connect-src 'self'", f"connect-src 'self' {scheme}://{host}")
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault(
            "Permissions-Policy", permissions_policy(getattr(request, _ALLOW_ATTR, ()))
        )
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class NoStoreMiddleware:
    """Keeps pages with personal data out of every cache: `Cache-Control: no-store, private`.

    Applies to every response Django itself answers (WhiteNoise answers static files before
    this runs), with one exception: a view may choose its own caching by setting Cache-Control
    itself, but only for an anonymous request that did not touch the session, since a page for
    a logged-in person (or an interpreter admitted by link) names that person at least. A
    stricter header a view set (`no-cache`, `must-revalidate`, `max-age=0`) is kept, merged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        personal = _is_personal(request, response)
        if not personal and response.has_header("Cache-Control"):
            return response  # an anonymous, sessionless answer whose view chose its caching
        if personal:
            patch_vary_headers(response, ("Cookie",))
        # Merged into what the view set; `private` also removes a `public` the view asked for.
        patch_cache_control(response, no_store=True, private=True)
        # HTTP/1.0 proxies know no Cache-Control.
        response.headers["Pragma"] = "no-cache"
        return response


def _is_personal(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether the answer may depend on who asks: a logged-in user, or a session that was read,
    written or (re)issued, as for an interpreter admitted by link."""
    session = getattr(request, "session", None)
    if session is not None and (session.accessed or session.modified):
        return True
    if settings.SESSION_COOKIE_NAME in response.cookies:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class RequestObservationMiddleware:
    """Outermost: gives the request its id (the proxy's X-Request-ID if well formed, else a
    fresh one) for every log line written while it runs, returns it in the answer's header,
    and times the answer by the resolved route's name (ADR 0081). A dictionary lookup and a
    histogram observation: no query, no I/O."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        request_id = request_id_accept(request.headers.get(HEADER))
        # Not reset afterwards: Django logs a 4xx/5xx answer after the middleware returned.
        # Under ASGI every request runs in a context of its own.
        request_id_set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = request_id
        match = getattr(request, "resolver_match", None)
        if match is not None:
            label = view_label(match.view_name)
        elif settings.STATIC_URL and request.path_info.startswith(str(settings.STATIC_URL)):
            label = "static"
        else:
            label = view_label(None)
        seconds = time.monotonic() - started
        REQUEST_SECONDS.labels(view=label).observe(seconds)
        RESPONSES.labels(status=status_label(response.status_code)).inc()
        # The access line: the route's name, never the path (paths carry ids and one-time
        # tokens); the proxy's log has the rest, joined by the request id.
        access_logger.info(
            "%s %s %s %.1f ms", request.method, label, response.status_code, seconds * 1000
        )
        return response
