"""Writes for video calls: the call of an appointment, joining, the waiting room, interpreter
links, leaving and ending, and the attendance record that feeds the figures."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.appointments.choices import AppointmentStatus
from sprechstunde.appointments.models import Appointment
from sprechstunde.appointments.services import MAX_APPOINTMENT_MINUTES, attendance_mark
from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import services as document_services
from sprechstunde.messaging import permissions as messaging_permissions
from sprechstunde.messaging import services as messaging_services
from sprechstunde.messaging.models import MessageAttachment

from . import events, permissions
from .choices import MAX_PARTICIPANTS, InterpreterKind, ParticipantRole, ParticipantState
from .models import Call, InterpreterInvitation, Participant, Presence

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 80
# Browsers that may enter the waiting room with one interpreter link: the interpreter's,
# and one more (a phone after the laptop failed), which staff let in on its own.
MAX_DEVICES_PER_INVITATION = 2
LANGUAGE_MAX_LENGTH = 60


class CallRefusedError(ApplicationError):
    """Joining is refused; `code` tells the page which help to show."""

    def __init__(self, message: Any, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(actor: Any, action: str, target: Any, call: Call) -> None:
    audit_record(actor=actor, action=action, target=target, client_id=call.appointment.client_id)


def call_get_or_create(*, appointment: Appointment) -> Call:
    """The call of a video appointment; made on first use (two tabs at once get the same)."""
    call = Call.objects.filter(appointment=appointment).first()
    if call is None:
        try:
            with transaction.atomic():
                call = Call.objects.create(appointment=appointment)
        except IntegrityError:
            call = Call.objects.get(appointment=appointment)
    call.appointment = appointment  # the caller's row: no second read of it
    return call


def participant_for_user(*, call: Call, user: Any, role: str) -> Participant:
    """The participant row of a case manager or client; staff are admitted from the start."""
    participant = Participant.objects.filter(call=call, user=user).first()
    if participant is None:
        state = (
            ParticipantState.ADMITTED if role == ParticipantRole.STAFF else ParticipantState.WAITING
        )
        try:
            with transaction.atomic():
                participant = Participant.objects.create(
                    call=call,
                    user=user,
                    role=role,
                    display_name=(user.display_name or "")[:NAME_MAX_LENGTH],
                    state=state,
                    admitted_at=timezone.now() if state == ParticipantState.ADMITTED else None,
                )
        except IntegrityError:
            participant = Participant.objects.get(call=call, user=user)
    participant.call = call  # the caller's rows (call, appointment): no second read of them
    return participant


# --- interpreters ---------------------------------------------------------------------------


def interpreter_invite(
    *, actor: Any, appointment: Appointment, kind: str, language: str = ""
) -> tuple[InterpreterInvitation, str]:
    """A new interpreter link for this appointment's call. The token (256 bits) is returned
    once, to be passed on; only its hash is stored."""
    if not permissions.can_invite_interpreter(user=actor, appointment=appointment):
        raise PermissionDeniedError(_("You may not invite anyone to this call."))
    if kind not in InterpreterKind.values:
        raise ApplicationError(_("Choose the kind of interpreting."), field="kind")
    language = " ".join(language.split())
    if len(language) > LANGUAGE_MAX_LENGTH:
        raise ApplicationError(_("The language name is too long."), field="language")
    call = call_get_or_create(appointment=appointment)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = InterpreterInvitation.objects.create(
            call=call, kind=kind, language=language, token_hash=token_hash(token), created_by=actor
        )
        _audit(actor, "video_call.interpreter_invite", invitation, call)
    return invitation, token


def interpreter_revoke(*, actor: Any, invitation: InterpreterInvitation) -> InterpreterInvitation:
    """The link stops working at once, and an interpreter who joined with it is put out."""
    call = invitation.call
    if permissions.role_for_user(user=actor, appointment=call.appointment) != ParticipantRole.STAFF:
        raise PermissionDeniedError(_("You may not change this call."))
    with transaction.atomic():
        invitation = InterpreterInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.revoked_by = actor
            invitation.save(update_fields=["revoked_at", "revoked_by"])
            Participant.objects.filter(invitation=invitation).update(
                state=ParticipantState.REMOVED, removed_at=timezone.now()
            )
            _audit(actor, "video_call.interpreter_revoke", invitation, call)
            events.push_roster(call)
    return invitation


def interpreter_participant_enter(
    *, invitation: InterpreterInvitation, display_name: str, known_participant_id: Any = None
) -> Participant:
    """The interpreter typed a name on the link's page: their waiting-room entry.

    One link admits one person. The first browser to use it becomes the link's interpreter;
    a second browser gets one entry of its own, marked as a second device, which staff must
    let in on its own; a third is refused. The browser's session remembers its entry
    (`known_participant_id`), and that browser gets the same entry back, however often it
    comes. So one link makes at most MAX_DEVICES_PER_INVITATION entries (it made 25).
    """
    invitation = InterpreterInvitation.objects.select_related("call__appointment").get(
        pk=invitation.pk
    )
    problem = permissions.invitation_problem(invitation=invitation)
    if problem:
        raise CallRefusedError(invitation_problem_text(problem), code=problem)
    name = " ".join(display_name.split())
    if not name:
        raise ApplicationError(_("Please type your name."), field="display_name")
    if len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(_("The name is too long."), field="display_name")
    with transaction.atomic():
        # Two browsers at once must not both become the first (or the second) device.
        InterpreterInvitation.objects.select_for_update().filter(pk=invitation.pk).values_list(
            "pk"
        ).get()
        entries = list(Participant.objects.filter(invitation=invitation).order_by("pk"))
        own = next((entry for entry in entries if entry.pk == known_participant_id), None)
        if own is not None:
            if own.state == ParticipantState.REMOVED:
                raise CallRefusedError(invitation_problem_text("removed"), code="removed")
            return own
        if len(entries) >= MAX_DEVICES_PER_INVITATION:
            raise CallRefusedError(invitation_problem_text("in_use"), code="in_use")
        participant = Participant.objects.create(
            call=invitation.call,
            invitation=invitation,
            role=ParticipantRole.INTERPRETER,
            display_name=name,
            state=ParticipantState.WAITING,
            is_second_device=bool(entries),
        )
        _audit(None, "video_call.interpreter_enter", participant, invitation.call)
    return participant


def invitation_problem_text(problem: str) -> Any:
    texts = {
        "revoked": _("This link has been withdrawn. Please ask the Jobcenter for a new one."),
        "closed": _("This call has ended."),
        "cancelled": _("This appointment no longer takes place by video."),
        "early": _("This link works from 15 minutes before the appointment."),
        "expired": _("This link has expired. Please ask the Jobcenter for a new one."),
        "in_use": _(
            "This link is already in use on two devices. Please ask the Jobcenter for a new one."
        ),
        "removed": _("You are no longer part of this call."),
    }
    return texts.get(problem, _("This link is not valid."))


# --- joining and the waiting room -----------------------------------------------------------


def participant_refusal(*, participant: Participant) -> CallRefusedError | None:
    """Why this participant may not be connected now (checked on connect and every frame)."""
    call = participant.call
    if participant.state == ParticipantState.REMOVED:
        return CallRefusedError(_("You are no longer part of this call."), code="removed")
    if call.closed_at is not None:
        return CallRefusedError(_("This call has ended."), code="closed")
    if participant.invitation_id is not None:
        assert participant.invitation is not None
        problem = permissions.invitation_problem(invitation=participant.invitation)
        if problem:
            return CallRefusedError(invitation_problem_text(problem), code=problem)
    elif not permissions.is_join_open(appointment=call.appointment):
        return CallRefusedError(_("The call is not open at this time."), code="not_open")
    return None


@dataclass(frozen=True)
class PresenceEntry:
    """A page that entered: its presence, the participant as read under the call's lock
    (with call, appointment, client, invitation and user), and the roster pushed after the
    commit."""

    presence: Presence
    participant: Participant
    roster: events.RosterPush


def presence_enter(*, participant: Participant, channel_name: str, session: str) -> PresenceEntry:
    """A page of this participant connected. Staff are in at once; others wait unless
    they were admitted before (a reconnect after a network change keeps them in)."""
    with transaction.atomic():
        Call.objects.select_for_update().filter(pk=participant.call_id).values_list("pk").get()
        # Read after the lock: the call's state as of now, and everything the caller needs.
        participant = Participant.objects.select_related(
            "call__appointment__client", "invitation__call__appointment", "user"
        ).get(pk=participant.pk)  # the caller just read it: it exists
        call = participant.call
        refusal = participant_refusal(participant=participant)
        if refusal is not None:
            raise refusal
        if participant.state == ParticipantState.WAITING and call.is_locked:
            raise CallRefusedError(
                _("The call is locked. Please wait for your case manager to contact you."),
                code="locked",
            )
        now = timezone.now()
        admitted = participant.state == ParticipantState.ADMITTED
        if admitted and not _room_for(call, participant):
            raise CallRefusedError(_("The call is full."), code="full")
        presence = Presence.objects.create(
            participant=participant,
            channel_name=channel_name,
            session=session,
            admitted_at=now if admitted else None,
        )
        changed = []
        if admitted and call.started_at is None:
            call.started_at = now
            changed.append("started_at")
            calls_finish_schedule(call=call)
        if call.ended_at is not None:
            call.ended_at = None
            changed.append("ended_at")
        if changed:
            call.save(update_fields=changed)
        _audit(participant.user, "video_call.join", presence, call)
        roster = events.push_roster(call)
    return PresenceEntry(presence=presence, participant=participant, roster=roster)


def _room_for(call: Call, participant: Participant) -> bool:
    others = (
        Presence.objects.filter(
            participant__call=call,
            participant__state=ParticipantState.ADMITTED,
            left_at__isnull=True,
        )
        .exclude(participant=participant)
        .values("participant")
        .distinct()
        .count()
    )
    return others < MAX_PARTICIPANTS - 1


def presence_leave(*, presence: Presence, on_purpose: bool = False) -> None:
    """A page closed or lost its connection. When the last person has gone the call ends
    (until someone comes back) and attendance is recorded."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=presence.participant.call_id).first()
        if call is None:
            return
        updated = Presence.objects.filter(pk=presence.pk, left_at__isnull=True).update(
            left_at=timezone.now()
        )
        if not updated:
            return
        participant = presence.participant
        _audit(participant.user, "video_call.leave", presence, call)
        if on_purpose:
            events.push_left(call, participant.pk)
        nobody_left = not Presence.objects.filter(
            participant__call=call, left_at__isnull=True
        ).exists()
        if nobody_left and call.started_at is not None:
            call.ended_at = timezone.now()
            call.save(update_fields=["ended_at"])
            _record_attendance(call)
        events.push_roster(call)


