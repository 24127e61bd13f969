from django.db import models
from django.utils.translation import gettext_lazy as _


class ParticipantRole(models.TextChoices):
    """Why someone is in the call; staff host it, everyone else waits to be admitted."""

    STAFF = "staff", _("Case manager")
    CLIENT = "client", _("Client")
    INTERPRETER = "interpreter", _("Interpreter")


class ParticipantState(models.TextChoices):
    """Waiting room state: waiting → admitted, or removed (never back into this call)."""

    WAITING = "waiting", _("Waiting")
    ADMITTED = "admitted", _("Admitted")
    REMOVED = "removed", _("Removed")


class InterpreterKind(models.TextChoices):
    """Spoken-language or sign-language interpreting."""

    SPOKEN = "spoken", _("Interpreter")
    SIGN = "sign", _("Sign-language interpreter")


# A full mesh sends N-1 video streams from every phone; four people is the limit (ADR 0022).
MAX_PARTICIPANTS = 4
