"""Which languages a person may choose, and how an anonymous visitor's choice is kept.

Clients read every client text in all of `settings.CLIENT_LANGUAGES`; staff pages exist in
`settings.STAFF_LANGUAGES` only, so the switch offers a staff member just those.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse


def language_codes_for(user: Any) -> list[str]:
    """The language codes a person may switch to: staff de/en, clients and visitors all."""
    if getattr(user, "is_authenticated", False) and not getattr(user, "is_client", False):
        return list(settings.STAFF_LANGUAGES)
    return list(settings.CLIENT_LANGUAGES)


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """Keeps a visitor's language for the pages before and around the login."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
    )