def _require_host(host: Participant) -> Call:
    found = Participant.objects.select_related("call__appointment").filter(pk=host.pk).first()
    if found is None:
        raise PermissionDeniedError(_("Only the case manager can do this."))
    host = found
    if host.role != ParticipantRole.STAFF or host.state != ParticipantState.ADMITTED:
        raise PermissionDeniedError(_("Only the case manager can do this."))
    if permissions.role_for_user(user=host.user, appointment=host.call.appointment) != (
        ParticipantRole.STAFF
    ):
        raise PermissionDeniedError(_("Only the case manager can do this."))
    return host.call


def _guest(call: Call, participant_id: Any) -> Participant:
    participant = Participant.objects.filter(call=call, pk=participant_id).first()
    if participant is None or participant.role == ParticipantRole.STAFF:
        raise ApplicationError(_("This person is not in the call."))
    return participant


def participant_admit(*, host: Participant, participant_id: Any) -> Participant:
    """Let one waiting person in."""
    call = _require_host(host)
    with transaction.atomic():
        participant = _guest(call, participant_id)
        if participant.state == ParticipantState.WAITING:
            _admit(call, participant)
            _audit(host.user, "video_call.admit", participant, call)
            events.push_roster(call)
    return participant


def _admit(call: Call, participant: Participant) -> None:
    now = timezone.now()
    participant.state = ParticipantState.ADMITTED
    participant.admitted_at = now
    participant.save(update_fields=["state", "admitted_at"])
    Presence.objects.filter(
        participant=participant, left_at__isnull=True, admitted_at__isnull=True
    ).update(admitted_at=now)
    if call.started_at is None:
        Call.objects.filter(pk=call.pk, started_at__isnull=True).update(started_at=now)
        calls_finish_schedule(call=call)


