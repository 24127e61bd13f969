from collections.abc import Collection
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "sprechstunde.appointments"
    label = "appointments"
    verbose_name = _("Appointments")

    def client_timeline_sources(self) -> list[Any]:
        """This app's events in the client's timeline (clients.timeline, ADR 0060)."""
        from .timeline import sources

        return sources()

    def client_actions(self, *, user: Any, client: Any) -> list[Any]:
        """What `user` may start here for `client` from the client page (ADR 0060)."""
        from .timeline import actions

        return actions(user=user, client=client)

    def consent_withdrawn(self, *, client: Any, purposes: Collection[str], actor: Any) -> None:
        """Called by clients' consent_withdraw inside its transaction (ADR 0051): without the
        video consent, future video appointments move to phone or on site."""
        from sprechstunde.clients.choices import ConsentPurpose

        from .services import appointment_switch_from_video

        if ConsentPurpose.VIDEO in purposes:
            appointment_switch_from_video(actor=actor, client=client)
