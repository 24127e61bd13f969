from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgreementsConfig(AppConfig):
    name = "sprechstunde.agreements"
    label = "agreements"
    verbose_name = _("Plans and decisions")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the Jobcenter settings check

    def client_timeline_sources(self) -> list[Any]:
        """This app's events in the client's timeline (clients.timeline, ADR 0060)."""
        from .timeline import sources

        return sources()

    def client_actions(self, *, user: Any, client: Any) -> list[Any]:
        """What `user` may start here for `client` from the client page (ADR 0060)."""
        from .timeline import actions

        return actions(user=user, client=client)