def participant_admit_all(*, host: Participant) -> int:
    """Let everyone in who is waiting now (up to the size limit of a call), except a second
    device of an interpreter link: staff let that one in on its own, knowingly."""
    call = _require_host(host)
    admitted = 0
    with transaction.atomic():
        waiting = Participant.objects.filter(
            call=call,
            state=ParticipantState.WAITING,
            is_second_device=False,
            presences__isnull=False,
            presences__left_at__isnull=True,
        ).distinct()
        for participant in waiting:
            _admit(call, participant)
            _audit(host.user, "video_call.admit", participant, call)
            admitted += 1
        if admitted:
            events.push_roster(call)
    return admitted


def participant_remove(*, host: Participant, participant_id: Any) -> Participant:
    """Put someone out of the call or the waiting room; they cannot come back to this call."""
    call = _require_host(host)
    with transaction.atomic():
        participant = _guest(call, participant_id)
        if participant.state != ParticipantState.REMOVED:
            participant.state = ParticipantState.REMOVED
            participant.removed_at = timezone.now()
            participant.save(update_fields=["state", "removed_at"])
            _audit(host.user, "video_call.remove", participant, call)
            events.push_roster(call)
    return participant


def call_lock(*, host: Participant, locked: bool) -> Call:
    """While locked nobody new can enter the waiting room; people already admitted stay."""
    call = _require_host(host)
    with transaction.atomic():
        Call.objects.filter(pk=call.pk).update(is_locked=bool(locked))
        call.is_locked = bool(locked)
        _audit(host.user, "video_call.lock" if locked else "video_call.unlock", call, call)
        events.push_roster(call)
    return call


