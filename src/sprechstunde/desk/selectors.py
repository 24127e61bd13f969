"""The today page: what needs doing now, collected from the apps that own each thing.

Every read goes through the owning app's access rules (`*_visible_to`), so a case manager
sees their caseload and that of colleagues they stand in for today, a team lead their team.
Each section costs a fixed number of queries whatever the caseload's size; the page is
audited once by its view, not once per entry (ADR 0058).
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import (
    Count,
    IntegerField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sprechstunde.accounts import selectors as account_selectors
from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import Substitution, User
from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.models import CooperationPlan, Decision
from sprechstunde.appointments import permissions as appointment_permissions
from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client
from sprechstunde.documents.choices import DocumentStatus, RequestStatus, Side
from sprechstunde.documents.models import Document, DocumentRequest
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormSubmission
from sprechstunde.messaging.choices import Side as MessageSide
from sprechstunde.messaging.models import Conversation, Message, ReadState
from sprechstunde.video_calls import permissions as call_permissions
from sprechstunde.video_calls.choices import ParticipantRole, ParticipantState
from sprechstunde.video_calls.models import Call, Participant

from .permissions import can_use_desk

# How many entries a section lists; the heading gives the full count and a link to the rest.
SECTION_LIMIT = 10
# Plans whose review falls within this many days count as due (overdue ones always do).
PLAN_REVIEW_AHEAD = datetime.timedelta(days=7)
DESK_TARGET_TYPE = "desk.today"

M = TypeVar("M", bound=Model)

# The live state of one of today's appointments.
STATE_UPCOMING = "upcoming"
STATE_NOW = "now"
STATE_WAITING = "waiting"
STATE_IN_CALL = "in_call"
STATE_HELD = "held"
STATE_NO_SHOW = "no_show"
STATE_OPEN = "open"  # over, attendance not recorded yet
STATE_CANCELLED = "cancelled"


@dataclass(frozen=True)
class Entry:
    """One thing to do: whose client, what, and the page where it is done.

    `stand_in_for` names the absent colleague when the entry belongs to their caseload;
    `case_manager` is shown on a team lead's desk.
    """

    kind: str
    client: Client
    title: str
    url: str
    when: datetime.datetime | datetime.date | None = None
    detail: str = ""
    stand_in_for: User | None = None
    case_manager: User | None = None


@dataclass(frozen=True)
class AppointmentEntry:
    """One of today's appointments with its live state (waiting names: the call's guests)."""

    appointment: Appointment
    state: str
    state_label: str
    url: str
    action_label: str
    waiting_names: tuple[str, ...] = ()
    stand_in_for: User | None = None
    case_manager: User | None = None

    @property
    def client(self) -> Client:
        return self.appointment.client


@dataclass(frozen=True)
class Section:
    """A list on the desk: the first SECTION_LIMIT entries and how many there are."""

    entries: list[Entry]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.entries))


@dataclass(frozen=True)
class Desk:
    """Everything the today page shows for one person on one day."""

    day: datetime.date
    is_team_view: bool
    appointments: list[AppointmentEntry]
    messages: Section
    to_review: Section
    overdue_requests: Section
    decisions: Section
    plan_reviews: Section
    substitutions: list[Substitution] = field(default_factory=list)
    standing_in_for: list[User] = field(default_factory=list)

    @property
    def waiting_count(self) -> int:
        return sum(len(entry.waiting_names) for entry in self.appointments)

    @property
    def summary(self) -> str:
        """One sentence for screen readers when the page updates itself."""
        return _(
            "%(waiting)s waiting, %(messages)s unread conversations, %(review)s documents "
            "to look at."
        ) % {
            "waiting": self.waiting_count,
            "messages": self.messages.total,
            "review": self.to_review.total,
        }


def _first_entries(queryset: QuerySet[M], *order: str) -> tuple[list[M], int]:
    """The first SECTION_LIMIT rows in `order` and how many rows there are, in one query:
    the count is a window over the whole filtered set, computed before the LIMIT."""
    rows = list(
        queryset.annotate(section_total=Window(Count("pk"))).order_by(*order)[:SECTION_LIMIT]
    )
    return rows, (rows[0].section_total if rows else 0)


# What an entry shows of its client and their case manager (`.only()` spares the rest).
_CLIENT_FIELDS = (
    "client__first_name",
    "client__last_name",
    "client__case_manager_id",
    "client__case_manager__first_name",
    "client__case_manager__last_name",
    "client__case_manager__role",
)

# A number no URL of the project contains otherwise: reversed once per URL name and page.
_PK_MARK = 9_876_543_210


class _Links:
    """URLs of the form `name` + one id, reversed once per name and page and filled in per
    entry (a page lists up to ~60 entries; `reverse` per entry was a visible share of it)."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], tuple[str, str] | None] = {}

    def __call__(self, name: str, key: str, pk: int) -> str:
        if (name, key) not in self._parts:
            head, mark, tail = reverse(name, kwargs={key: _PK_MARK}).partition(str(_PK_MARK))
            self._parts[name, key] = (head, tail) if mark and str(_PK_MARK) not in tail else None
        parts = self._parts[name, key]
        if parts is None:
            return reverse(name, kwargs={key: pk})
        return f"{parts[0]}{int(pk)}{parts[1]}"


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    return start, start + datetime.timedelta(days=1)


