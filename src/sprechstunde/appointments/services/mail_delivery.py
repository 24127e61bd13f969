"""Mails about appointments: stored with the change, sent once from the task queue."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..caldav import caldav_enabled
from ..choices import ITIP_METHODS, AppointmentStatus, MailKind, MailRecipient
from ..models import Appointment, AppointmentMail


def _queue_mails(
    appointment: Appointment, kind: str, recipients: Sequence[str] | None = None
) -> None:
    """Store the mails in this transaction and send them from the task queue after commit."""
    from ..tasks import appointment_caldav_sync, appointment_mail_send

    if recipients is None:
        recipients = [MailRecipient.CLIENT, MailRecipient.CASE_MANAGER]
    for recipient in recipients:
        if recipient == MailRecipient.CLIENT and appointment.client.processing_restricted_at:
            continue  # restricted on request (Art. 18 GDPR): nothing goes out (ADR 0062)
        if recipient == MailRecipient.CLIENT and not appointment.client.email:
            # No e-mail: a text message where there is a mobile number and a gateway;
            # otherwise the client gets the news in the portal, by post or by phone.
            _queue_client_sms(appointment, kind)
            continue
        mail, created = AppointmentMail.objects.get_or_create(
            appointment=appointment,
            kind=kind,
            recipient=recipient,
            sequence=appointment.sequence,
        )
        if created:
            transaction.on_commit(functools.partial(appointment_mail_send.enqueue, mail.pk))
    if kind in ITIP_METHODS and caldav_enabled():
        # The same changes that send an invitation also update the CalDAV copy, if set up.
        transaction.on_commit(functools.partial(appointment_caldav_sync.enqueue, appointment.pk))


def _queue_client_sms(appointment: Appointment, kind: str) -> None:
    from sprechstunde.core.sms import sms_queue

    from ..mails import SMS_KINDS, appointment_sms_text

    client = appointment.client
    if kind not in SMS_KINDS or not client.mobile_number:
        return
    sms_queue(
        to=client.mobile_number,
        kind=f"appointment_{kind}",
        text=appointment_sms_text(appointment, kind),
        dedupe_key=f"appointment:{appointment.pk}:{kind}:{appointment.sequence}",
    )


def client_hears_of_appointments(*, client: object) -> bool:
    """Whether the client is told about a booking by mail or SMS (for honest messages)."""
    from sprechstunde.core.sms import sms_enabled

    return bool(getattr(client, "email", "")) or (
        bool(getattr(client, "mobile_number", "")) and sms_enabled()
    )


# --- mail delivery ---------------------------------------------------------------------------

# How long one worker may hold a mail while sending it before another may try again.
MAIL_CLAIM = datetime.timedelta(minutes=5)


def _mail_is_outdated(mail: AppointmentMail) -> bool:
    """A mail about an older version of the appointment is replaced by a newer one."""
    appointment = mail.appointment
    if mail.kind == MailKind.PROPOSED:
        return appointment.status != AppointmentStatus.PROPOSED
    if mail.kind in (MailKind.BOOKED, MailKind.MOVED, MailKind.CHANNEL_CHANGED):
        return (
            mail.sequence != appointment.sequence
            or appointment.status == AppointmentStatus.CANCELLED
        )
    return False


def appointment_mail_deliver(*, mail_id: int) -> str:
    """Send one stored mail once. Returns 'sent', 'superseded', 'skipped' or 'uncertain'.

    A short claim keeps two workers from sending the same mail; a failure releases the
    claim and re-raises, so the mail stays unsent and is retried from the task queue. The
    hand-over itself goes through `handover_once`, so a worker killed while sending never
    leads to a second copy (ADR 0082).
    """
    from sprechstunde.core.handover import mail_handover_once
    from sprechstunde.core.task_worker import current_worker_id

    from ..mails import appointment_mail_message

    now = timezone.now()
    pending = AppointmentMail.objects.filter(
        pk=mail_id, sent_at__isnull=True, superseded_at__isnull=True
    )
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if current_worker_id():
        # A task worker's claim on the mail is only advisory: the hand-over row decides,
        # and it lets a job put back after its worker died take over at once.
        claimable = Q()
    claimed = pending.filter(claimable).update(
        claimed_until=now + MAIL_CLAIM, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    mail = AppointmentMail.objects.select_related(
        "appointment", "appointment__client", "appointment__case_manager"
    ).get(pk=mail_id)
    if _mail_is_outdated(mail):
        AppointmentMail.objects.filter(pk=mail_id).update(superseded_at=now, claimed_until=None)
        return "superseded"
    message = appointment_mail_message(mail)
    if message is None:
        AppointmentMail.objects.filter(pk=mail_id).update(superseded_at=now, claimed_until=None)
        return "superseded"
    try:
        outcome = mail_handover_once(key=f"appointment-mail:{mail_id}", message=message)
    except Exception:
        AppointmentMail.objects.filter(pk=mail_id).update(
            claimed_until=None, last_failed_at=timezone.now()
        )
        raise
    if outcome == "busy":
        return "skipped"
    # "already" and "uncertain": the mail server has (or may have) it; never again.
    AppointmentMail.objects.filter(pk=mail_id).update(sent_at=timezone.now(), claimed_until=None)
    return "uncertain" if outcome == "uncertain" else "sent"


def appointment_mail_pending_ids() -> list[int]:
    """Mails still to be sent and not held by a worker (after an outage or a restart)."""
    return list(
        AppointmentMail.objects.filter(sent_at__isnull=True, superseded_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now()))
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