def call_end(*, host: Participant) -> Call:
    """Staff end the call for everyone: all pages hang up and nobody can join again."""
    call = _require_host(host)
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.closed_at is not None:
            return call
        now = timezone.now()
        call.closed_at = now
        call.closed_by = host.user
        Presence.objects.filter(participant__call=call, left_at__isnull=True).update(left_at=now)
        if call.started_at is not None:
            call.ended_at = now
        call.save(update_fields=["closed_at", "closed_by", "ended_at"])
        _audit(host.user, "video_call.end", call, call)
        if call.started_at is not None:
            _record_attendance(call)
        events.push_ended(call)
    return call


# --- records ---------------------------------------------------------------------------------


def _intervals(call: Call, role: str) -> list[tuple[datetime.datetime, datetime.datetime]]:
    spans: list[tuple[datetime.datetime, datetime.datetime]] = []
    for admitted_at, left_at in Presence.objects.filter(
        participant__call=call,
        participant__role=role,
        admitted_at__isnull=False,
        left_at__isnull=False,
    ).values_list("admitted_at", "left_at"):
        if admitted_at is not None and left_at is not None and left_at > admitted_at:
            spans.append((admitted_at, left_at))
    return spans


def call_overlap(*, call: Call) -> datetime.timedelta:
    """How long the case manager's side and the client were in the call together."""
    total = datetime.timedelta()
    staff = _intervals(call, ParticipantRole.STAFF)
    client = _intervals(call, ParticipantRole.CLIENT)
    # Merge the client's spans first, so that two tabs do not count twice.
    merged: list[list[datetime.datetime]] = []
    for start, end in sorted(client):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    staff_merged: list[list[datetime.datetime]] = []
    for start, end in sorted(staff):
        if staff_merged and start <= staff_merged[-1][1]:
            staff_merged[-1][1] = max(staff_merged[-1][1], end)
        else:
            staff_merged.append([start, end])
    for s_start, s_end in staff_merged:
        for c_start, c_end in merged:
            start, end = max(s_start, c_start), min(s_end, c_end)
            if end > start:
                total += end - start
    return total


def _attendance_is_the_calls(call: Call, appointment: Appointment) -> bool:
    """Whether the call may (still) write the appointment's attendance: nothing recorded yet,
    or the last mark is the call's own. A mark staff set by hand is never overwritten."""
    if appointment.status == AppointmentStatus.BOOKED:
        return True
    marked_at = Call.objects.filter(pk=call.pk).values_list("attendance_marked_at", flat=True)
    own = marked_at.first()
    return (
        appointment.status == AppointmentStatus.HELD
        and own is not None
        and appointment.attendance_marked_at == own
    )


