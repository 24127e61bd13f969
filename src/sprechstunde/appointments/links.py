"""Signed one-tap links in reminders: confirm, cancel, ask for another time.

A link names one appointment and the version (SEQUENCE) it was made for, is signed with
the SECRET_KEY and expires. A moved appointment invalidates its old links; a tampered
link fails the signature check and changes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError

from .choices import AppointmentStatus, ReminderAction
from .models import Appointment

SALT = "sprechstunde.appointments.reminder-link"
# A link lives at most this long, and never beyond the start of its appointment.
MAX_AGE = datetime.timedelta(days=14)
# The SMS carries one link to a page with all three actions.
OVERVIEW = "overview"


class LinkError(ApplicationError):
    """The link cannot be used; the message says why and what to do instead."""


@dataclass(frozen=True)
class ResolvedLink:
    appointment: Appointment
    actions: tuple[str, ...]
    token: str


def reminder_link_token(*, appointment: Appointment, action: str) -> str:
    """A signed token for one action (or the overview) on this version of the appointment."""
    payload = {"a": appointment.pk, "s": appointment.sequence, "x": action}
    return signing.dumps(payload, salt=SALT)


def reminder_link_url(*, appointment: Appointment, action: str) -> str:
    token = reminder_link_token(appointment=appointment, action=action)
    return settings.SITE_URL + reverse("appointments:link", kwargs={"token": token})


def reminder_link_resolve(*, token: str) -> ResolvedLink:
    """Check a link and return what it allows; raise LinkError with a clear reason."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired as error:
        raise LinkError(_("This link has expired. Please open the portal or call us.")) from error
    except signing.BadSignature as error:
        raise LinkError(_("This link is not valid. Please open the portal or call us.")) from error
    if not isinstance(payload, dict) or not {"a", "s", "x"} <= payload.keys():
        raise LinkError(_("This link is not valid. Please open the portal or call us."))
    action = payload["x"]
    if action == OVERVIEW:
        actions: tuple[str, ...] = tuple(ReminderAction.values)
    elif action in ReminderAction.values:
        actions = (action,)
    else:
        raise LinkError(_("This link is not valid. Please open the portal or call us."))
    appointment = (
        Appointment.objects.select_related("client", "case_manager").filter(pk=payload["a"]).first()
    )
    if appointment is None:
        raise LinkError(_("This link is not valid. Please open the portal or call us."))
    if appointment.status == AppointmentStatus.CANCELLED:
        raise LinkError(_("This appointment has been cancelled."))
    if appointment.sequence != payload["s"]:
        raise LinkError(
            _("This appointment has been changed since. Please use the newest message.")
        )
    if appointment.status != AppointmentStatus.BOOKED or (
        appointment.starts_at is not None and appointment.starts_at <= timezone.now()
    ):
        raise LinkError(_("This appointment has already begun or is over."))
    if appointment.client.user_id is None:
        raise LinkError(_("Please call us to change this appointment."))
    return ResolvedLink(appointment=appointment, actions=actions, token=token)


def reminder_link_open(*, token: str) -> ResolvedLink:
    """Resolve a link for showing its page, and audit that the client's appointment was read."""
    link = reminder_link_resolve(token=token)
    audit_record(
        actor=link.appointment.client.user,
        action="appointment.read",
        target=link.appointment,
        client_id=link.appointment.client_id,
    )
    return link


# --- the join link of a video appointment --------------------------------------------------

JOIN_SALT = "sprechstunde.appointments.join-link"


def join_link_token(*, appointment: Appointment) -> str:
    """The join link's token for this version (SEQUENCE) of a video appointment.

    A plain HMAC-SHA256 signature (256 bits) over the appointment and its sequence, without a
    timestamp: every reminder of one version carries the same link, so "one device per link"
    holds across the e-mails and the SMS. Moving raises the sequence and voids it; the time
    window and a cancellation are checked when it is used (video_calls.join_links).
    """
    payload = {"a": appointment.pk, "s": appointment.sequence}
    return signing.Signer(salt=JOIN_SALT).sign_object(payload)


def join_link_url(*, appointment: Appointment) -> str:
    token = join_link_token(appointment=appointment)
    return settings.SITE_URL + reverse("video_calls:join_link", kwargs={"token": token})


def join_link_payload(*, token: str) -> tuple[int, int] | None:
    """The (appointment id, sequence) a join link was signed for, or None when it was not
    signed by us (tampered, cut off, made up)."""
    if not token or len(token) > 200:
        return None
    try:
        payload = signing.Signer(salt=JOIN_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    pk, sequence = payload.get("a"), payload.get("s")
    if type(pk) is not int or type(sequence) is not int:
        return None
    return pk, sequence
