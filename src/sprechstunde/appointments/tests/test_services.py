"""Booking three ways, moving, cancelling and attendance, against the database."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory
from sprechstunde.appointments import services
from sprechstunde.appointments.choices import (
    AppointmentStatus,
    CancellationClass,
    Channel,
    MailKind,
    MailRecipient,
)
from sprechstunde.appointments.factories import (
    AbsenceFactory,
    AppointmentFactory,
    OfficeHoursFactory,
    PublicHolidayFactory,
)
from sprechstunde.appointments.models import Appointment, AppointmentMail
from sprechstunde.appointments.selectors import office_hours_free_slots
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .conftest import give_video_consent, local_dt, next_weekday

pytestmark = pytest.mark.django_db


def book(case_manager, client, slot, **kwargs):
    kwargs.setdefault("channel", Channel.PHONE)
    return services.appointment_book(
        actor=case_manager, client=client, starts_at=slot[0], ends_at=slot[1], **kwargs
    )


# --- direct booking ---------------------------------------------------------------------------


def test_case_manager_books_directly_and_both_sides_get_an_invitation(
    case_manager, client_record, slot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(case_manager, client_record, slot)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.sequence == 0
    assert appointment.case_manager == case_manager
    assert sorted(m.to[0] for m in mail.outbox) == ["fm@jobcenter.example", "kundin@example.org"]
    assert AppointmentMail.objects.filter(sent_at__isnull=False).count() == 2
    entry = AuditEntry.objects.get(action="appointment.book")
    assert entry.client_id == client_record.pk
    assert entry.target_id == str(appointment.pk)


def test_case_manager_cannot_book_for_another_case_managers_client(
    case_manager, foreign_client, slot
):
    with pytest.raises(PermissionDeniedError):
        book(case_manager, foreign_client, slot)
    assert not Appointment.objects.exists()


def test_substitute_books_for_absent_colleagues_client(case_manager, other_case_manager, slot):
    colleague_client = ClientFactory(case_manager=other_case_manager)
    today = timezone.localdate()
    SubstitutionFactory(
        absent=other_case_manager, substitute=case_manager, starts_on=today, ends_on=today
    )
    appointment = book(case_manager, colleague_client, slot)
    assert appointment.case_manager == case_manager


def test_substitution_that_has_ended_gives_no_access(case_manager, other_case_manager, slot):
    colleague_client = ClientFactory(case_manager=other_case_manager)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    SubstitutionFactory(
        absent=other_case_manager, substitute=case_manager, starts_on=yesterday, ends_on=yesterday
    )
    with pytest.raises(PermissionDeniedError):
        book(case_manager, colleague_client, slot)


@pytest.mark.parametrize(
    ("start_offset", "length", "message"),
    [
        (datetime.timedelta(days=-1), datetime.timedelta(minutes=30), "past"),
        (datetime.timedelta(days=3), datetime.timedelta(minutes=-30), "end must be after"),
        (datetime.timedelta(days=3), datetime.timedelta(0), "end must be after"),
        (datetime.timedelta(days=3), datetime.timedelta(hours=9), "at most eight hours"),
    ],
)
def test_impossible_times_are_refused_with_a_clear_message(
    case_manager, client_record, start_offset, length, message
):
    start = local_dt(timezone.localdate(), 10) + start_offset
    with pytest.raises(services.BookingError) as error:
        book(case_manager, client_record, (start, start + length))
    assert message in str(error.value.message)
    assert not Appointment.objects.exists()


def test_appointment_across_midnight_is_refused(case_manager, client_record):
    day = next_weekday(2)
    start = local_dt(day, 23, 30)
    with pytest.raises(services.BookingError):
        book(case_manager, client_record, (start, start + datetime.timedelta(hours=1)))


def test_naive_times_are_refused(case_manager, client_record):
    start = datetime.datetime.combine(next_weekday(2), datetime.time(10))
    with pytest.raises(services.BookingError):
        book(case_manager, client_record, (start, start + datetime.timedelta(minutes=30)))


def test_no_booking_during_the_case_managers_absence(case_manager, client_record, slot):
    AbsenceFactory(user=case_manager, starts_on=slot[0].date(), ends_on=slot[0].date())
    with pytest.raises(services.BookingError) as error:
        book(case_manager, client_record, slot)
    assert "absent" in str(error.value.message)


def test_no_booking_on_a_public_holiday(case_manager, client_record, slot):
    PublicHolidayFactory(day=slot[0].date(), name="Tag der Deutschen Einheit")
    with pytest.raises(services.BookingError) as error:
        book(case_manager, client_record, slot)
    assert "Tag der Deutschen Einheit" in str(error.value.message)


def test_overlapping_booking_is_refused_but_adjacent_is_fine(case_manager, client_record, slot):
    book(case_manager, client_record, slot)
    other = ClientFactory(case_manager=case_manager)
    quarter = datetime.timedelta(minutes=15)
    with pytest.raises(services.BookingError):
        book(case_manager, other, (slot[0] + quarter, slot[1] + quarter))
    adjacent = book(case_manager, other, (slot[1], slot[1] + datetime.timedelta(minutes=30)))
    assert adjacent.status == AppointmentStatus.BOOKED


def test_cancelled_appointment_frees_its_slot(case_manager, client_record, slot):
    first = book(case_manager, client_record, slot)
    services.appointment_cancel(actor=case_manager, appointment=first, reason="Krank")
    second = book(case_manager, client_record, slot)
    assert second.status == AppointmentStatus.BOOKED


def test_on_site_needs_an_address(case_manager, client_record, slot):
    with pytest.raises(services.BookingError):
        book(case_manager, client_record, slot, channel=Channel.ON_SITE, location="  ")
    appointment = book(
        case_manager, client_record, slot, channel=Channel.ON_SITE, location="Marktplatz 1"
    )
    assert appointment.location == "Marktplatz 1"


def test_on_site_without_address_takes_the_office_hours_address(case_manager, client_record, slot):
    OfficeHoursFactory(case_manager=case_manager, on_site_address="Marktplatz 1\n88212 Ravensburg")
    appointment = book(case_manager, client_record, slot, channel=Channel.ON_SITE, location="")
    assert appointment.location == "Marktplatz 1\n88212 Ravensburg"
    phone = book(
        case_manager,
        client_record,
        (slot[0] + datetime.timedelta(hours=2), slot[1] + datetime.timedelta(hours=2)),
    )
    assert phone.location == ""


def test_video_needs_the_clients_video_consent(case_manager, client_record, slot):
    with pytest.raises(services.BookingError) as error:
        book(case_manager, client_record, slot, channel=Channel.VIDEO)
    assert "consent" in str(error.value.message)
    give_video_consent(client_record)
    assert book(case_manager, client_record, slot, channel=Channel.VIDEO).channel == Channel.VIDEO


# --- proposals ----------------------------------------------------------------------------------


def three_slots():
    day = next_weekday(3)
    return [(local_dt(day, h), local_dt(day, h, 30)) for h in (9, 11, 14)]


def test_propose_three_slots_and_client_picks_one(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = services.appointment_propose(
            actor=case_manager, client=client_record, slots=three_slots(), channel=Channel.PHONE
        )
    assert proposal.status == AppointmentStatus.PROPOSED
    assert proposal.starts_at is None
    assert [m.to for m in mail.outbox] == [["kundin@example.org"]]
    assert "text/calendar" not in str(mail.outbox[0].message())

    chosen = proposal.proposed_slots.all()[1]
    with django_capture_on_commit_callbacks(execute=True):
        booked = services.proposal_accept(
            actor=client_record.user, appointment=proposal, slot_id=chosen.pk
        )
    assert booked.status == AppointmentStatus.BOOKED
    assert (booked.starts_at, booked.ends_at) == (chosen.starts_at, chosen.ends_at)
    assert booked.uid == proposal.uid
    assert len(mail.outbox) == 3


@pytest.mark.parametrize("count", [0, 4])
def test_proposal_needs_one_to_three_slots(case_manager, client_record, count):
    day = next_weekday(3)
    slots = [(local_dt(day, 8 + h), local_dt(day, 8 + h, 30)) for h in range(count)]
    with pytest.raises(services.BookingError):
        services.appointment_propose(
            actor=case_manager, client=client_record, slots=slots, channel=Channel.PHONE
        )


def test_proposed_slots_may_not_overlap(case_manager, client_record):
    day = next_weekday(3)
    slots = [(local_dt(day, 9), local_dt(day, 10)), (local_dt(day, 9, 30), local_dt(day, 10, 30))]
    with pytest.raises(services.BookingError):
        services.appointment_propose(
            actor=case_manager, client=client_record, slots=slots, channel=Channel.PHONE
        )


def test_another_client_cannot_accept_the_proposal(case_manager, client_record, foreign_client):
    proposal = services.appointment_propose(
        actor=case_manager, client=client_record, slots=three_slots(), channel=Channel.PHONE
    )
    with pytest.raises(PermissionDeniedError):
        services.proposal_accept(
            actor=foreign_client.user,
            appointment=proposal,
            slot_id=proposal.proposed_slots.first().pk,
        )


def test_slot_taken_meanwhile_cannot_be_picked_and_proposal_stays_open(case_manager, client_record):
    proposal = services.appointment_propose(
        actor=case_manager, client=client_record, slots=three_slots(), channel=Channel.PHONE
    )
    first = proposal.proposed_slots.first()
    book(case_manager, ClientFactory(case_manager=case_manager), (first.starts_at, first.ends_at))
    with pytest.raises(services.BookingError):
        services.proposal_accept(actor=client_record.user, appointment=proposal, slot_id=first.pk)
    proposal.refresh_from_db()
    assert proposal.status == AppointmentStatus.PROPOSED


def test_proposal_cannot_be_accepted_twice(case_manager, client_record):
    proposal = services.appointment_propose(
        actor=case_manager, client=client_record, slots=three_slots(), channel=Channel.PHONE
    )
    slots = list(proposal.proposed_slots.all())
    services.proposal_accept(actor=client_record.user, appointment=proposal, slot_id=slots[0].pk)
    with pytest.raises(services.BookingError):
        services.proposal_accept(
            actor=client_record.user, appointment=proposal, slot_id=slots[1].pk
        )


# --- office hours -------------------------------------------------------------------------------


def test_office_hours_may_not_overlap(case_manager):
    services.office_hours_create(
        actor=case_manager,
        weekday=1,
        start_time=datetime.time(9),
        end_time=datetime.time(12),
        slot_minutes=30,
        channels=[Channel.PHONE],
    )
    with pytest.raises(ApplicationError) as error:
        services.office_hours_create(
            actor=case_manager,
            weekday=1,
            start_time=datetime.time(11),
            end_time=datetime.time(13),
            slot_minutes=30,
            channels=[Channel.PHONE],
        )
    assert "overlap" in str(error.value.message)
    # Same hours on another weekday are fine.
    services.office_hours_create(
        actor=case_manager,
        weekday=2,
        start_time=datetime.time(11),
        end_time=datetime.time(13),
        slot_minutes=30,
        channels=[Channel.PHONE],
    )


@pytest.mark.parametrize(
    ("start", "end", "minutes", "channels", "address"),
    [
        (datetime.time(12), datetime.time(9), 30, ["phone"], ""),
        (datetime.time(9), datetime.time(9, 20), 30, ["phone"], ""),
        (datetime.time(9), datetime.time(12), 0, ["phone"], ""),
        (datetime.time(9), datetime.time(12), 30, [], ""),
        (datetime.time(9), datetime.time(12), 30, ["on_site"], ""),
    ],
)
def test_impossible_office_hours_are_refused(case_manager, start, end, minutes, channels, address):
    with pytest.raises(ApplicationError):
        services.office_hours_create(
            actor=case_manager,
            weekday=1,
            start_time=start,
            end_time=end,
            slot_minutes=minutes,
            channels=channels,
            on_site_address=address,
        )


def test_free_slots_leave_out_taken_holiday_and_absent_days(case_manager, client_record):
    OfficeHoursFactory(case_manager=case_manager, weekday=1)  # Tuesdays 9 to 12, 30 min
    tuesday = next_weekday(1)
    book(case_manager, client_record, (local_dt(tuesday, 10), local_dt(tuesday, 10, 30)))
    PublicHolidayFactory(day=tuesday + datetime.timedelta(days=7))
    AbsenceFactory(
        user=case_manager,
        starts_on=tuesday + datetime.timedelta(days=13),
        ends_on=tuesday + datetime.timedelta(days=15),
    )
    slots = office_hours_free_slots(case_manager_id=case_manager.pk, start_day=tuesday, days=28)
    days = {s.starts_at.date() for s in slots}
    assert days == {tuesday, tuesday + datetime.timedelta(days=21)}
    first_day = [s.starts_at.strftime("%H:%M") for s in slots if s.starts_at.date() == tuesday]
    assert first_day == ["09:00", "09:30", "10:30", "11:00", "11:30"]


def test_client_books_a_free_office_hours_slot(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    hours = OfficeHoursFactory(case_manager=case_manager, weekday=1)
    tuesday = next_weekday(1)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book_from_office_hours(
            actor=client_record.user,
            office_hours=hours,
            starts_at=local_dt(tuesday, 9, 30),
            channel=Channel.ON_SITE,
        )
    assert appointment.case_manager == case_manager
    assert appointment.ends_at == local_dt(tuesday, 10)
    assert appointment.location == hours.on_site_address
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("hour", "minute", "channel"),
    [(9, 15, Channel.PHONE), (12, 0, Channel.PHONE), (9, 0, Channel.VIDEO)],
)
def test_client_cannot_book_outside_the_offered_slots(
    case_manager, client_record, hour, minute, channel
):
    hours = OfficeHoursFactory(case_manager=case_manager, weekday=1)
    with pytest.raises(services.BookingError):
        services.appointment_book_from_office_hours(
            actor=client_record.user,
            office_hours=hours,
            starts_at=local_dt(next_weekday(1), hour, minute),
            channel=channel,
        )


def test_client_cannot_book_office_hours_the_case_manager_closed(case_manager, client_record):
    hours = OfficeHoursFactory(case_manager=case_manager, weekday=1, is_client_bookable=False)
    with pytest.raises(services.BookingError):
        services.appointment_book_from_office_hours(
            actor=client_record.user,
            office_hours=hours,
            starts_at=local_dt(next_weekday(1), 9),
            channel=Channel.PHONE,
        )


def test_client_cannot_book_another_case_managers_office_hours(client_record):
    hours = OfficeHoursFactory(case_manager=CaseManagerFactory(), weekday=1)
    with pytest.raises(PermissionDeniedError):
        services.appointment_book_from_office_hours(
            actor=client_record.user,
            office_hours=hours,
            starts_at=local_dt(next_weekday(1), 9),
            channel=Channel.PHONE,
        )


# --- cancel, other time, move -----------------------------------------------------------------


def appointment_in(case_manager, client, delta):
    start = timezone.now() + delta
    return AppointmentFactory(
        case_manager=case_manager,
        client=client,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    ("delta", "by_client", "expected"),
    [
        (datetime.timedelta(hours=25), True, CancellationClass.CLIENT_EARLY),
        (datetime.timedelta(hours=23), True, CancellationClass.CLIENT_LATE),
        (datetime.timedelta(hours=2), False, CancellationClass.JOBCENTER),
    ],
)
def test_cancellation_is_classified(case_manager, client_record, delta, by_client, expected):
    appointment = appointment_in(case_manager, client_record, delta)
    actor = client_record.user if by_client else case_manager
    cancelled = services.appointment_cancel(actor=actor, appointment=appointment, reason="Termin")
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancellation_class == expected
    assert cancelled.cancelled_by == actor
    assert cancelled.sequence == 1


def test_cancel_sends_itip_cancel_to_both_sides(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    appointment = appointment_in(case_manager, client_record, datetime.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(actor=client_record.user, appointment=appointment, reason="x")
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "METHOD:CANCEL" in message.alternatives[0].content


def test_cancel_needs_a_reason_and_a_future_appointment(case_manager, client_record):
    future = appointment_in(case_manager, client_record, datetime.timedelta(days=3))
    with pytest.raises(ApplicationError):
        services.appointment_cancel(actor=case_manager, appointment=future, reason="  ")
    past = appointment_in(case_manager, client_record, datetime.timedelta(hours=-1))
    with pytest.raises(ApplicationError) as error:
        services.appointment_cancel(actor=case_manager, appointment=past, reason="zu spät")
    assert "already started" in str(error.value.message)
    past.refresh_from_db()
    assert past.status == AppointmentStatus.BOOKED


def test_other_case_manager_and_other_client_cannot_cancel(
    case_manager, other_case_manager, client_record, foreign_client
):
    appointment = appointment_in(case_manager, client_record, datetime.timedelta(days=3))
    for actor in (other_case_manager, foreign_client.user):
        with pytest.raises(PermissionDeniedError):
            services.appointment_cancel(actor=actor, appointment=appointment, reason="x")


def test_request_other_time_tells_the_case_manager_once(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    appointment = appointment_in(case_manager, client_record, datetime.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_request_other_time(actor=client_record.user, appointment=appointment)
        services.appointment_request_other_time(actor=client_record.user, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.other_time_requested_at is not None
    assert [m.to for m in mail.outbox] == [["fm@jobcenter.example"]]
    assert client_record.last_name not in mail.outbox[0].body


def test_move_keeps_identity_and_raises_sequence(
    case_manager, client_record, slot, django_capture_on_commit_callbacks
):
    appointment = book(case_manager, client_record, slot)
    uid = appointment.uid
    later = (slot[0] + datetime.timedelta(days=1), slot[1] + datetime.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.appointment_move(
            actor=case_manager, appointment=appointment, starts_at=later[0], ends_at=later[1]
        )
    assert moved.pk == appointment.pk
    assert moved.uid == uid
    assert moved.sequence == 1
    assert moved.starts_at == later[0]
    kinds = set(AppointmentMail.objects.values_list("kind", "sequence"))
    assert (MailKind.MOVED, 1) in kinds
    assert all("SEQUENCE:1" in m.alternatives[0].content for m in mail.outbox)


def test_move_into_a_taken_slot_changes_nothing(case_manager, client_record, slot):
    appointment = book(case_manager, client_record, slot)
    hour = datetime.timedelta(hours=1)
    book(case_manager, ClientFactory(case_manager=case_manager), (slot[0] + hour, slot[1] + hour))
    with pytest.raises(services.BookingError):
        services.appointment_move(
            actor=case_manager,
            appointment=appointment,
            starts_at=slot[0] + hour,
            ends_at=slot[1] + hour,
        )
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence) == (slot[0], 0)


def test_move_within_its_own_slot_is_allowed(case_manager, client_record, slot):
    appointment = book(case_manager, client_record, slot)
    quarter = datetime.timedelta(minutes=15)
    moved = services.appointment_move(
        actor=case_manager,
        appointment=appointment,
        starts_at=slot[0] + quarter,
        ends_at=slot[1] + quarter,
    )
    assert moved.starts_at == slot[0] + quarter


# --- attendance -------------------------------------------------------------------------------


def test_attendance_can_be_marked_only_after_the_start(case_manager, client_record):
    future = appointment_in(case_manager, client_record, datetime.timedelta(hours=1))
    with pytest.raises(ApplicationError):
        services.attendance_mark(
            actor=case_manager, appointment=future, status=AppointmentStatus.HELD
        )
    past = appointment_in(case_manager, client_record, datetime.timedelta(hours=-1))
    marked = services.attendance_mark(
        actor=case_manager, appointment=past, status=AppointmentStatus.NO_SHOW
    )
    assert marked.status == AppointmentStatus.NO_SHOW
    assert marked.attendance_marked_by == case_manager
    corrected = services.attendance_mark(
        actor=case_manager, appointment=past, status=AppointmentStatus.HELD, actual_minutes=25
    )
    assert (corrected.status, corrected.actual_minutes) == (AppointmentStatus.HELD, 25)


def test_attendance_cannot_be_marked_on_cancelled_or_foreign(
    case_manager, other_case_manager, client_record
):
    past = appointment_in(case_manager, client_record, datetime.timedelta(hours=-1))
    with pytest.raises(PermissionDeniedError):
        services.attendance_mark(
            actor=other_case_manager, appointment=past, status=AppointmentStatus.HELD
        )
    past.status = AppointmentStatus.CANCELLED
    past.save()
    with pytest.raises(ApplicationError):
        services.attendance_mark(actor=case_manager, appointment=past, status="held")


# --- mail delivery ------------------------------------------------------------------------------


def test_outdated_invitation_is_not_sent_after_a_move(case_manager, client_record, slot):
    appointment = book(case_manager, client_record, slot)  # on_commit not run: mails pending
    later = (slot[0] + datetime.timedelta(days=1), slot[1] + datetime.timedelta(days=1))
    services.appointment_move(
        actor=case_manager, appointment=appointment, starts_at=later[0], ends_at=later[1]
    )
    results = {
        (m.kind, m.recipient): services.appointment_mail_deliver(mail_id=m.pk)
        for m in AppointmentMail.objects.all()
    }
    assert results[(MailKind.BOOKED, MailRecipient.CLIENT)] == "superseded"
    assert results[(MailKind.MOVED, MailRecipient.CLIENT)] == "sent"
    assert len(mail.outbox) == 2


def test_a_mail_is_delivered_only_once(case_manager, client_record, slot):
    book(case_manager, client_record, slot)
    mail_id = AppointmentMail.objects.first().pk
    assert services.appointment_mail_deliver(mail_id=mail_id) == "sent"
    assert services.appointment_mail_deliver(mail_id=mail_id) == "skipped"
    assert len(mail.outbox) == 1
