from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Values every template may use: the Jobcenter's name and whether the outbox exists."""
    return {
        "jobcenter_name": settings.JOBCENTER_NAME,
        "dev_outbox_enabled": settings.DEV_OUTBOX_ENABLED,
    }
