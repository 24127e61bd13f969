"""The e-mails about appointments: iTIP invitations (RFC 6047) and short notices.

An invitation carries a `text/calendar; method=...` alternative part and the same data as
an .ics attachment, for mail programs that show only one of the two. The text says when,
how and where, and links to the portal; it holds no other social data.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .choices import ITIP_METHODS, Channel, MailKind, MailRecipient, ReminderAction
from .ical import appointment_url, itip_calendar, location_text, map_url
from .models import Appointment, AppointmentMail, Reminder
from .selectors import local_zone


def _recipient(mail: AppointmentMail) -> tuple[str, str]:
    """The address and language of the mail's recipient."""
    appointment = mail.appointment
    if mail.recipient == MailRecipient.CLIENT:
        return appointment.client.email, appointment.client.preferred_language or "de"
    case_manager = appointment.case_manager
    return case_manager.email or "", case_manager.preferred_language or settings.LANGUAGE_CODE


def _when(mail: AppointmentMail) -> str:
    appointment = mail.appointment
    if appointment.starts_at is None or appointment.ends_at is None:
        return ""
    zone = local_zone()
    start = appointment.starts_at.astimezone(zone)
    end = appointment.ends_at.astimezone(zone)
    return f"{start:%d.%m.%Y}, {start:%H:%M}\u2013{end:%H:%M}"


def _subject(mail: AppointmentMail) -> str:
    when = _when(mail)
    to_client = mail.recipient == MailRecipient.CLIENT
    if mail.kind == MailKind.BOOKED:
        return (
            _("Your appointment on %(when)s") if to_client else _("New appointment on %(when)s")
        ) % {"when": when}
    if mail.kind == MailKind.MOVED:
        return _("Appointment moved to %(when)s") % {"when": when}
    if mail.kind == MailKind.CANCELLED:
        return _("Appointment on %(when)s cancelled") % {"when": when}
    if mail.kind == MailKind.CHANNEL_CHANGED:
        return _("Appointment on %(when)s: no longer by video") % {"when": when}
    if mail.kind == MailKind.PROPOSED:
        return _("Please choose a time for your appointment")
    return _("A client asked for another appointment time")


def _body(mail: AppointmentMail) -> str:
    appointment = mail.appointment
    url = appointment_url(appointment, mail.recipient)
    to_client = mail.recipient == MailRecipient.CLIENT
    lines = [_("Hello,"), ""]
    if mail.kind == MailKind.PROPOSED:
        portal = settings.SITE_URL + reverse("appointments:portal_list")
        lines += [
            _("your Jobcenter has proposed times for an appointment."),
            _("Please choose one, or ask for another time:"),
            portal,
        ]
    elif mail.kind == MailKind.OTHER_TIME_REQUESTED:
        lines += [_("a client asked for another time for an appointment."), url]
    else:
        intro = {
            MailKind.BOOKED: _("your appointment is booked.")
            if to_client
            else _("an appointment has been booked."),
            MailKind.MOVED: _("your appointment has been moved.")
            if to_client
            else _("an appointment has been moved."),
            MailKind.CANCELLED: _("this appointment has been cancelled."),
            MailKind.CHANNEL_CHANGED: _(
                "your appointment no longer takes place by video. The time stays the same."
            )
            if to_client
            else _(
                "the client has withdrawn the consent to video consultations, so an "
                "appointment no longer takes place by video. The time stays the same."
            ),
        }[MailKind(mail.kind)]
        lines += [
            intro,
            "",
            _("When: %(when)s") % {"when": _when(mail)},
            _("How: %(channel)s") % {"channel": Channel(appointment.channel).label},
        ]
        if mail.kind != MailKind.CANCELLED:
            lines.append(
                _("Where: %(where)s") % {"where": location_text(appointment, mail.recipient)}
            )
            if appointment.channel == Channel.ON_SITE:
                lines.append(_("Map: %(url)s") % {"url": map_url(appointment.location)})
        lines += ["", _("Details: %(url)s") % {"url": url}]
        if to_client and mail.kind != MailKind.CANCELLED:
            lines.append(_("There you can confirm, cancel or ask for another time."))
        lines += ["", _("The attached calendar file adds this to your calendar.")]
    lines += ["", settings.JOBCENTER_NAME]
    return "\n".join(lines)


