"""Staff calendar pages, booking forms, the client's 'my appointments', the ICS feed and the
one-tap reminder links.

Views parse input, call one service or selector, and render. Anything outside the access
rules answers 404 (and the refusal is logged), so nobody learns which appointments exist.
"""

from .calendar_files import AppointmentCalendarFileView, PortalCalendarFileView
from .calendar_settings import (
    AbsenceDeleteView,
    AbsenceView,
    CalendarFeedSettingsView,
    OfficeHoursDeleteView,
    OfficeHoursView,
    calendar_feed,
)
from .portal import (
    PortalAcceptView,
    PortalBookConfirmView,
    PortalBookView,
    PortalCancelView,
    PortalConfirmView,
    PortalDetailView,
    PortalListView,
    PortalMoveView,
    PortalOtherTimeView,
    PortalVideoView,
)
from .reminder_links import ReminderLinkView
from .staff import (
    AppointmentBookView,
    AppointmentCancelView,
    AppointmentDetailView,
    AppointmentMoveView,
    AppointmentProposeView,
    AttendanceMarkView,
    DayView,
    TodayView,
    WeekView,
)

__all__ = [
    "AbsenceDeleteView",
    "AbsenceView",
    "AppointmentBookView",
    "AppointmentCalendarFileView",
    "AppointmentCancelView",
    "AppointmentDetailView",
    "AppointmentMoveView",
    "AppointmentProposeView",
    "AttendanceMarkView",
    "CalendarFeedSettingsView",
    "DayView",
    "OfficeHoursDeleteView",
    "OfficeHoursView",
    "PortalAcceptView",
    "PortalBookConfirmView",
    "PortalBookView",
    "PortalCalendarFileView",
    "PortalCancelView",
    "PortalConfirmView",
    "PortalDetailView",
    "PortalListView",
    "PortalMoveView",
    "PortalOtherTimeView",
    "PortalVideoView",
    "ReminderLinkView",
    "TodayView",
    "WeekView",
    "calendar_feed",
]
