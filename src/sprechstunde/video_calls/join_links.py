"""The join link in a video appointment's reminders: from the mail into the call without a
login code, for that one call and nothing else (ADR 0049).

The token is signed in appointments.links (appointment id and sequence, HMAC-SHA256). Opening
it checks the window (30 minutes before the start to the end), a move (the sequence), a
cancellation and the client's access, then puts a *grant* into the anonymous session: the
appointment, its sequence and a random device secret. Nobody is logged in by it; the call
page and the call's websocket accept the grant for that appointment only, every other page
still asks for the code login. The first page that enters the waiting room binds the link
to its device secret; another device gets the "used" page. Every use and every refusal is
in the audit trail ("join_link.use", "join_link.refused.<reason>").
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.links import join_link_payload
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.services import audit_denial_record, audit_record
from sprechstunde.core.errors import ApplicationError

from . import permissions, services
from .choices import ParticipantRole
from .models import Call, JoinLink, Participant

# The anonymous session's grant: one appointment (the last link opened wins).
SESSION_KEY = "video_calls.join_link"
# The link opens the pre-join check from 30 minutes before the start (the call itself opens
# 10 minutes before, see permissions.JOIN_OPENS_BEFORE) until the appointment's end.
OPENS_BEFORE = datetime.timedelta(minutes=30)

# Why a link cannot be used; the page and the audit entry name the reason.
TAMPERED = "tampered"
CANCELLED = "cancelled"
MOVED = "moved"
EARLY = "early"
EXPIRED = "expired"
CLOSED = "closed"
NO_ACCESS = "no_access"
FOREIGN = "foreign"
USED = "used"


def refusal_text(reason: str) -> Any:
    texts = {
        TAMPERED: _("This link is not valid. It may have been cut off when it was copied."),
        CANCELLED: _("This appointment has been cancelled."),
        MOVED: _(
            "This appointment has been moved. Please use the link in the newest message "
            "from the Jobcenter."
        ),
        EARLY: _("This link works from 30 minutes before the appointment."),
        EXPIRED: _("This appointment is over. The link no longer works."),
        CLOSED: _("This call has ended."),
        NO_ACCESS: _("This appointment cannot be joined by video with this link."),
        FOREIGN: _(
            "This link belongs to someone else's appointment. Please log out first, or use "
            "your own link."
        ),
        USED: _(
            "This link has already been used on another device. Please use that device, or "
            "log in with a code to join on this one."
        ),
    }
    return texts.get(reason, texts[TAMPERED])


class JoinLinkRefusedError(ApplicationError):
    """The link cannot be used; `reason` names why, `appointment` is known unless tampered."""

    def __init__(self, reason: str, *, appointment: Appointment | None = None) -> None:
        super().__init__(refusal_text(reason))
        self.reason = reason
        self.appointment = appointment

    @property
    def language(self) -> str:
        """The client's language (not the browser's): the page is for the client. A foreign
        link's page is for whoever is logged in, in their language."""
        if self.reason == FOREIGN:
            return translation.get_language() or settings.LANGUAGE_CODE
        if self.appointment is not None:
            own = self.appointment.client.preferred_language
            if own in dict(settings.LANGUAGES):
                return own
        return settings.LANGUAGE_CODE

    @property
    def opens_at(self) -> datetime.datetime | None:
        if self.reason != EARLY or self.appointment is None:
            return None
        assert self.appointment.starts_at is not None
        return self.appointment.starts_at - OPENS_BEFORE


@dataclass(frozen=True)
class Grant:
    """What the link put into the session: this appointment version, from this device."""

    appointment_id: int
    sequence: int
    link_id: int
    device: str
    language: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _language(appointment: Appointment) -> str:
    own = appointment.client.preferred_language
    return own if own in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _standing_problem(appointment: Appointment, *, sequence: int) -> str:
    """What voids a link whatever the time: cancelled, moved, not (or no longer) a video
    appointment the client may join, or a call ended for everyone. "" when none."""
    if appointment.status == AppointmentStatus.CANCELLED:
        return CANCELLED
    if appointment.sequence != sequence:
        return MOVED
    if appointment.channel != Channel.VIDEO or appointment.starts_at is None:
        return NO_ACCESS
    user = appointment.client.user
    if (
        user is None
        or permissions.role_for_user(user=user, appointment=appointment) != ParticipantRole.CLIENT
    ):
        return NO_ACCESS
    if Call.objects.filter(appointment=appointment, closed_at__isnull=False).exists():
        return CLOSED
    return ""


def _window_problem(appointment: Appointment, now: datetime.datetime) -> str:
    assert appointment.starts_at is not None and appointment.ends_at is not None
    if now < appointment.starts_at - OPENS_BEFORE:
        return EARLY
    if now > appointment.ends_at or appointment.status not in permissions.CALL_STATUSES:
        return EXPIRED
    return ""


def _refuse(
    reason: str, *, actor: Any, appointment: Appointment, request: HttpRequest | None
) -> JoinLinkRefusedError:
    audit_record(
        actor=actor,
        action=f"join_link.refused.{reason}",
        target=appointment,
        client_id=appointment.client_id,
        request=request,
    )
    return JoinLinkRefusedError(reason, appointment=appointment)


