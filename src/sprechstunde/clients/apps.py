from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "sprechstunde.clients"
    label = "clients"
    verbose_name = _("Clients")

    def client_timeline_sources(self) -> list[Any]:
        """Consents given and withdrawn in the client's timeline (ADR 0060)."""
        from .timeline import consent_sources

        return consent_sources()