class _Context:
    """What every section needs: who asks, the visible clients, whose caseload is whose."""

    def __init__(
        self,
        *,
        user: Any,
        day: datetime.date,
        colleagues: dict[int, User],
        represented: set[int] | None = None,
        substituted: list[int] | None = None,
    ) -> None:
        self.user = user
        self.day = day
        self.is_team_view = user.role == Role.TEAM_LEAD
        # The absent colleagues whose caseload a case manager covers today.
        self.colleagues = colleagues
        self.link = _Links()
        # Messages, documents, requests, plans and decisions all follow the client rule
        # (each app's `*_visible_to` is this filter); reading it once spares a substitution
        # lookup per section.
        condition = client_permissions.client_visibility_filter(user=user, represented=represented)
        # The appointments' own rule on substitutions, for `appointments_visible_to`.
        self.substituted = substituted
        self.clients: QuerySet[Client] = (
            Client.objects.filter(condition) if condition is not None else Client.objects.none()
        )

    def stand_in(self, client: Client) -> User | None:
        """The absent colleague whose caseload `client` belongs to (case managers only)."""
        return None if self.is_team_view else self.colleagues.get(client.case_manager_id)

    def owner(self, client: Client) -> User | None:
        """The responsible case manager, shown on a team lead's desk."""
        return client.case_manager if self.is_team_view else None


# --- appointments ----------------------------------------------------------------------------


def _presence_rows(appointments: list[Appointment]) -> list[dict[str, Any]]:
    """Who is in today's video calls now (an open presence), one row per participant."""
    ids = [a.pk for a in appointments if a.channel == Channel.VIDEO]
    if not ids:
        return []
    found = (
        Participant.objects.filter(
            call__appointment_id__in=ids,
            call__closed_at__isnull=True,
            presences__isnull=False,
            presences__left_at__isnull=True,
        )
        .exclude(state=ParticipantState.REMOVED)
        .values("pk", "call__appointment_id", "role", "state", "display_name")
        .distinct()
        .order_by("pk")
    )
    return [dict(row) for row in found]


def _closed_calls(appointments: list[Appointment]) -> set[int]:
    ids = [a.pk for a in appointments if a.channel == Channel.VIDEO]
    if not ids:
        return set()
    return set(
        Call.objects.filter(appointment_id__in=ids, closed_at__isnull=False).values_list(
            "appointment_id", flat=True
        )
    )


def _appointment_state(
    appointment: Appointment,
    *,
    rows: list[dict[str, Any]],
    closed: bool,
    now: datetime.datetime,
) -> tuple[str, tuple[str, ...]]:
    # Staff see the client by the name the Jobcenter knows; an interpreter by the typed name.
    waiting = tuple(
        appointment.client.full_name
        if row["role"] == ParticipantRole.CLIENT
        else f"{row['display_name']} ({ParticipantRole(row['role']).label})"
        for row in rows
        if row["state"] == ParticipantState.WAITING and row["role"] != ParticipantRole.STAFF
    )
    if appointment.status == AppointmentStatus.CANCELLED:
        return STATE_CANCELLED, ()
    if waiting:
        return STATE_WAITING, waiting
    staff_in = any(row["role"] == ParticipantRole.STAFF for row in rows)
    guest_in = any(
        row["role"] != ParticipantRole.STAFF and row["state"] == ParticipantState.ADMITTED
        for row in rows
    )
    if staff_in and guest_in and not closed:
        return STATE_IN_CALL, ()
    if appointment.status == AppointmentStatus.HELD:
        return STATE_HELD, ()
    if appointment.status == AppointmentStatus.NO_SHOW:
        return STATE_NO_SHOW, ()
    assert appointment.starts_at is not None and appointment.ends_at is not None
    if now < appointment.starts_at:
        return STATE_UPCOMING, ()
    if now <= appointment.ends_at:
        return STATE_NOW, ()
    return STATE_OPEN, ()