def session_grant(*, session: Any, appointment_id: int) -> Grant | None:
    """The session's grant for this appointment, or None (no link opened, or another one)."""
    raw = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(raw, dict):
        return None
    try:
        grant = Grant(
            appointment_id=int(raw["appointment"]),
            sequence=int(raw["sequence"]),
            link_id=int(raw["link"]),
            device=str(raw["device"]),
            language=str(raw.get("language", settings.LANGUAGE_CODE)),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return grant if grant.appointment_id == appointment_id else None


def _audit_use(*, actor: Any, appointment: Appointment, request: HttpRequest | None) -> None:
    audit_record(
        actor=actor,
        action="join_link.use",
        target=appointment,
        client_id=appointment.client_id,
        request=request,
    )


def _link_get_or_create(*, token: str, appointment: Appointment, sequence: int) -> JoinLink:
    """The link's row, made at its first use (two taps at once get the same row)."""
    token_hash = _hash(token)
    link = JoinLink.objects.filter(token_hash=token_hash).first()
    if link is None:
        try:
            with transaction.atomic():
                link = JoinLink.objects.create(
                    token_hash=token_hash, appointment=appointment, sequence=sequence
                )
        except IntegrityError:
            link = JoinLink.objects.get(token_hash=token_hash)
    return link


def join_link_open(
    *, token: str, user: Any, session: Any, request: HttpRequest | None = None
) -> Appointment:
    """Someone opened the link. Check it, audit it, and (logged out) put the grant for this
    one call into their session; raise JoinLinkRefusedError with the reason otherwise.

    Opening binds nothing: mail scanners that follow links must not use a client's link up.
    The device is bound when a page enters the waiting room (join_link_participant).
    """
    actor = user if getattr(user, "is_authenticated", False) else None
    payload = join_link_payload(token=token)
    appointment = None
    if payload is not None:
        appointment = (
            Appointment.objects.select_related("client__user", "case_manager")
            .filter(pk=payload[0])
            .first()
        )
    if payload is None or appointment is None:
        # Anyone can send made-up tokens: counted per address and minute, not one entry each.
        audit_denial_record(actor=actor, action=f"join_link.refused.{TAMPERED}", request=request)
        raise JoinLinkRefusedError(TAMPERED)
    client_user = appointment.client.user
    if actor is not None and actor != client_user:
        # A link opened in a browser logged in as somebody else (a shared phone, staff
        # following a forwarded mail): never mix that account with the client's call.
        raise _refuse(FOREIGN, actor=actor, appointment=appointment, request=request)
    actor = client_user
    reason = _standing_problem(appointment, sequence=payload[1]) or _window_problem(
        appointment, timezone.now()
    )
    if reason:
        raise _refuse(reason, actor=actor, appointment=appointment, request=request)
    if getattr(user, "is_authenticated", False):
        # The client is logged in anyway: the ordinary call page, whichever device has the link.
        _audit_use(actor=actor, appointment=appointment, request=request)
        return appointment
    link = _link_get_or_create(token=token, appointment=appointment, sequence=payload[1])
    known = session_grant(session=session, appointment_id=appointment.pk)
    device = (
        known.device
        if known is not None and known.link_id == link.pk
        else secrets.token_urlsafe(32)
    )
    if link.device_hash and link.device_hash != _hash(device):
        raise _refuse(USED, actor=actor, appointment=appointment, request=request)
    _audit_use(actor=actor, appointment=appointment, request=request)
    session[SESSION_KEY] = {
        "appointment": appointment.pk,
        "sequence": payload[1],
        "link": link.pk,
        "device": device,
        "language": _language(appointment),
    }
    return appointment


def join_link_appointment(*, grant: Grant, request: HttpRequest | None = None) -> Appointment:
    """The appointment a session's grant is for, while the grant still stands (not moved,
    cancelled, used on another device, ...). The time is the call's own rule from here on:
    a client whose connection drops after the end may come back while the call is open."""
    appointment = (
        Appointment.objects.select_related("client__user", "case_manager")
        .filter(pk=grant.appointment_id)
        .first()
    )
    if appointment is None:
        raise JoinLinkRefusedError(TAMPERED)
    reason = _standing_problem(appointment, sequence=grant.sequence)
    if not reason:
        link = JoinLink.objects.filter(pk=grant.link_id, appointment=appointment).first()
        if link is None:
            reason = TAMPERED
        elif link.device_hash and link.device_hash != _hash(grant.device):
            reason = USED
    if reason:
        raise _refuse(
            reason, actor=appointment.client.user, appointment=appointment, request=request
        )
    return appointment


def join_link_participant(*, call: Call, grant: Grant, claim: bool) -> Participant:
    """The client's participant for a page that came with the link's grant. With `claim`
    (the page enters the waiting room) the link is bound to this device, if nobody else
    has it yet; raises JoinLinkRefusedError when the grant no longer stands."""
    appointment = join_link_appointment(grant=grant)
    if call.appointment_id != appointment.pk:
        raise JoinLinkRefusedError(FOREIGN, appointment=appointment)
    if claim:
        device_hash = _hash(grant.device)
        JoinLink.objects.filter(pk=grant.link_id, device_hash="").update(
            device_hash=device_hash, claimed_at=timezone.now()
        )
        if not JoinLink.objects.filter(pk=grant.link_id, device_hash=device_hash).exists():
            raise _refuse(
                USED, actor=appointment.client.user, appointment=appointment, request=None
            )
    user = appointment.client.user
    assert user is not None  # _standing_problem: a client with a portal account
    call.appointment = appointment
    return services.participant_for_user(call=call, user=user, role=ParticipantRole.CLIENT)
