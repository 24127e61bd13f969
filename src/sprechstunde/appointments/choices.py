import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """How an appointment takes place; chosen per appointment."""

    VIDEO = "video", _("Video")
    PHONE = "phone", _("Phone")
    ON_SITE = "on_site", _("On site")


class AppointmentStatus(models.TextChoices):
    """The life of an appointment: proposed → booked → held / no-show, or cancelled."""

    PROPOSED = "proposed", _("Proposed")
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")
    HELD = "held", _("Held")
    NO_SHOW = "no_show", _("No-show")


# A client cancelling less than this before the start cancels at short notice, and can no
# longer move the appointment online (the office's rule).
SHORT_NOTICE = datetime.timedelta(hours=24)

# Statuses whose time slot is taken: they block the case manager's calendar.
BLOCKING_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.HELD, AppointmentStatus.NO_SHOW)


class CancellationClass(models.TextChoices):
    """Who cancelled and how early; short-notice cancellations count in the figures."""

    CLIENT_EARLY = "client_early", _("By the client, 24 hours or more before")
    CLIENT_LATE = "client_late", _("By the client, less than 24 hours before")
    JOBCENTER = "jobcenter", _("By the Jobcenter")


class BookingSource(models.TextChoices):
    """Which of the three ways of booking produced the appointment."""

    DIRECT = "direct", _("Booked by the case manager")
    PROPOSAL = "proposal", _("Picked by the client from proposed slots")
    OFFICE_HOURS = "office_hours", _("Booked by the client from office hours")


class Weekday(models.IntegerChoices):
    """ISO-like weekday numbers as Python's date.weekday() returns them."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class MailKind(models.TextChoices):
    """Why a mail about an appointment is sent; decides its subject and iTIP method."""

    BOOKED = "booked", _("Appointment booked")
    MOVED = "moved", _("Appointment moved")
    CANCELLED = "cancelled", _("Appointment cancelled")
    PROPOSED = "proposed", _("Slots proposed")
    OTHER_TIME_REQUESTED = "other_time_requested", _("Another time requested")
    # The client withdrew the video consent: same time, now by phone or on site.
    CHANNEL_CHANGED = "channel_changed", _("Appointment no longer by video")


# Mails that carry an iTIP calendar object, and with which METHOD (RFC 5546).
ITIP_METHODS = {
    MailKind.BOOKED: "REQUEST",
    MailKind.MOVED: "REQUEST",
    MailKind.CHANNEL_CHANGED: "REQUEST",
    MailKind.CANCELLED: "CANCEL",
}


class MailRecipient(models.TextChoices):
    """Which side of the appointment a mail goes to."""

    CLIENT = "client", _("Client")
    CASE_MANAGER = "case_manager", _("Case manager")


class ReminderChannel(models.TextChoices):
    """How a reminder reaches the client."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")


class ReminderAction(models.TextChoices):
    """What a one-tap link in a reminder does."""

    CONFIRM = "confirm", _("Confirm")
    CANCEL = "cancel", _("Cancel")
    OTHER_TIME = "other_time", _("Ask for another time")