def _state_labels() -> dict[str, str]:
    return {
        STATE_UPCOMING: _("Upcoming"),
        STATE_NOW: _("Due now"),
        STATE_WAITING: _("Waiting now"),
        STATE_IN_CALL: _("In the call"),
        STATE_HELD: _("Held"),
        STATE_NO_SHOW: _("Not come"),
        STATE_OPEN: _("Attendance not recorded"),
        STATE_CANCELLED: _("Cancelled"),
    }


def _appointments(ctx: _Context, *, now: datetime.datetime) -> list[AppointmentEntry]:
    start, end = _day_bounds(ctx.day)
    appointments = list(
        appointment_permissions.appointments_visible_to(user=ctx.user, substituted=ctx.substituted)
        .filter(starts_at__gte=start, starts_at__lt=end, ends_at__isnull=False)
        .exclude(status=AppointmentStatus.PROPOSED)
        .select_related("client", "case_manager", "client__case_manager")
        .order_by("starts_at", "pk")
    )
    rows_by_appointment: dict[int, list[dict[str, Any]]] = {}
    for row in _presence_rows(appointments):
        rows_by_appointment.setdefault(row["call__appointment_id"], []).append(row)
    closed = _closed_calls(appointments)
    labels = _state_labels()
    entries = []
    for appointment in appointments:
        state, waiting = _appointment_state(
            appointment,
            rows=rows_by_appointment.get(appointment.pk, []),
            closed=appointment.pk in closed,
            now=now,
        )
        url = ctx.link("appointments:detail", "pk", appointment.pk)
        action = _("Open the appointment")
        # Only the host (the case manager or today's stand-in) can enter the call.
        hosts = not ctx.is_team_view and appointment.pk not in closed
        if (
            hosts
            and state in {STATE_WAITING, STATE_IN_CALL, STATE_NOW, STATE_UPCOMING}
            and call_permissions.is_join_open(appointment=appointment, now=now)
        ):
            url = ctx.link("video_calls:call", "appointment_pk", appointment.pk)
            action = _("Open the call")
        elif state == STATE_OPEN and not ctx.is_team_view:
            action = _("Record attendance")
        entries.append(
            AppointmentEntry(
                appointment=appointment,
                state=state,
                state_label=labels[state],
                url=url,
                action_label=action,
                waiting_names=waiting,
                stand_in_for=ctx.stand_in(appointment.client),
                case_manager=ctx.owner(appointment.client),
            )
        )
    return entries


# --- messages --------------------------------------------------------------------------------


def _messages(ctx: _Context) -> Section:
    """Conversations with client messages nobody at the Jobcenter who may answer has read:
    the furthest read position of a staff addressee counts, so a stand-in's reading does."""
    staff_read = Coalesce(
        Subquery(
            ReadState.objects.filter(
                conversation=OuterRef("pk"), side=MessageSide.STAFF, is_addressee=True
            )
            .order_by()
            .values("conversation")
            .annotate(position=Max("last_read_sequence"))
            .values("position")[:1]
        ),
        Value(0),
        output_field=IntegerField(),
    )
    unread = Coalesce(
        Subquery(
            Message.objects.filter(
                conversation=OuterRef("pk"),
                sender_side=MessageSide.CLIENT,
                sequence__gt=OuterRef("staff_read"),
            )
            .order_by()
            .values("conversation")
            .annotate(count=Count("pk"))
            .values("count")[:1]
        ),
        Value(0),
        output_field=IntegerField(),
    )
    queryset = (
        Conversation.objects.filter(client__in=ctx.clients, last_sequence__gt=0)
        .annotate(staff_read=staff_read)
        .annotate(unread=unread)
        .filter(unread__gt=0)
    )
    conversations, total = _first_entries(
        queryset.select_related("client", "client__case_manager").only(
            "pk", "last_message_at", *_CLIENT_FIELDS
        ),
        "-last_message_at",
        "-pk",
    )
    entries = [
        Entry(
            kind="message",
            client=conversation.client,
            title=_("%(count)s unread") % {"count": conversation.unread},  # type: ignore[attr-defined]
            url=ctx.link("messaging:client_conversation", "client_pk", conversation.client_id),
            when=conversation.last_message_at,
            stand_in_for=ctx.stand_in(conversation.client),
            case_manager=ctx.owner(conversation.client),
        )
        for conversation in conversations
    ]
    return Section(entries=entries, total=total)