def _record_attendance(call: Call) -> None:
    """When case manager and client met in the call, the appointment was held; the minutes
    they spent together become its actual duration (the figures read it). A later part of
    the same call (they came back) updates the call's own mark; a mark by hand stays.
    Called inside the caller's transaction."""
    # Locked before deciding: a correction by hand committing in between must not be
    # overwritten by a decision taken on the row as it was before.
    appointment = Appointment.objects.select_for_update().get(pk=call.appointment_id)
    if not _attendance_is_the_calls(call, appointment):
        return
    together = call_overlap(call=call)
    if together <= datetime.timedelta():
        return
    minutes = min(MAX_APPOINTMENT_MINUTES, max(1, round(together.total_seconds() / 60)))
    if appointment.status == AppointmentStatus.HELD and appointment.actual_minutes == minutes:
        return
    host = (
        Participant.objects.filter(call=call, role=ParticipantRole.STAFF)
        .select_related("user")
        .order_by("-admitted_at")
    )
    for participant in host:
        if permissions.role_for_user(user=participant.user, appointment=appointment) is None:
            continue
        try:
            with transaction.atomic():
                marked = attendance_mark(
                    actor=participant.user,
                    appointment=appointment,
                    status=AppointmentStatus.HELD,
                    actual_minutes=minutes,
                )
                Call.objects.filter(pk=call.pk).update(
                    attendance_marked_at=marked.attendance_marked_at
                )
        except ApplicationError as error:
            # E.g. the call took place entirely before the planned start: the sweep after
            # the join window records it (then the appointment has begun).
            logger.info("Call %s: attendance not recorded yet: %s", call.pk, error)
        return


def call_void_for_client(*, actor: Any, client: Any) -> list[Call]:
    """The client withdrew the video consent: the calls of their future appointments are
    closed, so no link, open page or waiting room can still join them. Runs in the caller's
    transaction; calls already under way (started appointments) are left to end normally."""
    with transaction.atomic():
        calls = list(
            Call.objects.select_for_update()
            .select_related("appointment")
            .filter(
                appointment__client=client,
                appointment__starts_at__gt=timezone.now(),
                closed_at__isnull=True,
            )
            .order_by("pk")
        )
        now = timezone.now()
        for call in calls:
            call.closed_at = now
            call.closed_by = actor if getattr(actor, "is_authenticated", False) else None
            Presence.objects.filter(participant__call=call, left_at__isnull=True).update(
                left_at=now
            )
            call.save(update_fields=["closed_at", "closed_by"])
            _audit(actor, "video_call.void", call, call)
            events.push_ended(call)
    return calls


def _presence_close_time(presence: Presence, *, planned_end: datetime.datetime, now: Any) -> Any:
    """When a connection whose leaving the server never saw (a crash, a lost worker) is taken
    to have ended: the planned end of the appointment, not before it was let in or entered
    (then it counts nothing), never in the future. An unknown overrun is not credited."""
    start = presence.admitted_at or presence.entered_at
    return max(start, min(now, planned_end))


def call_finish(*, call: Call, now: datetime.datetime | None = None) -> Call:
    """After the join window: what nobody ended is ended. Open presences are closed, the call
    is closed (its page says it has ended) and attendance is recorded from the presences.
    Also records a call ended before the planned start, which could not be marked then."""
    now = now or timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().select_related("appointment").get(pk=call.pk)
        if call.finished_at is not None:
            return call
        appointment = call.appointment
        planned_end = appointment.ends_at or now
        for presence in Presence.objects.filter(participant__call=call, left_at__isnull=True):
            presence.left_at = _presence_close_time(presence, planned_end=planned_end, now=now)
            presence.save(update_fields=["left_at"])
        changed = ["finished_at"]
        call.finished_at = now
        if call.closed_at is None:
            call.closed_at = now
            changed.append("closed_at")
            events.push_ended(call)
        if call.started_at is not None and call.ended_at is None:
            call.ended_at = min(now, max(planned_end, call.started_at))
            changed.append("ended_at")
        call.save(update_fields=changed)
        _audit(None, "video_call.finish", call, call)
        if call.started_at is not None:
            _record_attendance(call)
    return call


