"""Security headers that Django's SecurityMiddleware does not set itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

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