# --- documents and form submissions ----------------------------------------------------------


def _documents_to_review(ctx: _Context) -> Section:
    """What clients sent that nobody has dealt with yet: documents not taken into the
    e-file (checked and readable), and forms nobody has taken (new, or sent again after a
    "needs more"). Two queries, each with its count; the newest of both are shown."""
    renderings = FormSubmission.objects.filter(client__in=ctx.clients)
    queryset = (
        Document.objects.filter(
            client__in=ctx.clients,
            uploaded_by_side=Side.CLIENT,
            status=DocumentStatus.READY,
            is_in_efile=False,
        )
        # A form's own PDF and data are looked at through the form, listed below.
        .exclude(pk__in=renderings.filter(pdf_document__isnull=False).values("pdf_document"))
        .exclude(pk__in=renderings.filter(data_document__isnull=False).values("data_document"))
    )
    documents, total = _first_entries(
        queryset.select_related("client", "client__case_manager", "request").only(
            "pk",
            "title",
            "created_at",
            "ready_at",
            "request__title",
            *_CLIENT_FIELDS,
        ),
        "-created_at",
        "-pk",
    )
    entries = [
        Entry(
            kind="document",
            client=document.client,
            title=document.title,
            detail=_("answers “%(request)s”") % {"request": document.request.title}
            if document.request_id is not None and document.request is not None
            else "",
            url=ctx.link("documents:detail", "pk", document.pk),
            when=document.created_at,
            stand_in_for=ctx.stand_in(document.client),
            case_manager=ctx.owner(document.client),
        )
        for document in documents
    ]
    forms, forms_total = _forms_to_review(ctx)
    entries = sorted([*entries, *forms], key=_entry_time, reverse=True)[:SECTION_LIMIT]
    return Section(entries=entries, total=total + forms_total)


def _entry_time(entry: Entry) -> datetime.datetime:
    when = entry.when
    assert isinstance(when, datetime.datetime)
    return when


def _forms_to_review(ctx: _Context) -> tuple[list[Entry], int]:
    queryset = FormSubmission.objects.filter(
        client__in=ctx.clients, status=SubmissionStatus.RECEIVED
    ).annotate(form_title=KeyTextTransform("de", KeyTransform("title", "definition__spec")))
    submissions, total = _first_entries(
        queryset.select_related("client", "client__case_manager").only(
            "pk", "submitted_at", "submission_count", *_CLIENT_FIELDS
        ),
        "-submitted_at",
        "-pk",
    )
    entries = [
        Entry(
            kind="form",
            client=submission.client,
            title=submission.form_title,  # type: ignore[attr-defined]
            detail=_("form sent again") if submission.submission_count > 1 else _("new form"),
            url=ctx.link("eforms:staff_submission", "pk", submission.pk),
            when=submission.submitted_at,
            stand_in_for=ctx.stand_in(submission.client),
            case_manager=ctx.owner(submission.client),
        )
        for submission in submissions
    ]
    return entries, total


def _overdue_requests(ctx: _Context) -> Section:
    queryset = DocumentRequest.objects.filter(
        client__in=ctx.clients, status=RequestStatus.OPEN, due_on__lt=ctx.day
    )
    requests, total = _first_entries(
        queryset.select_related("client", "client__case_manager").only(
            "pk", "title", "due_on", *_CLIENT_FIELDS
        ),
        "due_on",
        "pk",
    )
    entries = [
        Entry(
            kind="request",
            client=request.client,
            title=request.title,
            url=ctx.link("documents:client_documents", "client_pk", request.client_id),
            when=request.due_on,
            stand_in_for=ctx.stand_in(request.client),
            case_manager=ctx.owner(request.client),
        )
        for request in requests
    ]
    return Section(entries=entries, total=total)


# --- plans and decisions ---------------------------------------------------------------------


