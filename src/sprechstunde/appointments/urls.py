from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    # Staff
    path("", views.TodayView.as_view(), name="today"),
    path("tag/", views.DayView.as_view(), name="day"),
    path("woche/", views.WeekView.as_view(), name="week"),
    path("<int:pk>/", views.AppointmentDetailView.as_view(), name="detail"),
    path("<int:pk>/verschieben/", views.AppointmentMoveView.as_view(), name="move"),
    path("<int:pk>/absagen/", views.AppointmentCancelView.as_view(), name="cancel"),
    path("<int:pk>/kalender.ics", views.AppointmentCalendarFileView.as_view(), name="ics"),
    path("<int:pk>/anwesenheit/", views.AttendanceMarkView.as_view(), name="attendance"),
    path("klient/<int:client_pk>/buchen/", views.AppointmentBookView.as_view(), name="book"),
    path(
        "klient/<int:client_pk>/vorschlagen/",
        views.AppointmentProposeView.as_view(),
        name="propose",
    ),
    path("sprechzeiten/", views.OfficeHoursView.as_view(), name="office_hours"),
    path(
        "sprechzeiten/<int:pk>/entfernen/",
        views.OfficeHoursDeleteView.as_view(),
        name="office_hours_delete",
    ),
    path("abwesenheiten/", views.AbsenceView.as_view(), name="absences"),
    path(
        "abwesenheiten/<int:pk>/entfernen/",
        views.AbsenceDeleteView.as_view(),
        name="absence_delete",
    ),
    path("kalender/", views.CalendarFeedSettingsView.as_view(), name="feed_settings"),
    path("feed/<str:token>.ics", views.calendar_feed, name="feed"),
    # One-tap links from reminders (no login: the signed token is the credential)
    path("link/<str:token>/", views.ReminderLinkView.as_view(), name="link"),
    # Client portal
    path("meine/", views.PortalListView.as_view(), name="portal_list"),
    path("meine/buchen/", views.PortalBookView.as_view(), name="portal_book"),
    path("meine/video/", views.PortalVideoView.as_view(), name="portal_video"),
    path(
        "meine/buchen/bestaetigen/",
        views.PortalBookConfirmView.as_view(),
        name="portal_book_confirm",
    ),
    path("meine/<int:pk>/", views.PortalDetailView.as_view(), name="portal_detail"),
    path("meine/<int:pk>/waehlen/", views.PortalAcceptView.as_view(), name="portal_accept"),
    path("meine/<int:pk>/bestaetigen/", views.PortalConfirmView.as_view(), name="portal_confirm"),
    path(
        "meine/<int:pk>/andere-zeit/", views.PortalOtherTimeView.as_view(), name="portal_other_time"
    ),
    path("meine/<int:pk>/absagen/", views.PortalCancelView.as_view(), name="portal_cancel"),
    path("meine/<int:pk>/kalender.ics", views.PortalCalendarFileView.as_view(), name="portal_ics"),
    path("meine/<int:pk>/verschieben/", views.PortalMoveView.as_view(), name="portal_move"),
]
