"""Choices and limits of the messaging app."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The longest message body, in characters. A websocket frame may hold the body at up to four
# UTF-8 bytes per character plus the JSON around it (see consumers.MAX_FRAME_BYTES).
MESSAGE_MAX_LENGTH = 4000
# The most photos or PDFs one message may carry (each becomes a document of the client).
MESSAGE_MAX_ATTACHMENTS = 5


class Side(models.TextChoices):
    """Which end of a conversation someone writes or reads from."""

    CLIENT = "client", _("Client")
    STAFF = "staff", _("Jobcenter")

    @property
    def other(self) -> "Side":
        return Side.STAFF if self == Side.CLIENT else Side.CLIENT