def _decisions(ctx: _Context) -> Section:
    queryset = Decision.objects.filter(
        client__in=ctx.clients,
        status__in=[DecisionStatus.WAITING_FOR_SEAL, DecisionStatus.AWAITING_POST],
    )
    decisions, total = _first_entries(
        queryset.select_related("client", "client__case_manager", "template").only(
            "pk", "status", "issued_at", "created_at", "template__title", *_CLIENT_FIELDS
        ),
        "created_at",
        "pk",
    )
    entries = []
    for decision in decisions:
        waits_for_post = decision.status == DecisionStatus.AWAITING_POST
        entries.append(
            Entry(
                kind="decision",
                client=decision.client,
                title=decision.template.title,
                detail=str(decision.get_status_display()),
                # Posting is recorded on the post list; the seal is awaited on the decision.
                url=reverse("agreements:postal_list")
                if waits_for_post
                else ctx.link("agreements:decision", "pk", decision.pk),
                when=decision.issued_at or decision.created_at,
                stand_in_for=ctx.stand_in(decision.client),
                case_manager=ctx.owner(decision.client),
            )
        )
    return Section(entries=entries, total=total)


def _plan_reviews(ctx: _Context) -> Section:
    queryset = CooperationPlan.objects.filter(
        client__in=ctx.clients,
        current_version__gt=0,
        review_on__lte=ctx.day + PLAN_REVIEW_AHEAD,
    )
    plans, total = _first_entries(
        queryset.select_related("client", "client__case_manager", "template").only(
            "pk",
            "review_on",
            "template__title",
            *_CLIENT_FIELDS,
        ),
        "review_on",
        "pk",
    )
    entries = [
        Entry(
            kind="plan",
            client=plan.client,
            title=plan.template.title,
            detail=_("overdue") if plan.review_on and plan.review_on < ctx.day else "",
            url=ctx.link("agreements:plan", "pk", plan.pk),
            when=plan.review_on,
            stand_in_for=ctx.stand_in(plan.client),
            case_manager=ctx.owner(plan.client),
        )
        for plan in plans
    ]
    return Section(entries=entries, total=total)


# --- substitutions ---------------------------------------------------------------------------


def _substitutions_today(*, user: Any, day: datetime.date) -> list[Substitution]:
    """Today's substitutions the user may see (their own; a team lead's team)."""
    active = Q(starts_on__lte=day, ends_on__gte=day) & (
        Q(ended_at__isnull=True) | Q(ended_at__date__gt=day)
    )
    return list(
        account_selectors.substitution_list_for_user(user=user)
        .filter(active)
        .order_by("absent__last_name", "absent__first_name", "pk")
    )


# --- the page --------------------------------------------------------------------------------


def desk_for_user(
    *, user: Any, now: datetime.datetime | None = None, action: str | None = "desk.view"
) -> Desk | None:
    """The today page of a case manager (own caseload and today's stand-ins) or a team lead
    (the team, and today's substitutions); None for everyone else (views answer 404).
    Audited once as `action` (None: not audited, the caller decides)."""
    if not can_use_desk(user=user):
        return None
    now = now or timezone.now()
    day = timezone.localdate(now)
    substitutions = _substitutions_today(user=user, day=day)
    colleagues: dict[int, User] = {}
    represented: set[int] | None = None
    substituted: list[int] | None = None
    if user.role == Role.CASE_MANAGER:
        # Both access rules on substitutions (the clients' and the appointments') count only
        # substitutions active today with `user` as the substitute, and `substitutions` holds
        # all of those: without one, both are empty and need no query.
        if any(s.substitute_id == user.pk for s in substitutions):
            represented = client_permissions.case_managers_represented_by(user=user, on=day)
            substituted = appointment_permissions.substituted_colleague_ids(user=user, day=day)
        else:
            represented, substituted = set(), []
        colleagues = {
            s.absent_id: s.absent
            for s in substitutions
            if s.substitute_id == user.pk and s.absent_id in represented
        }
    ctx = _Context(
        user=user,
        day=day,
        colleagues=colleagues,
        represented=represented,
        substituted=substituted,
    )
    desk = Desk(
        day=day,
        is_team_view=ctx.is_team_view,
        appointments=_appointments(ctx, now=now),
        messages=_messages(ctx),
        to_review=_documents_to_review(ctx),
        overdue_requests=_overdue_requests(ctx),
        decisions=_decisions(ctx),
        plan_reviews=_plan_reviews(ctx),
        substitutions=substitutions,
        standing_in_for=sorted(colleagues.values(), key=lambda u: (u.last_name, u.first_name)),
    )
    if action:
        audit_record(actor=user, action=action, target_type=DESK_TARGET_TYPE)
    return desk


def desk_shown(*, user: Any, action: str = "desk.refresh") -> None:
    """Audit that the page showed changed entries to `user` (a live update that brought
    nothing new showed nothing and is not recorded)."""
    audit_record(actor=user, action=action, target_type=DESK_TARGET_TYPE)
