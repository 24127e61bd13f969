from collections.abc import Collection
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "sprechstunde.appointments"
    label = "appointments"
    verbose_name = _("Appointments")

    def consent_withdrawn(self, *, client: Any, purposes: Collection[str], actor: Any) -> None:
        """Called by clients' consent_withdraw inside its transaction (ADR 0051): without the
        video consent, future video appointments move to phone or on site."""
        from sprechstunde.clients.choices import ConsentPurpose

        from .services import appointment_switch_from_video

        if ConsentPurpose.VIDEO in purposes:
            appointment_switch_from_video(actor=actor, client=client)
