from django.conf import settings
from django.http import HttpRequest

from .languages import language_codes_for


def site(request: HttpRequest) -> dict[str, object]:
    """Values every template may use: the Jobcenter's name, whether the outbox exists, and
    the languages the footer's switch offers this person."""
    return {
        "jobcenter_name": settings.JOBCENTER_NAME,
        "dev_outbox_enabled": settings.DEV_OUTBOX_ENABLED,
        "switch_languages": language_codes_for(getattr(request, "user", None)),
    }
