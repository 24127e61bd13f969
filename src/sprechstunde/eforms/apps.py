from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EformsConfig(AppConfig):
    name = "sprechstunde.eforms"
    label = "eforms"
    verbose_name = _("Forms")

    def client_timeline_sources(self) -> list[Any]:
        """Form events in the client's timeline (clients.timeline, ADR 0060)."""
        from .timeline import sources

        return sources()
