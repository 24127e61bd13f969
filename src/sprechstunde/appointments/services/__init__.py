"""Writes for appointments: office hours, absences, booking three ways, move, cancel, attendance.

Every service checks access, keeps the calendar free of double bookings under concurrency,
audits the change and queues the mails after commit. Callers import from this package.
"""

from ..choices import SHORT_NOTICE
from .availability import (
    absence_create,
    absence_delete,
    calendar_feed_token_create,
    calendar_feed_token_revoke,
    office_hours_create,
    office_hours_delete,
)
from .booking import (
    appointment_book,
    appointment_book_from_office_hours,
    appointment_propose,
    proposal_accept,
)
from .changes import (
    appointment_cancel,
    appointment_confirm,
    appointment_move,
    appointment_move_by_client,
    appointment_request_other_time,
    appointment_switch_from_video,
    attendance_mark,
    cancellation_class_for,
)
from .mail_delivery import (
    appointment_mail_deliver,
    appointment_mail_pending_ids,
    client_hears_of_appointments,
)
from .rules import (
    MAX_APPOINTMENT_MINUTES,
    MAX_PROPOSED_SLOTS,
    BookingError,
    access_denied_record,
)

__all__ = [
    "MAX_APPOINTMENT_MINUTES",
    "MAX_PROPOSED_SLOTS",
    "SHORT_NOTICE",
    "BookingError",
    "absence_create",
    "absence_delete",
    "access_denied_record",
    "appointment_book",
    "appointment_book_from_office_hours",
    "appointment_cancel",
    "appointment_confirm",
    "appointment_mail_deliver",
    "appointment_mail_pending_ids",
    "appointment_move",
    "appointment_move_by_client",
    "appointment_propose",
    "appointment_request_other_time",
    "appointment_switch_from_video",
    "attendance_mark",
    "calendar_feed_token_create",
    "calendar_feed_token_revoke",
    "cancellation_class_for",
    "client_hears_of_appointments",
    "office_hours_create",
    "office_hours_delete",
    "proposal_accept",
]