def appointment_mail_message(mail: AppointmentMail) -> EmailMultiAlternatives | None:
    """The ready-to-send message for one stored mail, or None if there is no address."""
    address, language = _recipient(mail)
    if not address:
        return None
    with translation.override(language):
        message = EmailMultiAlternatives(
            subject=_subject(mail),
            body=_body(mail),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
        )
        method = ITIP_METHODS.get(MailKind(mail.kind))
        if method is not None:
            ics = itip_calendar(mail.appointment, method=method, audience=mail.recipient)
            # RFC 6047 §2.4: the calendar part's method parameter matches METHOD inside.
            message.attach_alternative(ics.decode("utf-8"), f"text/calendar; method={method}")
            message.attach(
                "invite.ics" if method == "REQUEST" else "cancel.ics",
                ics,
                f"application/ics; method={method}",
            )
    return message


def _reminder_when(reminder: Reminder) -> str:
    starts_at = reminder.appointment.starts_at
    if starts_at is None:
        return ""
    local = starts_at.astimezone(local_zone())
    return f"{local:%d.%m.%Y}, {local:%H:%M}"


def reminder_mail_message(reminder: Reminder) -> EmailMultiAlternatives | None:
    """A reminder e-mail with one-tap links: confirm, cancel, ask for another time."""
    from .links import join_link_url, reminder_link_url

    appointment = reminder.appointment
    client = appointment.client
    if not client.email:
        return None
    with translation.override(client.preferred_language or "de"):
        when = _reminder_when(reminder)
        lines = [
            _("Hello,"),
            "",
            _("a reminder of your appointment on %(when)s (%(channel)s).")
            % {"when": when, "channel": Channel(appointment.channel).label},
        ]
        if appointment.channel == Channel.ON_SITE:
            lines.append(_("Where: %(where)s") % {"where": location_text(appointment, "client")})
        lines.append("")
        if client.user_id and appointment.channel == Channel.VIDEO:
            # Two taps into the waiting room, no login code: the link opens the pre-join
            # check for this call only, on one device (ADR 0049); the call opens 15 minutes
            # before (video_calls.permissions.JOIN_OPENS_BEFORE).
            join = join_link_url(appointment=appointment)
            lines += [
                _("Join the video call (from 15 minutes before): %(url)s") % {"url": join},
                _("The link works for this appointment only, on one device."),
                "",
            ]
        if client.user_id:
            for action, label in (
                (ReminderAction.CONFIRM, _("I will come")),
                (ReminderAction.CANCEL, _("Cancel")),
                (ReminderAction.OTHER_TIME, _("Ask for another time")),
            ):
                lines.append(
                    f"{label}: {reminder_link_url(appointment=appointment, action=action)}"
                )
        else:
            lines.append(_("If you cannot come, please call us."))
        lines += ["", settings.JOBCENTER_NAME]
        return EmailMultiAlternatives(
            subject=_("Reminder: appointment on %(when)s") % {"when": when},
            body="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[client.email],
        )


def reminder_sms_text(reminder: Reminder) -> str:
    """A short text: when, and one link to confirm, cancel or ask for another time (for a
    video appointment also the join link). Content-free: `templates/sms/reminder.txt`."""
    from sprechstunde.core.sms import sms_render

    from .links import OVERVIEW, join_link_url, reminder_link_url

    appointment = reminder.appointment
    language = appointment.client.preferred_language or settings.LANGUAGE_CODE
    context: dict[str, str] = {}
    if appointment.client.user_id and appointment.channel == Channel.VIDEO:
        context["join_url"] = join_link_url(appointment=appointment)
        context["change_url"] = reminder_link_url(appointment=appointment, action=OVERVIEW)
    elif appointment.client.user_id:
        context["overview_url"] = reminder_link_url(appointment=appointment, action=OVERVIEW)
    with translation.override(language):
        context["when"] = str(_reminder_when(reminder))
    return sms_render(kind="reminder", context=context, language=language)


# What a client without an e-mail address gets by SMS instead of the invitation mail.
SMS_KINDS = (MailKind.BOOKED, MailKind.MOVED, MailKind.CANCELLED, MailKind.CHANNEL_CHANGED)


def appointment_sms_text(appointment: Appointment, kind: str) -> str:
    """The SMS about a booked, moved, changed or cancelled appointment: when and how, nothing
    else (`templates/sms/appointment.txt`), in the client's language."""
    from sprechstunde.core.sms import sms_render

    language = appointment.client.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        local = appointment.starts_at.astimezone(local_zone()) if appointment.starts_at else None
        context = {
            "kind": kind,
            "when": f"{local:%d.%m.%Y}, {local:%H:%M}" if local else "",
            "channel": str(Channel(appointment.channel).label),
            "phone": getattr(settings, "JOBCENTER_PHONE", ""),
        }
    return sms_render(kind="appointment", context=context, language=language)
