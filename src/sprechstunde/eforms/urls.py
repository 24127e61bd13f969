from django.urls import path

from .views import staff

app_name = "eforms"

urlpatterns = [
    # Staff: the inbox of the caseload's submitted forms, and one submission with its steps
    path("eingang/", staff.InboxView.as_view(), name="staff_inbox"),
    path("<int:pk>/", staff.SubmissionDetailView.as_view(), name="staff_submission"),
]
