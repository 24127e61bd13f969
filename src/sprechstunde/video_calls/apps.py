from collections.abc import Collection
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideoCallsConfig(AppConfig):
    name = "sprechstunde.video_calls"
    label = "video_calls"
    verbose_name = _("Video consultations")

    def consent_withdrawn(self, *, client: Any, purposes: Collection[str], actor: Any) -> None:
        """Called by clients' consent_withdraw inside its transaction (ADR 0051): without the
        video consent, the calls of the client's future appointments are closed for good."""
        from sprechstunde.clients.choices import ConsentPurpose

        from .services import call_void_for_client

        if ConsentPurpose.VIDEO in purposes:
            call_void_for_client(actor=actor, client=client)
