"""The answer to an uncaught exception (Django's `handler500`, ADR 0085).

A database that cannot be reached (restarted, failed over, out of connections) is an outage of
a minute, not a fault of the request: the person is told, in their language, that the service
is briefly unavailable and to try again in a minute, with status 503 and `Retry-After`. A
script or page that asked for JSON gets the same as JSON. Every other exception keeps the
generic 500 page. Nothing here may touch the database: the page is rendered without a request
context (no session, no user, no context processor).
"""

from __future__ import annotations

import sys

from django import db
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext
from django.views import defaults

# Seconds a caller is asked to wait before trying again.
RETRY_AFTER_SECONDS = 60

# What counts as "the database is away": the connection failed or broke (OperationalError:
# refused, terminated by a restart, pool timeout; InterfaceError: a closed connection used).
# psycopg's own classes too, for what is raised outside Django's error wrapper (the pool's
# PoolTimeout is a psycopg.OperationalError).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (db.OperationalError, db.InterfaceError)
try:
    import psycopg
except ImportError:  # SQLite only: the embedded installation needs no psycopg
    pass
else:
    OUTAGE_ERRORS = (*OUTAGE_ERRORS, psycopg.OperationalError, psycopg.InterfaceError)


def database_outage(exception: BaseException | None) -> bool:
    """Whether `exception` (or one it was raised from) is a lost database connection."""
    seen: set[int] = set()
    while exception is not None and id(exception) not in seen:
        if isinstance(exception, OUTAGE_ERRORS):
            return True
        seen.add(id(exception))
        exception = exception.__cause__ or exception.__context__
    return False


def _wants_json(request: HttpRequest) -> bool:
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred == "application/json"


def _language(request: HttpRequest) -> str:
    # Whatever the locale middleware (or the user's own setting) chose before the failure;
    # otherwise the browser's cookie or Accept-Language: neither needs the database.
    chosen = getattr(request, "LANGUAGE_CODE", None)
    return str(chosen or translation.get_language_from_request(request))


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 for a database outage: a clear page in the person's language, or JSON."""
    with translation.override(_language(request)):
        if _wants_json(request):
            response: HttpResponse = JsonResponse(
                {
                    "error": "unavailable",
                    "message": gettext("We are briefly unavailable. Please try again in a minute."),
                    "retry_after": RETRY_AFTER_SECONDS,
                },
                status=503,
            )
        else:
            html = loader.get_template("503.html").render()
            response = HttpResponse(html, status=503)
        response["Content-Language"] = translation.get_language()
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: called while the uncaught exception is being handled."""
    if database_outage(sys.exc_info()[1]):
        return unavailable(request)
    return defaults.server_error(request)
