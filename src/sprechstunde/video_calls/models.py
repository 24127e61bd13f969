"""Call sessions of video appointments, their participants and presences, interpreter links.

Only metadata is kept: who was in the call and from when to when. Media never passes the
server (browser to browser, DTLS-SRTP, at most relayed as ciphertext by coturn) and the
in-call text chat is not stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import InterpreterKind, ParticipantRole, ParticipantState


class Call(models.Model):
    """The one video call of a video appointment; created when the first person opens it."""

    appointment = models.OneToOneField(
        "appointments.Appointment",
        verbose_name=_("appointment"),
        on_delete=models.PROTECT,
        related_name="video_call",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    is_locked = models.BooleanField(_("locked"), default=False)
    # The first admitted person entered / the last one left (cleared while people are in it).
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # Set when staff ended it for everyone: nobody can join afterwards.
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The appointment's attendance_marked_at as this call wrote it: while the two are equal the
    # mark is the call's own and a later part of the call may update it; once staff record
    # attendance by hand, theirs stands (ADR 0054).
    attendance_marked_at = models.DateTimeField(null=True, blank=True)
    # Set by the sweep once the join window is over: open presences closed, attendance
    # recorded as far as the call can tell. The sweep never looks at the call again.
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("video call")
        verbose_name_plural = _("video calls")

    def __str__(self) -> str:
        return f"Call {self.pk}"


class InterpreterInvitation(models.Model):
    """A link for one interpreter to one call. Only the SHA-256 of the token is stored.

    It works from 15 minutes before to 30 minutes after the appointment's slot, until revoked.
    """

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="invitations")
    kind = models.CharField(_("kind"), max_length=10, choices=InterpreterKind.choices)
    language = models.CharField(_("language"), max_length=60, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("interpreter invitation")
        verbose_name_plural = _("interpreter invitations")

    def __str__(self) -> str:
        return f"Interpreter invitation {self.pk}"


class Participant(models.Model):
    """One person in one call: the case manager (or their substitute), the client, or an
    interpreter (no account; known by the invitation and the name they typed)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="participants")
    role = models.CharField(_("role"), max_length=12, choices=ParticipantRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invitation = models.ForeignKey(
        InterpreterInvitation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participants",
    )
    display_name = models.CharField(_("name"), max_length=80)
    state = models.CharField(_("state"), max_length=10, choices=ParticipantState.choices)
    # An interpreter link admits one browser; a second one gets this entry, which staff let
    # in one by one (never with "let everyone in"). A third is refused (issue 11).
    is_second_device = models.BooleanField(_("second device"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(
                fields=["call", "user"],
                condition=models.Q(user__isnull=False),
                name="video_participant_once_per_user",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(invitation__isnull=False),
                name="video_participant_user_or_invitation",
            ),
        ]

    def __str__(self) -> str:
        return f"Participant {self.pk} ({self.role})"


class Presence(models.Model):
    """One connection of a participant to the call: when it came, was let in, and went.

    `session` is a random id chosen by the page, stable across websocket reconnects of that
    page, so peers keep their media connections through a short network change.
    """

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="presences")
    channel_name = models.CharField(max_length=200)
    session = models.CharField(max_length=32)
    entered_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["entered_at", "id"]
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        indexes = [
            models.Index(
                fields=["participant"],
                condition=models.Q(left_at__isnull=True),
                name="video_presence_open",
            )
        ]

    def __str__(self) -> str:
        return f"Presence {self.pk}"


class JoinLink(models.Model):
    """The state of one appointment version's join link (the link in the reminders), kept
    from its first use. Only the SHA-256 of the token and of the device secret are stored.

    The first page that enters the call with the link binds it to its browser session (the
    device): that session may come back as often as it needs within the window; any other
    device is refused and told to log in with a code instead (ADR 0049).
    """

    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="join_links"
    )
    sequence = models.PositiveIntegerField()
    token_hash = models.CharField(max_length=64, unique=True)
    first_opened_at = models.DateTimeField(auto_now_add=True)
    device_hash = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_opened_at", "id"]
        verbose_name = _("join link")
        verbose_name_plural = _("join links")

    def __str__(self) -> str:
        return f"Join link {self.pk}"