def calls_finish_due(*, now: datetime.datetime | None = None) -> int:
    """The sweep: every call whose join window is over and that is not finished yet. Runs
    from a task queued when a call starts, when a worker starts, and `manage.py
    video_calls_sweep`; each call is finished once, so running it often is cheap."""
    now = now or timezone.now()
    due = Call.objects.filter(
        finished_at__isnull=True, appointment__ends_at__lt=now - permissions.JOIN_CLOSES_AFTER
    ).order_by("pk")
    finished = 0
    for call in due:
        call_finish(call=call, now=now)
        finished += 1
    return finished


def calls_finish_schedule(*, call: Call) -> bool:
    """Queue the sweep for the end of this call's join window (right after the commit).
    Without a queue that can wait (the tests' immediate backend) nothing is queued: the
    worker's start and `manage.py video_calls_sweep` catch up."""
    from django_tasks import task_backends

    from .tasks import calls_finish_due_task

    if not task_backends[calls_finish_due_task.backend].supports_defer:
        return False
    ends_at = call.appointment.ends_at
    if ends_at is None:
        return False
    run_after = ends_at + permissions.JOIN_CLOSES_AFTER + datetime.timedelta(minutes=1)
    transaction.on_commit(lambda: calls_finish_due_task.using(run_after=run_after).enqueue())
    return True


# --- files in the call's chat ---------------------------------------------------------------


def call_file_send(
    *, participant: Participant, upload: UploadedFile, request: HttpRequest | None = None
) -> MessageAttachment:
    """A photo or PDF shared in the call's chat becomes a message with that attachment in the
    client's conversation (checked, scanned and stored like any upload, and in the file
    afterwards); the call's chat shows it after the commit. Only the client and staff share
    files: interpreters have no access to the client's documents (ADR 0057).

    Raises CallRefusedError outside the call, PermissionDeniedError for interpreters, and
    ApplicationError (FileRefused) for a file the documents app does not take.
    """
    refusal = participant_refusal(participant=participant)
    if refusal is not None:
        raise refusal
    if participant.state != ParticipantState.ADMITTED:
        raise CallRefusedError(_("Please wait until you are let in."), code="not_admitted")
    sender = participant.user
    if participant.role == ParticipantRole.INTERPRETER or sender is None:
        raise PermissionDeniedError(_("Only the client and the case manager can share files."))
    client = participant.call.appointment.client
    conversation = messaging_services.conversation_get_or_create(client=client)
    if not messaging_permissions.can_write_conversation(user=sender, conversation=conversation):
        raise ApplicationError(
            _(
                "Files can only be shared while the client uses the portal. Please send it "
                "by post or bring it to the office."
            )
        )
    session = document_services.upload_session_create(
        owner=sender,
        client=client,
        original_name=str(upload.name or ""),
        expected_size=int(upload.size or 0),
    )
    try:
        offset = 0
        # In the pieces a resumable upload takes (it refuses much larger ones); read by hand:
        # an in-memory upload's chunks() gives the whole file as one piece.
        upload.seek(0)
        while piece := upload.read(settings.DOCUMENT_UPLOAD_CHUNK_BYTES):
            offset = document_services.upload_chunk_append(
                session=session, offset=offset, stream=io.BytesIO(piece)
            )
        message = messaging_services.message_send(
            conversation=conversation,
            sender=sender,
            body="",
            client_msg_id=uuid.uuid4(),
            attachment_upload_ids=[session.pk],
            request=request,
        )
    except Exception:
        # A refused file leaves nothing behind (message_send keeps uploads for a retry,
        # but the call's chat sends the file again as a whole).
        document_services.upload_session_abort(session=session)
        raise
    attachment = message.attachments.select_related("document").get()
    call = participant.call
    name, name_for_interpreters = events.participant_names(participant, client=client)
    assert attachment.document is not None
    events.push_file(
        call,
        {
            "type": "chat",
            "from": participant.pk,
            "name": name,
            events.INTERPRETER_NAME_KEY: name_for_interpreters,
            "text": "",
            "file": {"id": attachment.pk, "name": attachment.document.original_name},
            "at": timezone.now().isoformat(),
        },
    )
    _audit(sender, "video_call.file_send", attachment.document, call)
    return attachment
