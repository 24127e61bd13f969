from django.urls import path

from . import views

app_name = "video_calls"

urlpatterns = [
    path("termin/<int:appointment_pk>/", views.CallView.as_view(), name="call"),
    # The call's chat: share a photo or PDF, and how the shared ones stand (photo.js).
    path("termin/<int:appointment_pk>/dateien/", views.CallFileView.as_view(), name="files"),
    path(
        "termin/<int:appointment_pk>/dolmetschen/",
        views.InterpreterInvitationsView.as_view(),
        name="invitations",
    ),
    path(
        "termin/<int:appointment_pk>/dolmetschen/<int:pk>/widerrufen/",
        views.InterpreterRevokeView.as_view(),
        name="invitation_revoke",
    ),
    # Interpreters have no account: the link's secret token is the credential.
    path("dolmetschen/<str:token>/", views.InterpreterLinkView.as_view(), name="interpreter"),
    # The join link in a client's reminders: the signed token is the credential for one call.
    path("beitreten/<str:token>/", views.JoinLinkView.as_view(), name="join_link"),
    path("wartende/", views.WaitingView.as_view(), name="waiting"),
]
