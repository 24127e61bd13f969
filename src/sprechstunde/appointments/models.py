"""Office hours, absences, holidays, appointments, slot proposals, calendar feeds, mails."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.models import TimeStampedModel

from .choices import (
    BLOCKING_STATUSES,
    AppointmentStatus,
    BookingSource,
    CancellationClass,
    Channel,
    MailKind,
    MailRecipient,
    ReminderChannel,
    Weekday,
)


class OfficeHours(TimeStampedModel):
    """One weekly block of a case manager's office hours (e.g. Tuesdays 9:00 to 12:00).

    The block is cut into slots of `slot_minutes`; clients may book free slots themselves
    only where `is_client_bookable` is set.
    """

    case_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("case manager"),
        on_delete=models.CASCADE,
        related_name="office_hours",
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    channels = models.JSONField(_("channels offered"), default=list)
    on_site_address = models.TextField(_("address for on-site appointments"), blank=True)
    is_client_bookable = models.BooleanField(_("clients may book these slots"), default=True)

    class Meta:
        ordering = ["case_manager", "weekday", "start_time"]
        verbose_name = _("office hours")
        verbose_name_plural = _("office hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")),
                name="office_hours_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(slot_minutes__gte=5, slot_minutes__lte=240),
                name="office_hours_slot_length_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}\u2013{self.end_time:%H:%M}"

    def offers(self, channel: str) -> bool:
        return channel in self.channels


class Absence(TimeStampedModel):
    """A staff member is away for a date range (holiday, training); no bookings then."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="absences",
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="absence_range_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_on}\u2013{self.ends_on}"


class PublicHoliday(models.Model):
    """A public holiday of the Land, filled in by an admin; nobody can be booked on it."""

    day = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["day"]
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.name}"


class Appointment(TimeStampedModel):
    """A meeting between a case manager and a client, by video, phone or on site.

    `uid` and `sequence` are the iCalendar identity (RFC 5545 UID, RFC 5546 SEQUENCE):
    moving keeps the uid and raises the sequence, so calendars update the same event.
    While proposed, the times are empty and the candidate slots are `proposed_slots`.
    """

    uid = models.UUIDField(_("calendar UID"), default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(_("revision"), default=0)
    case_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("case manager"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True, db_index=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    location = models.TextField(
        _("address or note"),
        blank=True,
        help_text=_("The address for on-site appointments, a note for phone appointments."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AppointmentStatus.choices, db_index=True
    )
    source = models.CharField(_("booked by"), max_length=15, choices=BookingSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by the client at"), null=True, blank=True)
    other_time_requested_at = models.DateTimeField(
        _("another time requested at"), null=True, blank=True
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    cancellation_class = models.CharField(
        _("kind of cancellation"),
        max_length=15,
        choices=CancellationClass.choices,
        blank=True,
    )
    attendance_marked_at = models.DateTimeField(_("attendance recorded at"), null=True, blank=True)
    attendance_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actual_minutes = models.PositiveSmallIntegerField(_("actual duration (minutes)"), null=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status=AppointmentStatus.PROPOSED)
                | models.Q(status=AppointmentStatus.CANCELLED)
                | models.Q(starts_at__isnull=False, ends_at__isnull=False),
                name="appointment_times_set_when_booked",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
            ),
            # Backstop for races the service-level lock does not cover: one case manager
            # can never hold two live appointments starting at the same instant.
            models.UniqueConstraint(
                fields=["case_manager", "starts_at"],
                condition=models.Q(status__in=BLOCKING_STATUSES),
                name="appointment_no_double_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.pk}"

    @property
    def is_live(self) -> bool:
        return self.status in BLOCKING_STATUSES

    @property
    def duration_minutes(self) -> int | None:
        if self.starts_at is None or self.ends_at is None:
            return None
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class SlotProposal(models.Model):
    """One of the one to three slots a case manager proposes; the client picks one of them."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="proposed_slots"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("proposed slot")
        verbose_name_plural = _("proposed slots")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="slot_proposal_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"Slot {self.pk} of appointment {self.appointment_id}"


class CalendarFeedToken(models.Model):
    """A private, revocable ICS feed URL for one staff member. Only the SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("calendar feed token")
        verbose_name_plural = _("calendar feed tokens")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="calendar_feed_one_active_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"Feed token {self.pk}"


class AppointmentMail(models.Model):
    """One mail about an appointment to one side, kept until it is sent.

    The row is written in the same transaction as the change, so a mail is never lost:
    if SMTP is down the task fails and the row stays unsent for a retry. The unique
    constraint makes sure the same mail is never sent twice.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="mails")
    kind = models.CharField(max_length=25, choices=MailKind.choices)
    recipient = models.CharField(max_length=15, choices=MailRecipient.choices)
    sequence = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when a newer version of the appointment made this mail pointless; never sent then.
    superseded_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A worker that is sending the mail holds it until then; another worker keeps off.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("appointment mail")
        verbose_name_plural = _("appointment mails")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "recipient", "sequence"],
                name="appointment_mail_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} (appointment {self.appointment_id})"


class Reminder(models.Model):
    """One reminder for one version of an appointment, due a fixed time before it starts.

    Rows are created when an appointment is booked or moved, one per configured step and
    channel. The unique constraint and the claim make sure it is sent at most once; a
    reminder for a moved (older `sequence`) or cancelled appointment, or one whose time
    has passed the start, is skipped, never sent.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    sequence = models.PositiveIntegerField()
    step_minutes = models.PositiveIntegerField(_("minutes before the start"))
    channel = models.CharField(max_length=10, choices=ReminderChannel.choices)
    due_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=30, blank=True)
    # Set by the one worker that sends it: its task worker id, so that the claim of a worker
    # that died is freed (`reminder_claims_release_dead`). `handed_over_at` is written just
    # before the mail server or SMS gateway is called: a reminder whose worker died after it
    # may have gone out and is never sent again (a duplicate annoys; ADR 0082).
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "sequence", "step_minutes", "channel"],
                name="reminder_once_per_step",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(sent_at__isnull=True, skipped_at__isnull=True),
                name="reminder_open_due",
            )
        ]

    def __str__(self) -> str:
        return f"Reminder {self.step_minutes} min, appointment {self.appointment_id}"


class ReminderSweep(models.Model):
    """One queued sweep job per due minute: however many reminders fall due in a minute, the
    queue holds one job for it, which sends them all in batches (bench/reminders.py)."""

    run_at = models.DateTimeField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder sweep")
        verbose_name_plural = _("reminder sweeps")

    def __str__(self) -> str:
        return f"Reminder sweep at {self.run_at:%Y-%m-%d %H:%M}"
